/**
 * The built CLI loading into the Spoke emulator, as a user runs it: exit codes, the
 * phonebooks it leaves, summary.json and failed.csv with the original columns.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { SPOKE_TEST_CLIENT_SECRET, nonEmptyPhonebooks, startSpokeEmulator, type SpokeEmulatorOptions } from './emulators/spoke.js';
import { ROOT, assertInvariant, readReportCsv, readSummary, runCli, tempDir } from './helpers/cli.js';

const CSV = join(ROOT, 'test/fixtures/spoke/owners-mixed-with-bad-rows.csv');
const MAPPING = join(ROOT, 'test/fixtures/spoke/owners-mixed-with-bad-rows.yaml');
const USERS = { users: ['maria@ourco.example', 'james@ourco.example', 'sales+west@ourco.example'], forbiddenUsers: ['frank@ourco.example'] };

const sc = (id: string, name: string, company: string, phone: string, email?: string) =>
  [id, { id, name, company, phone, ...(email ? { email } : {}), managedBy: 'system' }] as const;

/** What the fixture's good rows must leave in Spoke. */
const EXPECTED = new Map([
  ['maria@ourco.example', new Map([
    sc('S-1', 'Ava Thompson', 'Northwind', '+14155552671', 'ava@northwind.example'),
    sc('S-2', 'Liam Patel', 'Contoso', '+442079460958', 'liam@contoso.example'),
    sc('S-11', 'Ethan Hall', 'Northwind', '+14155550155', 'ethan@northwind.example'),
  ])],
  ['james@ourco.example', new Map([
    sc('S-3', 'Sofia Garcia', 'Fabrikam', '+12125550143'),
    sc('S-4', 'Noah Williams', 'Tailspin', '+61293744000', 'noah@tailspin.example'),
  ])],
  ['sales+west@ourco.example', new Map([
    sc('S-9', 'Lucas "Luke" Martin', 'Woodgrove', '+14155550123', 'lucas@woodgrove.example'),
  ])],
]);

async function run(emuOpts: SpokeEmulatorOptions, args: string[] = [], env: Record<string, string | undefined> = {}) {
  const emu = await startSpokeEmulator(emuOpts);
  const out = tempDir('spoke-e2e-');
  const fullEnv = { ...emu.env, ...env };
  for (const [k, v] of Object.entries(fullEnv)) if (v === undefined) delete fullEnv[k];
  const res = await runCli(['run', CSV, '--mapping', MAPPING, '--target', 'spoke', '--out', out.path, '--quiet', ...args],
    { env: fullEnv as Record<string, string> });
  return { emu, out, res };
}

