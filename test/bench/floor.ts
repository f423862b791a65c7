/**
 * The floor: papaparse streaming over the file with `header: true`, every row thrown
 * away. Nothing that parses this CSV with papaparse can be faster, so the tool's time is
 * read as a multiple of this one.
 *
 *   node test/bench/floor.ts <file.csv>     (run.ts runs it transpiled, without tsx)
 *
 * Prints one JSON line: {"rows": N}. Self-contained on purpose: run.ts transpiles this
 * single file so that tsx's start-up (≈ 0.7 s, ≈ 50 MB) does not count against it.
 */
import { createReadStream } from 'node:fs';
import Papa from 'papaparse';

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: floor <file.csv>\n');
  process.exit(2);
}

const stream = createReadStream(file, { highWaterMark: 256 * 1024 });
// Strings, not Buffers: papaparse splits multi-byte characters at Buffer chunk edges (FACTS.md).
stream.setEncoding('utf8');

let rows = 0;
await new Promise<void>((resolve, reject) => {
  stream.on('error', reject);
  Papa.parse<Record<string, string>>(stream as unknown as File, {
    header: true,
    skipEmptyLines: true,
    step: () => { rows++; },
    complete: () => resolve(),
    error: (e: Error) => reject(e),
  });
});
process.stdout.write(JSON.stringify({ rows }) + '\n');
