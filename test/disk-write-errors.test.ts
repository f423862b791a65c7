/**
 * A write the disk refuses (full, over quota, a file-size limit, read-only, no permission)
 * is WRITE_FAILED: the user is told which file and why, not "a bug in contact-import", and
 * the run stops like an abort, with every row read still counted.
 *
 * /dev/full refuses every write with ENOSPC (a full disk, for real); `ulimit -f` makes the
 * kernel refuse writes past a size with EFBIG in a child process (node ignores SIGXFSZ).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { FileSink } from '../pipeline/report/file-sink.js';
import { CsvFile } from '../pipeline/report/csv-file.js';
import { ImportError, isImportError, toImportError, writeFailed, exitCodeFor } from '../pipeline/errors.js';
import { BIN, ROOT, runProcess, tempDir, writeContacts } from './helpers/cli.js';

const tmp = tempDir('disk-write-');
after(() => tmp.cleanup());

/** Runs `script` (bash) with a file-size limit of `kb` KiB; node and the built CLI are on hand as $NODE and $BIN. */
function underFileLimit(kb: number, script: string, env: NodeJS.ProcessEnv = {}) {
  return runProcess('bash', ['-c', `ulimit -f ${kb} && ${script}`], { env: { NODE: process.execPath, BIN, ...env } });
}

/** A module of the repository as an import specifier for a child's script. */
const moduleUrl = (rel: string) => JSON.stringify(pathToFileURL(join(ROOT, rel)).href);

/**
 * Runs `script` (an ES module, saved as `<name>.mts`, run by node with tsx) under a file-size
 * limit of `kb` KiB; it must exit 0, and the last line it prints is its result, as JSON.
 */
