/**
 * The dedupe stage alone: time, heap and RSS of the Deduper on the generated contacts.
 *
 *   node --expose-gc --import tsx test/bench/dedupe-mem.ts [--rows 1000000] [--seed 42] [--impl file.ts]
 *
 * Records are built the way pipeline/run.ts builds them (the mapping compiled against the
 * file's header, normalize, validate), so keys, phones and row widths are the real ones.
 * Building them costs far more than deduping them (phone parsing), so the first run keeps
 * the records in test/bench/data/records-<rows>-<seed>.jsonl (git-ignored) and later runs
 * read that. Only add() and results() are timed; the record reader's own allocations are
 * collected before each heap reading, and its RSS is reported as the baseline.
 * Times are wall and CPU (user + sys of this process): on a shared machine the CPU time
 * is the steadier figure. `--impl` loads the Deduper from another module (an older
 * version kept under test/bench/data/, say) to compare two versions on the same records.
 * Prints one JSON line (and a table on stderr).
 */
import { createReadStream, existsSync, mkdirSync, renameSync, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { writeCsv } from './generate.js';
import { prepare } from '../../pipeline/run.js';
import { createNormalizer } from '../../pipeline/transforms/normalize.js';
import { createValidator } from '../../pipeline/transforms/validate.js';
import { Deduper as CurrentDeduper, dedupeOptionsFrom } from '../../pipeline/transforms/dedupe.js';
import type { ContactRecord } from '../../pipeline/contact.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const DATA = join(HERE, 'data');
const MAPPING = join(HERE, 'mapping.yaml');

const { values: args } = parseArgs({ options: { rows: { type: 'string', default: '1000000' }, seed: { type: 'string', default: '42' }, impl: { type: 'string' } } });
const rows = Number(args.rows!.replace(/[_,]/g, ''));
const seed = Number(args.seed);
if (!Number.isInteger(rows) || rows < 1 || !Number.isInteger(seed)) {
  process.stderr.write('usage: node --expose-gc --import tsx test/bench/dedupe-mem.ts [--rows N] [--seed N]\n');
  process.exit(2);
}
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) process.stderr.write('dedupe-mem: run with --expose-gc for exact heap figures\n');

mkdirSync(DATA, { recursive: true });
const csv = join(DATA, `contacts-${rows}-${seed}.csv`);
const cache = join(DATA, `records-${rows}-${seed}.jsonl`);
const mb = (b: number) => Math.round(b / 1e5) / 10;

/** One record per line, in the shape run.ts hands to dedupe. */
async function buildCache(): Promise<void> {
  if (!existsSync(csv)) writeCsv(csv, rows, seed);
  const prep = await prepare({ inputs: [csv], mappingPath: MAPPING });
  const m = prep.mapping.mapping;
  const normalize = createNormalizer(m);
  const c = prep.compiled[0];
  const validate = createValidator(m.required, undefined, c.columnsOf);
  const tmp = `${cache}.tmp`;
  const out = createWriteStream(tmp);
  let n = 0;
  try {
    for await (const batch of prep.sources[0].rows()) {
      let text = '';
      for (const r of batch) {
        if (r.error) continue;
        const mapped = c.map(r.values);
        const norm = normalize(mapped);
        if (norm.problems.length || validate(norm.contact).length) continue;
        const rec: ContactRecord = { contact: norm.contact, ref: { file: 0, row: r.row, values: r.values }, merged: [], conflicts: [], notes: norm.notes, date: mapped.date };
        text += JSON.stringify(rec) + '\n';
        n++;
      }
      if (!out.write(text)) await once(out, 'drain');
    }
  } finally { for (const s of prep.sources) s.close(); }
  out.end();
  await once(out, 'finish');
  renameSync(tmp, cache);
  process.stderr.write(`dedupe-mem: ${n} valid records cached in ${cache}\n`);
}

async function* records(): AsyncGenerator<ContactRecord> {
  const lines = createInterface({ input: createReadStream(cache, { encoding: 'utf8', highWaterMark: 1 << 20 }), crlfDelay: Infinity });
  for await (const line of lines) if (line) yield JSON.parse(line) as ContactRecord;
}

if (!existsSync(cache)) await buildCache();
const mapping = (await prepare({ inputs: [csv], mappingPath: MAPPING }));
for (const s of mapping.sources) s.close();
const opts = dedupeOptionsFrom(mapping.mapping.mapping);

const Deduper = args.impl
  ? (await import(pathToFileURL(resolve(args.impl)).href) as { Deduper: typeof CurrentDeduper }).Deduper : CurrentDeduper;
const cpuS = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1e6;
gc?.();
const base = process.memoryUsage();
const d = new Deduper(opts);
let addNs = 0n;
let addCpu = 0;
let n = 0;
for await (const rec of records()) {
  const t = process.hrtime.bigint();
  const c = process.cpuUsage();
  d.add(rec);
  addCpu += cpuS(process.cpuUsage(c));
  addNs += process.hrtime.bigint() - t;
  n++;
}
gc?.();
const afterAdd = process.memoryUsage();
const statsAfterAdd = d.stats;

let resultsNs = 0n;
let resultsCpu = 0;
let out = 0;
let merged = 0;
let peakHeap = 0;
const it = d.results();
for (;;) {
  const t = process.hrtime.bigint();
  const c = process.cpuUsage();
  const r = await it.next();
  resultsCpu += cpuS(process.cpuUsage(c));
  resultsNs += process.hrtime.bigint() - t;
  if (r.done) break;
  out += r.value.length;
  for (const rec of r.value) merged += rec.merged.length;
  if (out % 100_000 < r.value.length) peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
}
gc?.();
const afterResults = process.memoryUsage();
const stats = d.stats;
d.close();
if (out + merged !== n) throw new Error(`dedupe-mem: ${n} records in, ${out} out + ${merged} merged`);

const res = {
  rows, seed, records: n, survivors: out, merged,
  addS: Number(addNs) / 1e9, resultsS: Number(resultsNs) / 1e9, dedupeS: Number(addNs + resultsNs) / 1e9,
  addCpuS: addCpu, resultsCpuS: resultsCpu, dedupeCpuS: addCpu + resultsCpu,
  indexMb: mb(statsAfterAdd.indexBytes),
  keys: stats.keys, hashCollisions: stats.hashCollisions,
  heapBaseMb: mb(base.heapUsed), heapAfterAddMb: mb(afterAdd.heapUsed), heapAfterResultsMb: mb(afterResults.heapUsed), heapPeakDuringResultsMb: mb(peakHeap),
  arrayBuffersAfterAddMb: mb(afterAdd.arrayBuffers),
  rssBaseMb: mb(base.rss), rssAfterAddMb: mb(afterAdd.rss), peakRssMb: mb(process.resourceUsage().maxRSS * 1024),
};
process.stderr.write(Object.entries(res).map(([k, v]) => `${k.padEnd(26)} ${v}`).join('\n') + '\n');
process.stdout.write(JSON.stringify(res) + '\n');
