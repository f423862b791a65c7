/**
 * The per-row stages on worker threads (pipeline/transforms/row-pool.ts): the same
 * outcomes in the same order as in-thread, a worker that breaks fails the run with a
 * clear message instead of hanging or losing rows, and threads never outlive the run.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, sep } from 'node:path';
import { availableParallelism } from 'node:os';
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import chain from 'stream-chain';
import { ROOT, runCli, tempDir, readSummary } from './helpers/cli.js';
import { writeCsv } from './bench/generate.js';
import { prepare } from '../pipeline/run.js';
import { Handoff, RowPool, workerCount, type PendingBatch, type RowPoolInit } from '../pipeline/transforms/row-pool.js';
import { createBatchProcessor, isEncoded, isRowFailure, type BatchOutcomes, type EncodedOutcomes, type RowOutcome } from '../pipeline/transforms/rows.js';
import { Deduper, dedupeOptionsFrom } from '../pipeline/transforms/dedupe.js';
import type { KeySpec } from '../pipeline/transforms/dedupe-entry.js';
import { isImportError } from '../pipeline/errors.js';
import { DEFAULT_BATCH_ROWS, type SourceRow } from '../pipeline/sources/types.js';

const MAPPING = join(ROOT, 'test', 'bench', 'mapping.yaml');

/** A batch's outcomes as the run takes them: awaited, and taken out of the Handoff a worker's come in. */
async function outcomes(pool: RowPool, b: PendingBatch): Promise<BatchOutcomes> {
  const o = await pool.outcomesOf(b);
  return o instanceof Handoff ? o.take() : o;
}
const FIXTURES = join(ROOT, 'test', 'fixtures', 'row-workers');
const tmp = tempDir('row-pool-');
after(() => tmp.cleanup());

const generated = join(tmp.path, 'generated-12000-seed11.csv');
before(() => { writeCsv(generated, 12_000, 11); });

async function opened(file: string, encode?: KeySpec) {
  const prep = await prepare({ inputs: [file], mappingPath: MAPPING });
  const m = prep.mapping.mapping;
  const init: RowPoolInit = { mapping: m, files: prep.sources.map((s) => ({ file: s.info.file, headers: s.info.headers })), mappingFile: prep.mapping.path, encode };
  return { prep, init, inline: prep.compiled.map((c, fi) => createBatchProcessor(m, c, fi, encode)) };
}

/** The bench mapping's dedupe keys and scope, as run.ts hands them to the pool. */
async function keySpecOf(file: string): Promise<KeySpec> {
  const { prep } = await opened(file);
  for (const s of prep.sources) s.close();
  const d = prep.mapping.mapping.dedupe;
  return { keys: d.keys, scope: d.scope };
}

/** A batch's entries from the pool are the in-thread ones: failures, their cells, bytes, ends, hashes, codes. */
function assertSameEntries(got: EncodedOutcomes, want: EncodedOutcomes, i: number) {
  assert.deepEqual(got.failed, want.failed, `batch ${i}: the same rows failed`);
  assert.deepEqual(got.failures, want.failures, `batch ${i}: with the same failures`);
  assert.deepEqual(got.failedValues, want.failedValues, `batch ${i}: and the failed rows' cells, for failed.csv`);
  assert.ok(Buffer.from(got.records.bytes).equals(Buffer.from(want.records.bytes)), `batch ${i}: entries byte-identical`);
  assert.deepEqual([...got.records.ends], [...want.records.ends]);
  assert.deepEqual([...got.records.hashes], [...want.records.hashes]);
  assert.deepEqual([...got.records.codes], [...want.records.codes]);
}

const cellsOf = (rows: SourceRow[]) => rows.filter((r) => !r.error).map((r) => r.values);
const rowNosOf = (rows: SourceRow[]) => rows.filter((r) => !r.error).map((r) => r.row);
const plain = (o: BatchOutcomes): RowOutcome[] => { assert.ok(!isEncoded(o)); return o; };
const encoded = (o: BatchOutcomes): EncodedOutcomes => { assert.ok(isEncoded(o)); return o; };

/** Every batch of `file` processed in this thread, without a pool: what the workers must give. */
async function inThreadOutcomes(file: string): Promise<RowOutcome[][]> {
  const want = await opened(file);
  const expected: RowOutcome[][] = [];
  try {
    for await (const rows of want.prep.sources[0].rows()) expected.push(plain(want.inline[0](cellsOf(rows), rowNosOf(rows))));
  } finally {
    for (const s of want.prep.sources) s.close();
  }
  return expected;
}

