/**
 * `npm run build`'s second step: the compiled CLI (dist/, from tsc) bundled by esbuild into
 * one entry file per thread, dist/bundle/{main,row-worker,singleton-worker}.js, and the few
 * chunks they share; bin/contact-import.js runs main.js.
 *
 * Why (issue #11): Node's ESM loader resolves, reads and compiles each module on its own,
 * and a run loaded about 520 of them (155 of dist/, 138 of libphonenumber-js, 99 of zod,
 * 73 of yaml...): 310-410 ms before the first line of the run, on the main thread and again
 * in each worker thread. Bundled, the CLI imports in 108-120 ms, and a run of the 20-row
 * sample takes 0.31-0.42 s instead of 0.55-0.67 s.
 *
 * Bundled as it is: tsc has already compiled and checked the code, esbuild only joins the
 * JavaScript (no minifying, names kept for stack traces; source maps chain back to the
 * TypeScript). Left outside, imported from node_modules when a run needs them:
 * better-sqlite3 (a native addon), and SheetJS and form-data, which only workbook and
 * Samespace runs load (test/lazy-imports.test.ts).
 */
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = `${root}dist/bundle`;
rmSync(outdir, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  // The workers are found beside the main file (transforms/row-pool.ts workerEntryUrl).
  entryPoints: { main: 'dist/cli/main.js', 'row-worker': 'dist/transforms/row-worker.js', 'singleton-worker': 'dist/transforms/singleton-worker.js' },
  outdir,
  bundle: true,
  // A module the code imports only when needed (a workbook reader) stays in a file of its own,
  // with the packages it imports: bundled in, SheetJS would be imported by every run.
  splitting: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['better-sqlite3', 'xlsx', 'form-data'],
  // Some dependencies are CommonJS and call require(): an ES module has none of its own.
  banner: { js: "import { createRequire as __bundleRequire } from 'node:module'; const require = __bundleRequire(import.meta.url);" },
  sourcemap: 'linked',
  logLevel: 'warning',
});
