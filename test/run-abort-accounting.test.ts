/**
 * A run aborted mid-load accounts for every row read, including the records still
 * buffered between stages when the target stopped taking them (they are NOT_SENT), and
 * so does a run stopped by a bug in the tool (INTERNAL).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSpokeEmulator } from './emulators/spoke.js';
import { runCli, tempDir, assertInvariant, readReportCsv, writeContacts } from './helpers/cli.js';
import { runImport } from '../pipeline/run.js';
import { silentLogger } from '../pipeline/log.js';
import { internalError } from '../pipeline/errors.js';

const tmp = tempDir('run-abort-');
after(() => tmp.cleanup());

for (const dedupe of [false, true]) test(`credentials refused mid-run${dedupe ? ' after dedupe' : ''}: exit 3, and every row read has exactly one outcome`, async () => {
  const n = 6000;
  // With dedupe, records reach the loader in batches emitted by dedupe after the whole file is read.
  const { input, mapping } = writeContacts(tmp.path, `contacts-${dedupe}`, n, { mappingTail: dedupe ? 'dedupe:\n  keys: [id]\n' : '' });
  // 300 PUTs of 20 ms each, two at a time: the run lasts long enough to be cut in the middle.
  const emu = await startSpokeEmulator({ seed: 1, faults: { latencyMs: 20 } });
  const out = join(tmp.path, `report-${dedupe}`);
  try {
    const run = runCli(['run', input, '-m', mapping, '--target', 'spoke', '--out', out, '--quiet', '--batch-size', '20', '--concurrency', '2'], { env: emu.env });
    // Once some batches have landed, the credentials are withdrawn: tokens revoked, new ones refused.
    while (emu.requests('PUT /phonebooks/:email/contacts').length < 10) await new Promise((res) => setTimeout(res, 5));
    for (let i = 0; i < 50; i++) emu.faults.script.push({ status: 401, route: 'POST /oauth/token' });
    emu.revokeTokens();
    const r = await run;
    assert.equal(r.code, 3, r.stdout + r.stderr);
    assert.doesNotMatch(r.stdout + r.stderr, /internal error/);
    const s = assertInvariant(out);
    assert.ok(s.counts.read > 0 && s.counts.read <= n, 'reading stops at the abort');
    if (dedupe) assert.equal(s.counts.read, n, 'dedupe reads the whole file before loading');
    assert.equal(s.status, 'aborted');
    assert.ok(s.counts.failed > 0);
    const notSent = readReportCsv(out, 'failed.csv').filter((f) => f._code === 'NOT_SENT');
    assert.ok(notSent.length > 0, 'rows not sent are reported as such');
    const stored = [...emu.state.phonebooks.values()].reduce((a, pb) => a + pb.size, 0);
    assert.equal(stored, s.counts.success, 'what the report calls loaded is what the target holds');
  } finally {
    await emu.close();
  }
});

// A bug in a stage (here the progress callback throws a plain Error, as a stage with a bug
// would) stops the run like an abort: exit 3, status aborted with INTERNAL, and every row
// read still has exactly one outcome in the report files.
for (const dedupe of [false, true]) test(`a bug mid-run${dedupe ? ' after dedupe' : ''}: aborted with INTERNAL, and every row read has exactly one outcome`, async () => {
  const n = 5000;
  const { input, mapping } = writeContacts(tmp.path, `bug-${dedupe}`, n, { owner: false, mappingTail: dedupe ? 'dedupe:\n  keys: [id]\n' : '' });
  const out = join(tmp.path, `bug-report-${dedupe}`);
  let calls = 0;
  let readAll = 0;
  const logged: string[] = [];
  const log = { ...silentLogger, error: (_e: string, msg: string) => { logged.push(msg); } };
  const r = await runImport({
    command: 'run', inputs: [input], mappingPath: mapping, target: 'file', dryRun: false, outDir: out,
    env: { CONTACT_IMPORT_DEBUG: '1' }, log,
    onProgress: (p) => {
      calls++;
      if (p.rows === n) readAll++;
      // Without dedupe: mid-read. With dedupe: once the loader has had some of the merged records.
      if (dedupe ? readAll === 3 : calls === 2) throw new TypeError('cannot read properties of undefined (reading \'e164\')');
    },
  });
  assert.equal(r.exitCode, 3);
  const s = assertInvariant(out);
  assert.equal(s.status, 'aborted');
  assert.equal(s.exitCode, 3);
  assert.equal(s.abort?.code, 'INTERNAL');
  assert.match(s.abort!.message, /^internal error: cannot read properties of undefined/);
  assert.match(s.abort!.hint, /bug in contact-import/);
  if (dedupe) assert.equal(s.counts.read, n);
  else assert.ok(s.counts.read > 0 && s.counts.read < n, `reading stops at the bug (read ${s.counts.read})`);
  assert.ok(s.counts.success > 0, 'what loaded before the bug is reported');
  const failed = readReportCsv(out, 'failed.csv');
  assert.equal(failed.length, s.counts.failed);
  assert.equal(readReportCsv(out, 'success.csv').length, s.counts.success);
  assert.ok(failed.every((f) => f._code === 'NOT_SENT' && /aborted \(INTERNAL: internal error/.test(f._error)), 'the rest is NOT_SENT, saying why');
  // The file target settles each batch as it writes it; after dedupe, the records not yet emitted are left.
  if (dedupe) assert.ok(failed.length > 0, 'records still in dedupe are NOT_SENT');
  assert.ok(logged.some((l) => /TypeError: cannot read properties/.test(l) && /\n\s+at /.test(l)), 'CONTACT_IMPORT_DEBUG logs the stack');
  // The loader is closed on the way out: every contact reported as written is in the payload
  // files (their last blocks, the Spoke batches still filling, the open Samespace chunk).
  const payloads = join(out, 'payloads');
  const jsonl = (f: string) => readFileSync(join(payloads, f), 'utf8').split('\n').filter(Boolean);
  assert.equal(jsonl('talkdesk.jsonl').length, s.counts.success, 'talkdesk.jsonl holds every contact reported written');
  assert.equal(jsonl('genesys.jsonl').length, s.counts.success, 'genesys.jsonl too');
  const inSpoke = jsonl('spoke.jsonl').reduce((a, l) => a + JSON.parse(l).body.contacts.length, 0);
  assert.equal(inSpoke, 0, 'no owner column: Spoke gets nothing');
  const chunks = jsonl('samespace.jsonl').filter((l) => JSON.parse(l).multipart).map((l) => JSON.parse(l).multipart.uploadFile as string);
  const chunkRows = chunks.reduce((a, f) => a + readFileSync(join(payloads, f), 'utf8').split('\r\n').filter(Boolean).length - 1, 0);
  assert.equal(chunkRows, s.counts.success, 'the Samespace chunks, the last one included, hold every contact');
});

// A bug while requests are in flight: the loader is closed before the runner settles what
// it holds, so the requests under way finish and settle themselves (a contact the target
// took is success, not NOT_SENT), and what the report calls loaded is what the target holds.
test('a bug mid-run with requests in flight: they finish before the rest is NOT_SENT, and the report matches the target', async () => {
  const { input, mapping } = writeContacts(tmp.path, 'bug-spoke', 4000);
  const emu = await startSpokeEmulator({ seed: 2, faults: { latencyMs: 150 } });
  const out = join(tmp.path, 'bug-spoke-report');
  try {
    let calls = 0;
    const r = await runImport({
      command: 'run', inputs: [input], mappingPath: mapping, target: 'spoke', dryRun: false, outDir: out,
      env: emu.env, log: silentLogger, batchSize: 20, concurrency: 4,
      onProgress: () => {
        // After the second batch of rows, with PUTs under way (each takes 150 ms), a stage throws.
        if (++calls === 2) throw new TypeError('cannot read properties of undefined (reading \'e164\')');
      },
    });
    assert.equal(r.exitCode, 3);
    const s = assertInvariant(out);
    assert.equal(s.abort?.code, 'INTERNAL');
    assert.ok(s.counts.success > 0, 'the requests in flight when the bug struck landed and are success');
    const stored = [...emu.state.phonebooks.values()].reduce((a, pb) => a + pb.size, 0);
    assert.equal(stored, s.counts.success, 'what the report calls loaded is what the target holds');
    const puts = emu.requests('PUT /phonebooks/:email/contacts').length;
    await new Promise((res) => setTimeout(res, 400));
    assert.equal(emu.requests('PUT /phonebooks/:email/contacts').length, puts, 'nothing is sent after the run returns');
  } finally {
    await emu.close();
  }
});

test('internalError: anything thrown becomes the INTERNAL abort, saying "internal error" once', () => {
  assert.equal(internalError(new TypeError('x is undefined')).message, 'internal error: x is undefined');
  assert.equal(internalError(new Error('internal error: dedupe results read twice')).message, 'internal error: dedupe results read twice');
  assert.equal(internalError('thrown text').message, 'internal error: thrown text');
  assert.equal(internalError(new Error('x')).code, 'INTERNAL');
  assert.equal(internalError(new Error('x')).kind, 'abort');
});