async function childUnderFileLimit(kb: number, name: string, script: string, env: NodeJS.ProcessEnv) {
  const file = join(tmp.path, `${name}.mts`);
  writeFileSync(file, script);
  const r = await underFileLimit(kb, `exec "$NODE" --import tsx ${JSON.stringify(file)}`, env);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

test('a full disk (/dev/full) is WRITE_FAILED naming the file; the sink then takes nothing more, so an abort can still count rows', () => {
  const sink = new FileSink('/dev/full', 1024);
  sink.write('x'.repeat(800));
  let thrown: unknown;
  try { sink.write('y'.repeat(800)); } catch (e) { thrown = e; }
  assert.ok(isImportError(thrown), `expected an ImportError, got ${String(thrown)}`);
  assert.equal(thrown.code, 'WRITE_FAILED');
  assert.equal(thrown.kind, 'abort');
  assert.equal(exitCodeFor(thrown), 3);
  assert.equal(thrown.message, 'could not write /dev/full: the disk is full (ENOSPC)');
  assert.equal(thrown.where.file, '/dev/full');
  assert.match(thrown.hint, /Free space on that disk.*--out.*TMPDIR.*run the same command again/);
  // Thrown once: later rows and the final close are dropped quietly, not failed again.
  sink.write('z'.repeat(5000));
  sink.flush();
  sink.close();
});

test('a report CSV on a full disk: rows are still counted after its WRITE_FAILED', () => {
  const csv = new CsvFile('/dev/full', ['a', 'b'], false);
  let failures = 0;
  for (let i = 0; i < 3000; i++) {
    try { csv.write([`row ${i}`, 'x'.repeat(200)]); } catch (e) { assert.equal((e as ImportError).code, 'WRITE_FAILED'); failures++; }
  }
  assert.equal(failures, 1, 'the error is raised once, where it happened');
  assert.equal(csv.rows, 3000);
  csv.close();
});

test('writeFailed: the codes a write meets become WRITE_FAILED in plain words; anything else stays what it was', () => {
  const err = (code: string, path?: string) => Object.assign(new Error(`${code}: boom`), { code, ...(path ? { path } : {}) });
  const cases: [string, RegExp][] = [
    ['ENOSPC', /the disk is full \(ENOSPC\)$/],
    ['EDQUOT', /the disk quota is used up \(EDQUOT\)$/],
    ['EFBIG', /larger than this system allows \(see `ulimit -f`\) \(EFBIG\)$/],
    ['EROFS', /read-only \(EROFS\)$/],
    ['EACCES', /permission denied \(EACCES\)$/],
    ['SQLITE_FULL', /the disk is full \(SQLITE_FULL\)$/],
    ['SQLITE_IOERR_WRITE', /input\/output error \(SQLITE_IOERR_WRITE\)$/],
    ['ENOENT', /its folder no longer exists \(moved or deleted while the run was writing\?\) \(ENOENT\)$/],
  ];
  for (const [code, want] of cases) {
    const w = writeFailed(err(code), '/r/success.csv');
    assert.ok(isImportError(w) && w.code === 'WRITE_FAILED', code);
    assert.match(w.message, /^could not write \/r\/success\.csv: /);
    assert.match(w.message, want);
  }
  assert.equal((writeFailed(err('ENOSPC'), '/tmp/x/records.bin', 'the dedupe spill, in TMPDIR') as ImportError).message,
    'could not write /tmp/x/records.bin (the dedupe spill, in TMPDIR): the disk is full (ENOSPC)');
  // Without a path the origin is unknown: only codes a write alone can meet count, named by node's path.
  assert.equal((writeFailed(err('ENOSPC', '/r/summary.json')) as ImportError).message, 'could not write /r/summary.json: the disk is full (ENOSPC)');
  assert.equal((writeFailed(err('SQLITE_FULL')) as ImportError).message,
    'could not write the state store, --state or CONTACT_IMPORT_STATE: the disk is full (SQLITE_FULL)');
  const denied = err('EACCES', '/in/contacts.csv');
  assert.equal(writeFailed(denied), denied, 'EACCES of unknown origin may be a read: left alone');
  const missing = err('ENOENT', '/in/contacts.csv');
  assert.equal(writeFailed(missing), missing, 'ENOENT of unknown origin may be a read: left alone');
  const bug = new TypeError('x is undefined');
  assert.equal(writeFailed(bug, '/r/a.csv'), bug);
  assert.equal(toImportError(bug).code, 'INTERNAL');
  assert.equal(toImportError(err('ENOSPC', '/r/a')).code, 'WRITE_FAILED');
});

test('the dedupe spill refused by the disk: WRITE_FAILED naming it, and every record appended before is still readable', async () => {
  // A child with a 1.5 MiB file-size limit appends 4 KB records until the spill's second
  // block (2 MiB) is refused, then reads every record it was given back.
  const script = `
    import { Spill } from ${moduleUrl('pipeline/transforms/dedupe-spill.ts')};
    import { appendEntry, spillHasKey } from ${moduleUrl('test/helpers/spill-entry.ts')};
    const spill = new Spill(process.env.SPILL_DIR);
    const payload = (i) => JSON.stringify({ i, note: String(i % 10).repeat(4000) });
    let error;
    let i = 0;
    try { for (; i < 2000; i++) appendEntry(spill, ['k' + i], payload(i)); } catch (e) { error = e; }
    let intact = 0;
    for (let j = 0; j < spill.size; j++) if (spill.read(j, true) === payload(j) && spillHasKey(spill, j, 'k' + j)) intact++;
    spill.close();
    console.log(JSON.stringify({ code: error?.code, message: error?.message, appended: spill.size, attempted: i, intact }));
  `;
  const dir = join(tmp.path, 'spill');
  mkdirSync(dir);
  const out = await childUnderFileLimit(1536, 'spill-child', script, { SPILL_DIR: dir });
  assert.equal(out.code, 'WRITE_FAILED');
  assert.match(out.message, /^could not write .*contact-import-dedupe-\d+-\w+\/records\.bin \(the dedupe spill, in TMPDIR\): .*\(EFBIG\)$/);
  assert.ok(out.appended > 256 && out.appended < 2000, `the limit was met part-way (${out.appended} appended)`);
  assert.equal(out.attempted, out.appended, 'the refused record is not counted as appended');
  assert.equal(out.intact, out.appended, 'records on disk and those still in the refused block read back whole');
  assert.deepEqual(readdirSync(dir), [], 'close() removes the spill folder');
});

test('summary.json the disk cannot take whole: WRITE_FAILED naming it, and the summary written before stays whole (never a cut-off JSON)', async () => {
  // A child under a 64 KiB file-size limit writes a small summary, then one of ≈ 200 KB.
  const script = `
    import { writeSummaryFile } from ${moduleUrl('pipeline/report/summary.ts')};
    const dir = process.env.OUT_DIR;
    writeSummaryFile(dir, { status: 'running', pid: 1 });
    let error;
    try { writeSummaryFile(dir, { status: 'completed', notes: Array.from({ length: 2000 }, (_, i) => 'note ' + i + ' ' + 'x'.repeat(80)) }); } catch (e) { error = e; }
    console.log(JSON.stringify({ code: error?.code, message: error?.message }));
  `;
  const dir = join(tmp.path, 'summary-out');
  mkdirSync(dir);
  const out = await childUnderFileLimit(64, 'summary-child', script, { OUT_DIR: dir });
  assert.equal(out.code, 'WRITE_FAILED');
  assert.match(out.message, /^could not write \S+summary-out\/summary\.json: .*\(EFBIG\)$/);
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')), { status: 'running', pid: 1 });
  assert.deepEqual(readdirSync(dir), ['summary.json'], 'no temporary file is left behind');
});

test('the dedupe spill refused part-way through a batch from a row worker, and in-thread: exit 3, WRITE_FAILED naming the spill, every row accounted for', async () => {
  // Rows of ≈ 600 spill bytes: the spill's 1 MiB blocks reach a 3.5 MiB file-size limit at
  // its fourth block, ≈ 6,000 rows in, after the worker took over (from row 4,000).
  const n = 9000;
  const { input, mapping } = writeContacts(tmp.path, 'spill-contacts', n, { extra: 'x'.repeat(300), mappingTail: 'dedupe:\n  keys: [id, phone]\n' });
  for (const workers of ['1', '0']) {
    const out = join(tmp.path, `spill-report-${workers}`);
    const spillDir = join(tmp.path, `spill-tmp-${workers}`);
    mkdirSync(spillDir);
    const r = await underFileLimit(3584, `exec "$NODE" "$BIN" run ${JSON.stringify(input)} -m ${JSON.stringify(mapping)} --target file --out ${JSON.stringify(out)} --quiet`,
      { TMPDIR: spillDir, CONTACT_IMPORT_WORKERS: workers });
    const said = r.stdout + r.stderr;
    assert.equal(r.code, 3, `workers=${workers}: ${said}`);
    assert.match(said, /Aborted: WRITE_FAILED: could not write \S+records\.bin \(the dedupe spill, in TMPDIR\): .*\(EFBIG\)/);
    assert.doesNotMatch(said, /internal error|a bug in contact-import|at .*\.js:\d+/);
    const s = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    assert.equal(s.abort.code, 'WRITE_FAILED');
    assert.equal(s.invariant.holds, true);
    const c = s.counts;
    assert.equal(c.read, c.success + c.failed + c.merged + c.unchanged);
    assert.ok(c.read > 4000 && c.read < n, `workers=${workers}: stopped part-way, after the worker took over (read ${c.read})`);
    assert.equal(c.failed, c.read, `workers=${workers}: nothing reached the target, every row read is NOT_SENT`);
    assert.equal(s.failuresByCode.NOT_SENT?.count, c.read);
    assert.deepEqual(readdirSync(spillDir), [], 'the spill folder is removed');
  }
});

test('a report file the disk refuses mid-run (ulimit -f): exit 3, WRITE_FAILED naming it, no "bug", and summary.json adds up', async () => {
  const n = 6000;
  const { input, mapping } = writeContacts(tmp.path, 'contacts', n);
  const out = join(tmp.path, 'report');
  // 200 KiB: summary.json fits; success.csv and the payload files (hundreds of KB each) do not.
  const r = await underFileLimit(200, `exec "$NODE" "$BIN" run ${JSON.stringify(input)} -m ${JSON.stringify(mapping)} --target file --out ${JSON.stringify(out)} --quiet`);
  const said = r.stdout + r.stderr;
  assert.equal(r.code, 3, said);
  assert.match(said, /Aborted: WRITE_FAILED: could not write \S+\.(csv|jsonl): the file would be larger than this system allows \(see `ulimit -f`\) \(EFBIG\)/);
  assert.match(said, /hint: Free space on that disk/);
  assert.doesNotMatch(said, /internal error|a bug in contact-import|at .*\.js:\d+/);
  const s = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  assert.equal(s.status, 'aborted');
  assert.equal(s.exitCode, 3);
  assert.equal(s.abort.code, 'WRITE_FAILED');
  assert.equal(s.invariant.holds, true);
  const c = s.counts;
  assert.equal(c.read, c.success + c.failed + c.merged + c.unchanged);
  assert.ok(c.read > 0 && c.read <= n);
  assert.deepEqual(s.inputs.map((i: { file: string; rows: number }) => [i.file, i.rows]), [[input, c.read]], 'the file read part-way is named');
  assert.ok(s.failuresByCode.NOT_SENT?.count > 0, 'rows after the refused write are NOT_SENT');
  // report.html is whole or absent: a page cut short would look complete in a browser.
  const html = join(out, 'report.html');
  if (existsSync(html)) {
    assert.match(readFileSync(html, 'utf8'), /<\/html>\n$/);
    assert.equal(s.files.report, 'report.html');
  } else {
    assert.equal(s.files.report, undefined);
    assert.match(said, /warn: report\.html not written: could not write \S+report\.html: .*\(EFBIG\)/);
  }
});