test('workers give the in-thread outcomes, batch by batch and row by row, even when batches finish out of order', async () => {
  const expected = await inThreadOutcomes(generated);

  const { prep, init, inline } = await opened(generated);
  const pool = new RowPool({ init, inline, workers: 2, startAfterRows: DEFAULT_BATCH_ROWS, maxPerWorker: 1 });
  try {
    // Every batch is dispatched before any result is awaited, so two workers race.
    const pending: PendingBatch[] = [];
    for await (const b of pool.ahead(0, prep.sources[0].rows())) pending.push(b);
    const got: RowOutcome[][] = [];
    for (const b of pending) got.push(plain(await outcomes(pool, b)));

    assert.equal(pending.length, expected.length);
    assert.equal(pending[0].outcomes, undefined, 'the first batch is processed in-thread (no worker start-up for small inputs)');
    assert.ok(pending.slice(1).every((b) => b.outcomes), 'every later batch went to a worker');
    // Taken, a worker's answer is no longer held by its promise (which may be old by then: Handoff).
    for (const b of pending.slice(1)) {
      const box = await b.outcomes!;
      assert.throws(() => box.take(), /taken twice/);
    }
    assert.equal(pool.stats.workers, 2);
    assert.equal(pool.stats.workerBatches, expected.length - 1);
    assert.deepEqual(got, expected);

    const all = got.flat();
    const stages = new Set(all.filter(isRowFailure).map((f) => f[0]));
    assert.ok(stages.has('normalize') && stages.has('validate'), `the data must exercise both failure stages, got ${[...stages]}`);
    assert.ok(all.some((o) => !isRowFailure(o) && o.date !== undefined), 'dates for dedupe cross the thread boundary');
    assert.ok(all.filter((o) => !isRowFailure(o)).length > 9000);
  } finally {
    await pool.close();
    for (const s of prep.sources) s.close();
  }
});

test('prestart() starts the workers before any row; the first rows are still processed in-thread, and every outcome is the in-thread one', async () => {
  const expected = await inThreadOutcomes(generated);

  const { prep, init, inline } = await opened(generated);
  const none = new RowPool({ init, inline, workers: 0 });
  none.prestart();
  assert.equal(none.stats.workers, 0, 'a pool without workers starts none');
  const pool = new RowPool({ init, inline, workers: 1, startAfterRows: DEFAULT_BATCH_ROWS, maxPerWorker: 1 });
  try {
    pool.prestart();
    assert.equal(pool.stats.workers, 1, 'started before the first batch');
    pool.prestart();
    assert.equal(pool.stats.workers, 1, 'a second prestart() starts no other worker');
    const pending: PendingBatch[] = [];
    for await (const b of pool.ahead(0, prep.sources[0].rows())) pending.push(b);
    assert.equal(pending[0].outcomes, undefined, 'the first batch is processed in-thread, as without prestart()');
    assert.equal(pool.stats.workerBatches, expected.length - 1);
    const got: RowOutcome[][] = [];
    for (const b of pending) got.push(plain(await outcomes(pool, b)));
    assert.deepEqual(got, expected);
  } finally {
    await pool.close();
    await none.close();
    for (const s of prep.sources) s.close();
  }
});

