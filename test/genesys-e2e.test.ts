/**
 * `contact-import run --target genesys` end to end: the built CLI as a child process,
 * configured through the environment to talk to the in-process emulator. Checks what
 * lands on the emulator, the exit code and the report.
 */
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startGenesysEmulator } from './emulators/genesys.js';
import { assertInvariant, readReportCsv, runCli, tempDir } from './helpers/cli.js';

const FIX = 'test/fixtures/genesys';
const tmp = tempDir('genesys-e2e-');
after(() => tmp.cleanup());

const run = (file: string, out: string, env: Record<string, string>, ...extra: string[]) =>
  runCli(['run', `${FIX}/${file}`, '--mapping', `${FIX}/contacts.yaml`, '--target', 'genesys', '--out', join(tmp.path, out),
    '--quiet', '--retry-base-ms', '5', ...extra], { env });

const LOADED = [
  { name: 'Ava Thompson', phoneNumber: '+14155552671' },
  { name: 'Liam Patel', phoneNumber: '+447911123456' },
  { name: 'Noah Williams', phoneNumber: '+61412345678' },
  { name: 'Sofia Garcia', phoneNumber: '+12125550143' },
];

describe('genesys end to end', () => {
  test('a load, the same file again (all unchanged, zero writes), then a changed file (update, create, merge, failures)', async () => {
    const emu = await startGenesysEmulator();
    try {
      const first = await run('contacts.csv', 'first', emu.env);
      assert.equal(first.code, 0, first.stderr);
      assert.deepEqual(emu.state.custom(), LOADED);
      const s1 = assertInvariant(join(tmp.path, 'first'));
      assert.deepEqual(s1.counts, { read: 4, success: 4, failed: 0, merged: 0, unchanged: 0 });
      assert.deepEqual(readReportCsv(join(tmp.path, 'first'), 'success.csv').length, 4);

      const writes = emu.state.writeRequests();
      const again = await run('contacts.csv', 'again', emu.env);
      assert.equal(again.code, 0, again.stderr);
      assert.equal(emu.state.writeRequests(), writes, 'the second run of the same file writes nothing');
      assert.deepEqual(assertInvariant(join(tmp.path, 'again')).counts, { read: 4, success: 0, failed: 0, merged: 0, unchanged: 4 });

      const changed = await run('contacts-changed.csv', 'changed', emu.env);
      assert.equal(changed.code, 1, changed.stderr);
      const s3 = assertInvariant(join(tmp.path, 'changed'));
      // Ava unchanged; Liam renamed (PUT); Jane's number is a User's (failed); "12" is no
      // number (failed before loading); New Person created; the second Ava row merged.
      assert.deepEqual(s3.counts, { read: 6, success: 2, failed: 2, merged: 1, unchanged: 1 });
      assert.deepEqual(emu.state.custom(), [
        { name: 'Ava Thompson', phoneNumber: '+14155552671' },
        { name: 'Liam P. Patel', phoneNumber: '+447911123456' },
        { name: 'New Person', phoneNumber: '+14155552700' },
        { name: 'Noah Williams', phoneNumber: '+61412345678' },
        { name: 'Sofia Garcia', phoneNumber: '+12125550143' },
      ]);
      assert.equal(emu.state.requests['PUT /contacts/{id}'], 1);
      const failed = readReportCsv(join(tmp.path, 'changed'), 'failed.csv');
      const duplicate = failed.find((f) => f._code === 'TARGET_DUPLICATE');
      assert.ok(duplicate, JSON.stringify(failed));
      // The original columns, unchanged, then the tool's own.
      assert.equal(duplicate.Name, 'Jane Impostor');
      assert.equal(duplicate.Phone, '(415) 555-0100');
      assert.equal(duplicate._row, '4');
      assert.match(duplicate._error, /User contact "Jane Agent"/);
      const bad = failed.find((f) => f.Name === 'Bad Number');
      assert.ok(bad && bad._code.startsWith('PHONE_'), JSON.stringify(failed));
    } finally {
      await emu.close();
    }
  });

  test('dry run: exit 0, nothing written, the plan in genesys-plan.csv', async () => {
    const emu = await startGenesysEmulator({ custom: [{ name: 'Ava Old', phoneNumber: '+14155552671' }] });
    try {
      const r = await run('contacts.csv', 'dry', emu.env, '--dry-run');
      assert.equal(r.code, 0, r.stderr);
      assert.equal(emu.state.writeRequests(), 0);
      assert.deepEqual(emu.state.custom(), [{ name: 'Ava Old', phoneNumber: '+14155552671' }]);
      const plan = readReportCsv(join(tmp.path, 'dry'), 'genesys-plan.csv');
      assert.deepEqual(plan.map((p) => `${p.action} ${p.name} ${p.previousName}`), [
        'update Ava Thompson Ava Old',
        'create Liam Patel ',
        'create Sofia Garcia ',
        'create Noah Williams ',
      ]);
      const s = assertInvariant(join(tmp.path, 'dry'));
      assert.deepEqual(s.counts, { read: 4, success: 4, failed: 0, merged: 0, unchanged: 0 });
    } finally {
      await emu.close();
    }
  });

  test('refused credentials exit 3 without printing the password; a missing variable exits 2 before any request', async () => {
    const emu = await startGenesysEmulator();
    try {
      const refused = await run('contacts.csv', 'refused', { ...emu.env, GENESYS_PASSWORD: 'not-the-password-42' });
      assert.equal(refused.code, 3, refused.stderr);
      assert.match(refused.stdout + refused.stderr, /AUTH_FAILED: .*answered 401.*GENESYS_USERNAME \/ GENESYS_PASSWORD/);
      assert.doesNotMatch(refused.stderr + refused.stdout, /not-the-password-42/);
      const summary = assertInvariant(join(tmp.path, 'refused'));
      assert.equal(summary.abort?.code, 'AUTH_FAILED');
      assert.doesNotMatch(readFileSync(join(tmp.path, 'refused', 'summary.json'), 'utf8'), /not-the-password-42/);
      assert.equal(emu.state.writeRequests(), 0);

      const requests = emu.state.log.length;
      const { GENESYS_API_URL: _unused, ...withoutUrl } = emu.env;
      const missing = await run('contacts.csv', 'missing', withoutUrl);
      assert.equal(missing.code, 2, missing.stderr);
      assert.match(missing.stderr, /GENESYS_API_URL/);
      assert.equal(emu.state.log.length, requests);
    } finally {
      await emu.close();
    }
  });
});