describe('spoke end to end (built CLI)', () => {
  test('mixed file: good rows land in the right phonebooks, bad rows are reported with their reason, exit 1', async () => {
    const { emu, out, res } = await run(USERS, ['--batch-size', '2', '--concurrency', '2']);
    try {
      assert.equal(res.code, 1, res.stderr);
      assert.deepEqual(nonEmptyPhonebooks(emu.state), EXPECTED);
      const s = assertInvariant(out.path);
      assert.deepEqual(s.counts, { read: 11, success: 6, failed: 5, merged: 0, unchanged: 0 });

      const failed = readReportCsv(out.path, 'failed.csv');
      const byId = new Map(failed.map((f) => [f['External ID'], f]));
      assert.deepEqual([...byId.keys()].sort(), ['S-10', 'S-5', 'S-6', 'S-7', 'S-8']);
      // The original columns come back unchanged, so the file can be fixed and fed again.
      const columns = Object.keys(failed[0]);
      assert.deepEqual(columns.slice(0, 6), ['External ID', 'Full Name', 'Company', 'Phone', 'Email', 'Owner']);
      for (const extra of ['_row', '_stage', '_code', '_error']) assert.ok(columns.includes(extra), `failed.csv has ${extra}`);
      assert.ok(columns.slice(6).every((c) => c.startsWith('_')), 'only underscore columns are added');
      assert.equal(byId.get('S-5')!.Owner, 'ghost@ourco.example');
      assert.equal(byId.get('S-5')!._code, 'OWNER_NOT_FOUND');
      assert.equal(byId.get('S-5')!._row, '6');
      assert.equal(byId.get('S-10')!._code, 'OWNER_FORBIDDEN');
      assert.equal(byId.get('S-6')!._code, 'TARGET_REJECTED');
      assert.match(byId.get('S-6')!._error, /answered 400: .*id "S-6"/);
      assert.match(byId.get('S-7')!._code, /^PHONE_/);
      assert.notEqual(byId.get('S-7')!._stage, 'load');
      assert.equal(byId.get('S-8')!._code, 'REQUIRED_MISSING');
      assert.ok(emu.requests('PUT /phonebooks/:email/contacts').every((r) => !r.ids!.includes('S-7') && !r.ids!.includes('S-8')),
        'rows that failed before the load are never sent');
      assert.deepEqual(emu.requests('PUT /phonebooks/:email/contacts', 'sales+west@ourco.example').map((r) => r.rawPath),
        ['/phonebooks/sales%2Bwest%40ourco.example/contacts']);
    } finally {
      out.cleanup();
      await emu.close();
    }
  });

  test('with 20% of requests failing (503 and dropped connections) the result is the same', async () => {
    const { emu, out, res } = await run({ ...USERS, seed: 11, faults: { rate503: 0.1, rateDrop: 0.1 } },
      ['--batch-size', '1', '--concurrency', '3', '--retries', '12', '--retry-base-ms', '5']);
    try {
      assert.equal(res.code, 1, res.stderr);
      assert.deepEqual(nonEmptyPhonebooks(emu.state), EXPECTED);
      assert.deepEqual(assertInvariant(out.path).counts, { read: 11, success: 6, failed: 5, merged: 0, unchanged: 0 });
      assert.ok((emu.state.counts.byStatus['503'] ?? 0) + emu.state.counts.dropped > 0, 'faults happened');
      assert.ok(emu.state.maxInFlight <= 3);
    } finally {
      out.cleanup();
      await emu.close();
    }
  });

  test('wrong client secret: exit 3, nothing sent, the message names the variables and not the secret', async () => {
    const wrong = 'not-the-right-secret-123';
    const { emu, out, res } = await run(USERS, [], { SPOKE_CLIENT_SECRET: wrong });
    try {
      assert.equal(res.code, 3, res.stderr);
      const summary = readSummary(out.path);
      assert.equal(summary.abort?.code, 'AUTH_FAILED');
      assert.match(summary.abort!.message, /check SPOKE_CLIENT_ID \/ SPOKE_CLIENT_SECRET/);
      assert.match(res.stdout + res.stderr, /AUTH_FAILED.*SPOKE_CLIENT_SECRET/);
      const all = res.stdout + res.stderr + JSON.stringify(summary);
      assert.ok(!all.includes(wrong) && !all.includes(SPOKE_TEST_CLIENT_SECRET), 'no secret in output or report');
      assert.equal(emu.requests('PUT /phonebooks/:email/contacts').length, 0);
    } finally {
      out.cleanup();
      await emu.close();
    }
  });

  test('missing SPOKE_CLIENT_ID: exit 2, the variable is named', async () => {
    const { emu, out, res } = await run(USERS, [], { SPOKE_CLIENT_ID: undefined });
    try {
      assert.equal(res.code, 2, res.stderr);
      assert.match(res.stderr, /CONFIG_MISSING: SPOKE_CLIENT_ID is not set/);
      assert.equal(emu.state.counts.requests, 0);
    } finally {
      out.cleanup();
      await emu.close();
    }
  });

  test('both SPOKE_CLIENT_ID and SPOKE_CLIENT_SECRET missing: both named in one error', async () => {
    const { emu, out, res } = await run(USERS, [], { SPOKE_CLIENT_ID: undefined, SPOKE_CLIENT_SECRET: undefined });
    try {
      assert.equal(res.code, 2, res.stderr);
      assert.match(res.stderr, /CONFIG_MISSING: SPOKE_CLIENT_ID and SPOKE_CLIENT_SECRET are not set/);
      assert.equal(emu.state.counts.requests, 0);
    } finally {
      out.cleanup();
      await emu.close();
    }
  });

  test('--dry-run gets a token and sends nothing', async () => {
    const { emu, out, res } = await run(USERS, ['--dry-run']);
    try {
      assert.ok(res.code === 0 || res.code === 1, res.stderr);
      assert.deepEqual(emu.state.counts.byRoute, { 'POST /oauth/token': 1 });
      assert.equal(emu.state.phonebooks.size, 0);
      const s = assertInvariant(out.path);
      // Only the rows the pipeline itself rejects fail; the target was not asked.
      assert.equal(s.counts.failed, 2);
    } finally {
      out.cleanup();
      await emu.close();
    }
  });
});