test('a run that dedupes gets its valid rows from workers as dedupe entries byte-identical to the in-thread ones, and they dedupe as the records do', async () => {
  const spec = await keySpecOf(generated);
  const want = await opened(generated, spec);
  const expected: EncodedOutcomes[] = [];
  const records: RowOutcome[][] = [];
  const plainProcess = createBatchProcessor(want.prep.mapping.mapping, want.prep.compiled[0], 0);
  const rowsOf: SourceRow[][] = [];
  for await (const rows of want.prep.sources[0].rows()) {
    rowsOf.push(rows);
    expected.push(encoded(want.inline[0](cellsOf(rows), rowNosOf(rows))));
    records.push(plain(plainProcess(cellsOf(rows), rowNosOf(rows))));
  }
  for (const s of want.prep.sources) s.close();

  const { prep, init, inline } = await opened(generated, spec);
  const pool = new RowPool({ init, inline, workers: 2, startAfterRows: DEFAULT_BATCH_ROWS, maxPerWorker: 1 });
  const fromPool = new Deduper(dedupeOptionsFrom(prep.mapping.mapping));
  const fromRecords = new Deduper(dedupeOptionsFrom(prep.mapping.mapping));
  try {
    const pending: PendingBatch[] = [];
    for await (const b of pool.ahead(0, prep.sources[0].rows())) pending.push(b);
    assert.equal(pool.stats.workerBatches, expected.length - 1, 'every batch after the first went to a worker');
    for (let i = 0; i < pending.length; i++) {
      const got = encoded(await outcomes(pool, pending[i]));
      const want = expected[i];
      assertSameEntries(got, want, i);
      assert.deepEqual(got.failedValues, want.failed.map((k) => cellsOf(rowsOf[i])[k]));
      assert.equal(got.records.ends.length + got.failed.length, cellsOf(rowsOf[i]).length, `batch ${i}: every row is a record or a failure`);
      fromPool.addBatch(got.records);
      // The same rows through the record API (as tests and API callers add them).
      let k = 0;
      for (const r of rowsOf[i]) {
        if (r.error) continue;
        const o = records[i][k++];
        if (isRowFailure(o)) continue;
        fromRecords.add({ contact: o.contact, ref: { file: 0, row: r.row, values: r.values }, merged: [], conflicts: [], notes: o.notes ?? [], date: o.date });
      }
    }
    const a = [];
    for await (const b of fromPool.results()) a.push(...b);
    const b = [];
    for await (const x of fromRecords.results()) b.push(...x);
    assert.ok(fromPool.stats.merged > 1000, `the data must merge rows, got ${fromPool.stats.merged}`);
    assert.deepEqual(fromPool.stats, fromRecords.stats);
    assert.deepEqual(a, b);
  } finally {
    await pool.close();
    fromPool.close();
    fromRecords.close();
    for (const s of prep.sources) s.close();
  }
});

test('with help, a batch that finds every worker full is processed in this thread: byte-identical entries, in order, the workers still taking the others', async () => {
  const spec = await keySpecOf(generated);
  const want = await opened(generated, spec);
  const expected: EncodedOutcomes[] = [];
  for await (const rows of want.prep.sources[0].rows()) expected.push(encoded(want.inline[0](cellsOf(rows), rowNosOf(rows))));
  for (const s of want.prep.sources) s.close();

  const { prep, init, inline } = await opened(generated, spec);
  const pool = new RowPool({ init, inline, workers: 1, startAfterRows: DEFAULT_BATCH_ROWS, maxPerWorker: 1, help: true });
  try {
    // Nothing is awaited between batches, so the worker's one slot is taken while the next
    // batches are read: those cannot wait for it and are processed here.
    const pending: PendingBatch[] = [];
    for await (const b of pool.ahead(0, prep.sources[0].rows())) pending.push(b);
    assert.equal(pending.length, expected.length);
    assert.ok(pending.slice(1).every((b) => b.outcomes), 'every batch after the first has its outcomes under way or done');
    assert.ok(pool.stats.workerBatches >= 1, 'the worker took a batch');
    assert.ok(pool.stats.helpedBatches >= 1, 'this thread took the batches the full worker could not');
    assert.equal(pool.stats.workerBatches + pool.stats.helpedBatches, expected.length - 1, 'every batch after the first went to the worker or was processed here');
    for (let i = 0; i < pending.length; i++) {
      assertSameEntries(encoded(await outcomes(pool, pending[i])), expected[i], i);
    }
    assert.equal(pool.stats.inlineBatches, 1, 'only the first batch waited for no worker at all');
  } finally {
    await pool.close();
    for (const s of prep.sources) s.close();
  }
});

test('with help, a batch whose in-thread processing throws rejects its own outcomes, in order, like a worker failure', async () => {
  const { prep, init } = await opened(generated);
  let calls = 0;
  // A whole batch, not the one-row reruns that look for the row that throws.
  const throwing = (cells: readonly string[][]) => { if (cells.length > 1) calls++; throw new TypeError('bug in a row stage'); };
  const pool = new RowPool({ init, inline: [throwing], workers: 1, startAfterRows: 0, maxPerWorker: 1, help: true });
  try {
    const pending: PendingBatch[] = [];
    for await (const b of pool.ahead(0, prep.sources[0].rows())) { pending.push(b); if (pending.length === 3) break; }
    assert.equal(calls, 2, 'the first batch went to the worker, the next two were processed here');
    assert.ok(plain(await outcomes(pool, pending[0])).length > 0);
    // Named like a worker's failure: the file and the first row that throws (here every row does).
    const firstRow = (b: PendingBatch) => b.rows.find((r) => !r.error)!.row;
    for (const b of [pending[1], pending[2]]) {
      await assert.rejects(outcomes(pool, b),
        (e: Error) => e.message === `processing ${generated} row ${firstRow(b)} failed: bug in a row stage`);
    }
  } finally {
    await pool.close();
    for (const s of prep.sources) s.close();
  }
});

