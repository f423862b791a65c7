/**
 * The built CLI against the Samespace emulator, as a user runs it:
 *   contact-import run <file> --mapping <m.yaml> --target samespace --out <dir>
 * checking what Samespace stored, the exit code, summary.json and failed.csv.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SAMESPACE_TEST_API_KEY, startSamespaceEmulator, type SamespaceEmulator } from './emulators/samespace.js';
import { assertInvariant, readReportCsv, readSummary, ROOT, runCli, tempDir } from './helpers/cli.js';

const FIXTURES = join(ROOT, 'test', 'fixtures', 'samespace');
const INPUT = join(FIXTURES, 'missing-first-name-bad-number-and-repeated-phone.csv');
const MAPPING = join(FIXTURES, 'loyalty.yaml');

async function run(emu: SamespaceEmulator, extra: string[], env: Record<string, string> = emu.env) {
  const out = tempDir('samespace-e2e-');
  const res = await runCli(['run', INPUT, '--mapping', MAPPING, '--target', 'samespace', '--out', out.path, '--quiet', '--retry-base-ms', '5', ...extra], { env });
  return { ...res, dir: out.path, cleanup: out.cleanup };
}

describe('samespace end to end', () => {
  test('a run loads the valid rows, reports Samespace\'s failures and merges, and exits 1', async () => {
    const emu = await startSamespaceEmulator();
    const r = await run(emu, ['--batch-size', '2', '--create-missing-properties']);
    try {
      assert.equal(r.code, 1, r.stderr);
      assert.deepEqual(emu.contacts(), [
        {
          firstName: 'Ava', lastName: 'Thompson', email: 'ava.thompson@northwind.example', phoneNumber: '+14155552671',
          company: 'Northwind Traders', loyaltyTier: 'Gold', accountNumber: 1001,
        },
        {
          firstName: 'Liam', lastName: 'Patel', email: 'liam.patel@contoso.example', phoneNumber: '+447911123456',
          company: 'Contoso Ltd', loyaltyTier: 'Silver', accountNumber: 1002,
        },
        { firstName: 'Mia', lastName: 'Chen', email: 'mia.chen@example.com', phoneNumber: '+16505550199', accountNumber: 1006 },
      ]);
      // Five valid rows in chunks of two.
      assert.equal(emu.state.counts.uploads, 3);
      assert.deepEqual(readdirSync(join(r.dir, 'samespace')).sort(), ['chunk-0001.csv', 'chunk-0002.csv', 'chunk-0003.csv']);

      const s = assertInvariant(r.dir);
      assert.deepEqual(s.counts, { read: 6, success: 3, failed: 2, merged: 1, unchanged: 0 });
      assert.ok(s.notes.some((n) => n.includes('created Samespace property "loyaltyTier"')), JSON.stringify(s.notes));
      assert.ok(s.notes.some((n) => n.includes('created Samespace property "accountNumber" (label "Account Number", type NUMBER)')));

      const failed = readReportCsv(r.dir, 'failed.csv');
      assert.deepEqual(failed.map((f) => [f._row, f._stage, f._code, f['Last Name']]), [
        ['4', 'validate', 'REQUIRED_MISSING', 'Garcia'],
        ['5', 'load', 'TARGET_REJECTED', 'Williams'],
      ]);
      assert.match(failed[1]._error, /Samespace: Invalid "Account Number" input \(key: accountNumber\)/);
      // The original columns come back unchanged, so the file can be fixed and fed again.
      assert.equal(failed[1]['Account Number'], 'n/a');

      const report = ['summary.json', 'failed.csv', 'success.csv', 'merged.csv'].map((f) => readFileSync(join(r.dir, f), 'utf8')).join('\n');
      assert.ok(!report.includes(SAMESPACE_TEST_API_KEY) && !r.stderr.includes(SAMESPACE_TEST_API_KEY) && !r.stdout.includes(SAMESPACE_TEST_API_KEY));
    } finally {
      r.cleanup();
      await emu.close();
    }
  });

  test('under 503s, dropped connections and lost import answers every row still lands once', async () => {
    const emu = await startSamespaceEmulator({ seed: 3, faults: { rate503: 0.2, rateDrop: 0.15, rateImportAnswerLost: 0.3, retryAfterSec: 0 } });
    const r = await run(emu, ['--batch-size', '2', '--create-missing-properties', '--retries', '12']);
    try {
      assert.equal(r.code, 1, r.stderr);
      assert.deepEqual(emu.contacts().map((c) => c.firstName), ['Ava', 'Liam', 'Mia']);
      assert.equal(emu.state.store.importsApplied, 3);
      assert.deepEqual(readSummary(r.dir).counts, { read: 6, success: 3, failed: 2, merged: 1, unchanged: 0 });
    } finally {
      r.cleanup();
      await emu.close();
    }
  });

  test('properties the module lacks: exit 2 naming them and the available ones, nothing uploaded', async () => {
    const emu = await startSamespaceEmulator();
    const r = await run(emu, []);
    try {
      assert.equal(r.code, 2, r.stderr);
      assert.equal(emu.state.counts.uploads, 0);
      assert.deepEqual(emu.contacts(), []);
      assert.match(r.stderr, /TARGET_PROPERTY_MISSING: Samespace module "Contacts" has no properties "loyaltyTier" \(from fields\.custom\.loyaltyTier\), "accountNumber"/);
      assert.match(r.stderr, /Available properties: firstName \(First Name\), lastName \(Last Name\)/);
      assert.match(r.stderr, /--create-missing-properties/);
    } finally {
      r.cleanup();
      await emu.close();
    }
  });

  test('a wrong API key: exit 3 with the key hint, the key itself printed nowhere', async () => {
    const emu = await startSamespaceEmulator();
    const wrong = 'wrong-key-e2e-Qm4zR8';
    const r = await run(emu, ['--create-missing-properties'], { ...emu.env, SAMESPACE_API_KEY: wrong });
    try {
      assert.equal(r.code, 3, r.stderr);
      const s = readSummary(r.dir);
      assert.equal(s.abort?.code, 'AUTH_FAILED');
      assert.match(s.abort!.message, /SAMESPACE_API_KEY must be an API key of type Voice, created by an Admin/);
      const files = readdirSync(r.dir).map((f) => join(r.dir, f)).filter((p) => statSync(p).isFile());
      const everything = [r.stdout, r.stderr, ...files.map((p) => readFileSync(p, 'utf8'))].join('\n');
      assert.ok(!everything.includes(wrong));
      assert.equal(emu.state.counts.uploads, 0);
    } finally {
      r.cleanup();
      await emu.close();
    }
  });
});
