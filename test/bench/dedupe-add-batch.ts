/**
 * The dedupe index's intake alone: Deduper.addBatch on batches of 250 records encoded in
 * advance, as a row worker hands them to the main thread in a run (the spill's appends, the
 * key table, the confirmation reads and the union-find, without the encoding).
 *
 *   node --import tsx test/bench/dedupe-add-batch.ts [--rows 200000] [--rounds 5] [--root DIR]
 *
 * Reads the records test/bench/dedupe-mem.ts caches (run it once for the row count first).
 * `--root` loads pipeline/transforms/ from another checkout (a `git worktree` of an older
 * commit, say) to compare two versions on the same batches; run the two alternately.
 * Prints the CPU milliseconds of each round (a fresh Deduper each time) and the lowest.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { prepare } from '../../pipeline/run.js';
import type * as DedupeModule from '../../pipeline/transforms/dedupe.js';
import type * as EntryModule from '../../pipeline/transforms/dedupe-entry.js';
import type { ContactRecord } from '../../pipeline/contact.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({ options: {
  rows: { type: 'string', default: '200000' }, rounds: { type: 'string', default: '5' }, root: { type: 'string', default: join(HERE, '../..') },
} });
const rows = Number(args.rows);
const rounds = Number(args.rounds);
const root = resolve(args.root!);
const cache = join(HERE, 'data', `records-${rows}-42.jsonl`);
if (!existsSync(cache)) {
  process.stderr.write(`dedupe-add-batch: no ${cache}; run node --expose-gc --import tsx test/bench/dedupe-mem.ts --rows ${rows} first\n`);
  process.exit(2);
}
const { Deduper, dedupeOptionsFrom } = await import(pathToFileURL(join(root, 'pipeline/transforms/dedupe.ts')).href) as typeof DedupeModule;
const { EntryEncoder, cyrb53 } = await import(pathToFileURL(join(root, 'pipeline/transforms/dedupe-entry.ts')).href) as typeof EntryModule;

const prep = await prepare({ inputs: [join(HERE, 'data', `contacts-${rows}-42.csv`)], mappingPath: join(HERE, 'mapping.yaml') });
for (const s of prep.sources) s.close();
const opts = dedupeOptionsFrom(prep.mapping.mapping);

const enc = new EntryEncoder(opts, cyrb53);
const batches: ReturnType<typeof enc.finish>[] = [];
let n = 0;
for (const line of readFileSync(cache, 'utf8').split('\n')) {
  if (!line) continue;
  const r = JSON.parse(line) as ContactRecord;
  enc.add({ contact: r.contact, file: 0, row: r.ref.row, values: r.ref.values, nulFree: true, notes: r.notes, date: r.date });
  if (++n % 250 === 0) batches.push(enc.finish());
}
batches.push(enc.finish());

const ms: number[] = [];
for (let r = 0; r < rounds; r++) {
  const d = new Deduper(opts);
  const c = process.cpuUsage();
  for (const b of batches) d.addBatch(b);
  const u = process.cpuUsage(c);
  ms.push((u.user + u.system) / 1000);
  if (d.count !== n) throw new Error(`dedupe-add-batch: ${d.count} records taken of ${n}`);
  d.close();
}
console.log(`${root}: ${n} records, CPU ms per round ${ms.map((x) => x.toFixed(0)).join(' ')}, lowest ${Math.min(...ms).toFixed(0)}`);