test('a batch that throws part-way leaves nothing behind: the next batch holds its own entries only (each row is encoded as it is made)', async () => {
  const spec = await keySpecOf(generated);
  const { prep, inline } = await opened(generated, spec);
  try {
    let first: SourceRow[] | undefined;
    for await (const rows of prep.sources[0].rows()) { first = rows; break; }
    const cells = cellsOf(first!);
    const rowNos = rowNosOf(first!);
    const clean = encoded(createBatchProcessor(prep.mapping.mapping, prep.compiled[0], 0, spec)(cells.slice(100, 200), rowNos.slice(100, 200)));
    assert.ok(clean.records.ends.length > 50, 'most rows of the slice are valid');
    const process = inline[0];
    // 100 rows are made and encoded, then the 101st (no cells: a bug's stand-in) throws.
    assert.throws(() => process([...cells.slice(0, 100), undefined as unknown as string[]], [...rowNos.slice(0, 100), 999_999]), TypeError);
    const next = encoded(process(cells.slice(100, 200), rowNos.slice(100, 200)));
    assert.equal(next.records.ends.length, clean.records.ends.length, 'no entry of the batch that threw');
    assert.ok(Buffer.from(next.records.bytes).equals(Buffer.from(clean.records.bytes)), 'entries byte-identical to a processor that never threw');
    assert.deepEqual([...next.records.hashes], [...clean.records.hashes]);
  } finally {
    for (const s of prep.sources) s.close();
  }
});

test('the built CLI writes byte-identical reports and payloads with workers and without (failures in the same order)', async () => {
  const file = join(tmp.path, 'generated-10000-seed5.csv');
  writeCsv(file, 10_000, 5);
  const outs: Record<string, string> = {};
  for (const w of ['0', '2']) {
    const out = join(tmp.path, `cli-out-w${w}`);
    const r = await runCli(['run', file, '--mapping', MAPPING, '--out', out, '--quiet'], { env: { CONTACT_IMPORT_WORKERS: w } });
    assert.equal(r.code, 1, `workers=${w}: some generated rows fail, so exit 1\n${r.stderr}`);
    assert.equal(r.stderr, '');
    outs[w] = out;
  }
  const files = (dir: string) => [
    'success.csv', 'failed.csv', 'merged.csv',
    ...(readdirSync(join(dir, 'payloads'), { recursive: true }) as string[]).map((f) => `payloads/${f.split(sep).join('/')}`),
  ].filter((f) => statSync(join(dir, f)).isFile()).sort();
  assert.deepEqual(files(outs['2']), files(outs['0']));
  for (const f of files(outs['0'])) {
    assert.ok(readFileSync(join(outs['2'], f)).equals(readFileSync(join(outs['0'], f))), `${f} differs between workers=2 and workers=0`);
  }
  const failed = readFileSync(join(outs['0'], 'failed.csv'), 'utf8').split('\n').length;
  assert.ok(failed > 100, 'failed.csv holds enough rows for its order to mean something');
  assert.deepEqual(readSummary(outs['2']).counts, readSummary(outs['0']).counts);
});

