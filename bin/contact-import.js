#!/usr/bin/env node
// Entry point: runs the compiled CLI, bundled into a few files (built by `npm install` /
// `npm run build`: scripts/bundle.mjs says why).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { nodeWasGiven } from './v8-flags.js';

// Memory (issue #11): V8 lets the old generation grow to about twice what survived the last
// full collection before collecting again; a run makes most of its garbage in big batches,
// so the heap sat at 2-3x its live data. 50% growth measured on the bench's 1M-row file:
// peak RSS 308 -> 223 MB at the same wall time (+4% CPU, on the concurrent marker's
// thread). A --heap-growing-percent given to node (node --heap-growing-percent=N ...) wins.
if (!nodeWasGiven('--heap-growing-percent')) {
  setFlagsFromString('--heap-growing-percent=50');
}
// Speed (issue #11): V8 allocates objects straight in the old generation when most of those
// made at one place in the code outlived a young-generation collection. In about half of the
// runs it decided so for a record's objects while the second phase began, and from then on
// each young collection kept what those old objects pointed to: 1.2 MB promoted per young
// collection instead of 0.1-0.2 MB, and the second phase 1-3 s longer (bench's 1M-row file).
// Without that decision every run takes the fast path. The flag is process-wide: the worker
// threads get it too. A --allocation-site-pretenuring given to node wins.
if (!nodeWasGiven('--allocation-site-pretenuring')) {
  setFlagsFromString('--no-allocation-site-pretenuring');
}

// Reliability: Node 20 unregisters a worker thread's isolate from the platform before it
// disposes of it, and a background optimizing compile still running for that worker in between
// aborts the whole process ("Assertion failed: (data.first) != nullptr" in
// NodePlatform::ForIsolate, exit 134; seen twice in about 500 runs on a loaded machine, as row
// workers and the payload worker end). Isolates made after this flag (the workers) compile on
// their own thread, so no such compile is left when they end; the main thread's isolate exists
// already and keeps compiling in the background. A --concurrent-recompilation given to node wins.
if (!nodeWasGiven('--concurrent-recompilation')) {
  setFlagsFromString('--no-concurrent-recompilation');
}

const main = new URL('../dist/bundle/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  process.stderr.write('contact-import: the program is not built yet. Run `npm install` (or `npm run build`) in ' +
    fileURLToPath(new URL('..', import.meta.url)) + '\n');
  process.exit(2);
}
const { main: run } = await import(main.href);
process.exitCode = await run(process.argv.slice(2));
