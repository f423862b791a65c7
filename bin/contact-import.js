#!/usr/bin/env node
// Entry point: runs the compiled CLI (built by `npm install` / `npm run build`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';

// Memory (issue #11): V8 lets the old generation grow to about twice what survived the last
// full collection before collecting again; a run makes most of its garbage in big batches,
// so the heap sat at 2-3x its live data. 50% growth measured on the bench's 1M-row file:
// peak RSS 308 -> 223 MB at the same wall time (+4% CPU, on the concurrent marker's
// thread). A --heap-growing-percent given to node (node --heap-growing-percent=N ...) wins.
if (!process.execArgv.some((a) => a.startsWith('--heap-growing-percent'))) {
  setFlagsFromString('--heap-growing-percent=50');
}

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  process.stderr.write('contact-import: the program is not built yet. Run `npm install` (or `npm run build`) in ' +
    fileURLToPath(new URL('..', import.meta.url)) + '\n');
  process.exit(2);
}
const { main: run } = await import(main.href);
process.exitCode = await run(process.argv.slice(2));