test('two inputs in one run that dedupes: byte-identical reports and payloads with a worker and without, rows of the second file merged into the first', async () => {
  const first = join(tmp.path, 'two-inputs-first.csv');
  const second = join(tmp.path, 'two-inputs-second.csv');
  writeCsv(first, 6000, 21);
  // The same contacts again in a second file: each of its valid rows merges into the first file's.
  writeFileSync(second, readFileSync(first));
  const outs: Record<string, string> = {};
  for (const w of ['0', '1']) {
    const out = join(tmp.path, `two-inputs-w${w}`);
    const r = await runCli(['run', first, second, '--mapping', MAPPING, '--out', out, '--quiet'], { env: { CONTACT_IMPORT_WORKERS: w } });
    assert.equal(r.code, 1, `workers=${w}: some generated rows fail, so exit 1\n${r.stderr}`);
    outs[w] = out;
  }
  for (const f of ['success.csv', 'failed.csv', 'merged.csv', 'payloads/spoke.jsonl', 'payloads/talkdesk.jsonl']) {
    assert.ok(readFileSync(join(outs['1'], f)).equals(readFileSync(join(outs['0'], f))), `${f} differs between workers=1 and workers=0`);
  }
  const s = readSummary(outs['1']);
  assert.equal(s.counts.read, 12_000);
  assert.equal(s.counts.read, s.counts.success + s.counts.failed + s.counts.merged + s.counts.unchanged);
  // Every contact of the second file is already in the first: success.csv names the second file in merged_rows.
  const success = readFileSync(join(outs['1'], 'success.csv'), 'utf8');
  assert.ok(success.includes(`${second}:`), 'merged_rows names rows of the second file');
  assert.ok(s.counts.success <= 6000, `the second file adds no contact (success ${s.counts.success})`);
});

/** Batches of fake rows: enough cells for any fixture worker. */
async function* fakeBatches(n: number, size = 10): AsyncGenerator<SourceRow[]> {
  let row = 2;
  for (let b = 0; b < n; b++) {
    const rows: SourceRow[] = [];
    for (let i = 0; i < size; i++) rows.push({ row: row++, values: ['a', 'b'] });
    yield rows;
  }
}

/** The stage wiring of pipeline/run.ts: the pool's batches through a chain that awaits each. */
async function runChain(pool: RowPool, batches: AsyncIterable<SourceRow[]>) {
  let rows = 0;
  const consume = async (b: PendingBatch) => { rows += plain(await outcomes(pool, b)).length; return chain.none; };
  const c = chain([Readable.from(pool.ahead(0, batches), { objectMode: true, highWaterMark: 2 }), consume] as unknown as [Readable, ...((x: never) => unknown)[]], { objectMode: true } as object);
  c.resume();
  await finished(c);
  return rows;
}

const fakeInit: RowPoolInit = { mapping: {} as RowPoolInit['mapping'], files: [{ file: 'contacts.csv', headers: ['A', 'B'] }] };

test('a worker that throws fails the run with a message that says so, and does not hang', async () => {
  const pool = new RowPool({ init: fakeInit, inline: [], workers: 1, startAfterRows: 0, workerUrl: pathToFileURL(join(FIXTURES, 'throws-on-second-batch.mjs')) });
  try {
    await assert.rejects(runChain(pool, fakeBatches(6)), (e: Error) => {
      assert.match(e.message, /a row worker thread failed: boom: uncaught in the row worker; \d+ batch(es)? of rows (was|were) not processed, so the run stops/);
      assert.ok(!isImportError(e), 'a worker failure is a bug (internal error), not a user mistake');
      return true;
    });
  } finally {
    await pool.close();
  }
});

test('a worker thread that exits with a batch unanswered fails the run instead of waiting for it', async () => {
  const pool = new RowPool({ init: fakeInit, inline: [], workers: 2, startAfterRows: 0, workerUrl: pathToFileURL(join(FIXTURES, 'exits-on-first-batch.mjs')) });
  try {
    await assert.rejects(runChain(pool, fakeBatches(4)), /a row worker thread exited unexpectedly \(exit code 3\)/);
  } finally {
    await pool.close();
  }
});

test('an exception in the per-row code inside a worker names the file and the row it happened on', async () => {
  const { prep, init, inline } = await opened(generated);
  // A header without the mapped columns: compiling in the worker throws, as a bug in map/normalize would.
  const broken: RowPoolInit = { ...init, files: [{ file: 'contacts.csv', headers: ['Unrelated'] }] };
  const pool = new RowPool({ init: broken, inline, workers: 1, startAfterRows: 0 });
  try {
    const batches = async function* () { yield [{ row: 7, values: ['x'], error: undefined }, { row: 8, values: ['y'] }] as SourceRow[]; };
    await assert.rejects(runChain(pool, batches()), /the row worker failed on contacts\.csv row 7: .*no column "External ID"/s);
  } finally {
    await pool.close();
    for (const s of prep.sources) s.close();
  }
});

test('a closed pool rejects new work instead of hanging', async () => {
  const { prep, init, inline } = await opened(generated);
  const pool = new RowPool({ init, inline, workers: 1, startAfterRows: 0 });
  await pool.close();
  try {
    await assert.rejects(runChain(pool, prep.sources[0].rows()), /the row worker pool is closed/);
  } finally {
    for (const s of prep.sources) s.close();
  }
});

test('worker threads never keep the process alive: a pool that is closed, and one that is forgotten, both let it exit', async () => {
  const script = join(tmp.path, 'pool-exit.mts');
  const mod = (p: string) => JSON.stringify(pathToFileURL(join(ROOT, p)).href);
  writeFileSync(script, `
    import { prepare } from ${mod('pipeline/run.ts')};
    import { Handoff, RowPool } from ${mod('pipeline/transforms/row-pool.ts')};
    import { createRowProcessor } from ${mod('pipeline/transforms/rows.ts')};
    const run = async (close) => {
      const prep = await prepare({ inputs: [${JSON.stringify(generated)}], mappingPath: ${JSON.stringify(MAPPING)} });
      const m = prep.mapping.mapping;
      const pool = new RowPool({ init: { mapping: m, files: prep.sources.map((s) => ({ file: s.info.file, headers: s.info.headers })) },
        inline: prep.compiled.map((c) => createRowProcessor(m, c)), workers: 2, startAfterRows: 0 });
      let n = 0;
      for await (const b of pool.ahead(0, prep.sources[0].rows())) {
        const o = await pool.outcomesOf(b);
        n += (o instanceof Handoff ? o.take() : o).length;
        if (n >= 6000) break;
      }
      if (close) await pool.close();
      for (const s of prep.sources) s.close();
      return n;
    };
    console.log('closed', await run(true));
    console.log('forgotten', await run(false));
  `);
  const r = await new Promise<{ code: number | null; out: string; err: string; killed: boolean }>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: ROOT });
    let out = '';
    let err = '';
    let killed = false;
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    // Generous: the point is "exits at all"; a leaked thread would hold it forever.
    const timer = setTimeout(() => { killed = true; child.kill('SIGKILL'); }, 60_000);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, out, err, killed }); });
  });
  assert.equal(r.killed, false, `the process did not exit: a worker thread kept it alive\n${r.err}`);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /closed 6000\nforgotten 6000\n/);
});

test('CONTACT_IMPORT_WORKERS: unset means one worker for a run that dedupes on a machine with a second core and none otherwise, 0 means in-thread, N means N worker threads, anything else is a usage error naming it', () => {
  const dedupes = { dedupes: true };
  assert.equal(workerCount({}, { dedupes: false }), 0, 'contacts come back as objects without dedupe: in-thread measured faster (issue #11)');
  assert.equal(workerCount({}, dedupes), availableParallelism() > 1 ? 1 : 0, 'dedupe entries come back as transferred memory: one worker measured faster');
  assert.equal(workerCount({ CONTACT_IMPORT_WORKERS: '0' }, dedupes), 0);
  assert.equal(workerCount({ CONTACT_IMPORT_WORKERS: ' 3 ' }, { dedupes: false }), 3);
  for (const bad of ['-1', 'two', '1.5', '65']) {
    assert.throws(() => workerCount({ CONTACT_IMPORT_WORKERS: bad }, dedupes), (e: unknown) => {
      assert.ok(isImportError(e) && e.kind === 'usage');
      assert.match((e as Error).message, new RegExp(`^CONTACT_IMPORT_WORKERS: expected a whole number of worker threads from 0 \\(none\\) to 64, got "${bad.replace('.', '\\.')}"$`));
      return true;
    });
  }
});

test('a bad CONTACT_IMPORT_WORKERS stops the CLI with exit 2 and a one-line message, before any row', async () => {
  const out = join(tmp.path, 'bad-env-out');
  const r = await runCli(['run', join(ROOT, 'samples', 'clean.csv'), '--mapping', join(ROOT, 'mappings', 'clean.yaml'), '--out', out, '--quiet'],
    { env: { CONTACT_IMPORT_WORKERS: 'lots' } });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /CONTACT_IMPORT_WORKERS: expected a whole number of worker threads/);
  assert.equal(r.stderr.trim().split('\n')[0].startsWith('error'), true, r.stderr);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  assert.equal(existsSync(join(out, 'success.csv')) && readFileSync(join(out, 'success.csv'), 'utf8').split('\n').length > 2, false, 'no row was loaded');
});
