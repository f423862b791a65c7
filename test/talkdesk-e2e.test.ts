/**
 * The built CLI as a user runs it: `run --target talkdesk --state <file>` fills the
 * store, `contact-import bridge` serves it to the synchronizer, SIGTERM stops it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, assertInvariant, readReportCsv, runCli, tempDir } from './helpers/cli.js';
import { startBridgeCli, type RunningBridge } from './helpers/bridge-cli.js';
import { TalkdeskSynchronizer } from './helpers/talkdesk-sync.js';

const CSV = join(ROOT, 'samples/clean.csv');
const MAPPING = join(ROOT, 'mappings/clean.yaml');
const AUTH = { username: 'talkdesk-sync', password: 'e2e-bridge-password-9f3a' };
const ENV = { TALKDESK_BRIDGE_USERNAME: AUTH.username, TALKDESK_BRIDGE_PASSWORD: AUTH.password };

test('run --target talkdesk, then the bridge serves the store; a changed file syncs only what changed', async () => {
  const tmp = tempDir('talkdesk-e2e-');
  const state = join(tmp.path, 'state', 'contacts.db');
  let bridge: RunningBridge | undefined;
  try {
    const r1 = await runCli(['run', CSV, '-m', MAPPING, '--target', 'talkdesk', '--state', state, '--out', join(tmp.path, 'r1'), '--quiet']);
    assert.equal(r1.code, 0, r1.stderr);
    const s1 = assertInvariant(join(tmp.path, 'r1'));
    assert.ok(s1.counts.success > 10);
    assert.deepEqual(s1.targetActions, { created: s1.counts.success });
    const loaded = readReportCsv(join(tmp.path, 'r1'), 'success.csv');

    // The same file again is skipped: the store says this target loaded it.
    const again = await runCli(['run', CSV, '-m', MAPPING, '--target', 'talkdesk', '--state', state, '--out', join(tmp.path, 'r1b'), '--quiet']);
    assert.equal(again.code, 0, again.stderr);
    const sAgain = assertInvariant(join(tmp.path, 'r1b'));
    assert.equal(sAgain.status, 'skipped');
    assert.equal(sAgain.counts.read, 0);
    assert.match(again.stdout, /already loaded into talkdesk/);

    // Forced: read again, and every contact is unchanged (same content hash).
    const r2 = await runCli(['run', CSV, '-m', MAPPING, '--target', 'talkdesk', '--state', state, '--out', join(tmp.path, 'r2'), '--quiet', '--force']);
    assert.equal(r2.code, 0, r2.stderr);
    const s2 = assertInvariant(join(tmp.path, 'r2'));
    assert.equal(s2.counts.unchanged, s1.counts.success + s1.counts.unchanged);
    assert.equal(s2.counts.success, 0);

    bridge = await startBridgeCli(['--state', state, '--page-size', '4', '--path', '/const_sync'], { env: ENV });
    assert.match(bridge.url, /\/const_sync$/);
    const client = new TalkdeskSynchronizer(bridge.url, AUTH);
    const first = await client.sync();
    assert.ok(first.pages.length > 1);
    assert.equal(first.contacts.length, loaded.length);
    assert.deepEqual(new Set(first.contacts.map((c) => c.id)), new Set(loaded.map((l) => Object.values(l).find((v) => /^C-\d+$/.test(v)))));
    const ava = first.contacts.find((c) => c.id === 'C-1001')!;
    assert.deepEqual(ava, {
      id: 'C-1001', name: 'Ava Thompson', company: 'Northwind Traders', title: 'Account Manager',
      emails: ['ava.thompson@northwind.example'], phones: ['+14155552671', '+14155550100'],
    });

    // One contact's company changes in the next file; the bridge keeps running meanwhile.
    const csv = readFileSync(CSV, 'utf8');
    assert.ok(csv.includes('Northwind Traders'));
    const changed = join(tmp.path, 'changed.csv');
    writeFileSync(changed, csv.replace('C-1001,Ava,Thompson,Northwind Traders', 'C-1001,Ava,Thompson,Northwind Holdings'));
    const r3 = await runCli(['run', changed, '-m', MAPPING, '--target', 'talkdesk', '--out', join(tmp.path, 'r3'), '--quiet'],
      { env: { CONTACT_IMPORT_STATE: state } });
    assert.equal(r3.code, 0, r3.stderr);
    const s3 = assertInvariant(join(tmp.path, 'r3'));
    assert.deepEqual(s3.targetActions, { updated: 1, unchanged: s3.counts.unchanged });

    const inc = await client.sync();
    assert.deepEqual(inc.contacts, [{ ...ava, company: 'Northwind Holdings' }]);

    bridge.child.kill('SIGTERM');
    assert.equal(await bridge.exit, 0, bridge.stderr());
    assert.ok(!bridge.stderr().includes(AUTH.password), 'the password never reaches the log');
    bridge = undefined;
  } finally {
    bridge?.child.kill('SIGKILL');
    tmp.cleanup();
  }
});

test('bridge without credentials in the environment: exit 2 naming the variable', async () => {
  const tmp = tempDir('talkdesk-e2e-');
  try {
    const r = await runCli(['bridge', '--port', '0', '--state', join(tmp.path, 's.db')], { env: { TALKDESK_BRIDGE_USERNAME: 'x' } });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /CONFIG_MISSING: TALKDESK_BRIDGE_PASSWORD is not set/);
    const bad = await runCli(['bridge', '--port', '0', '--page-size', '0', '--state', join(tmp.path, 's.db')], { env: ENV });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--page-size/);
    assert.ok(!bad.stderr.includes(ENV.TALKDESK_BRIDGE_PASSWORD));
  } finally { tmp.cleanup(); }
});

test('a state file that is not a store: exit 2 with STATE_UNUSABLE, for run and for bridge', async () => {
  const tmp = tempDir('talkdesk-e2e-');
  try {
    const notDb = join(tmp.path, 'state.db');
    writeFileSync(notDb, 'not a database '.repeat(200));
    const r = await runCli(['run', CSV, '-m', MAPPING, '--target', 'talkdesk', '--state', notDb, '--out', join(tmp.path, 'r'), '--quiet']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /STATE_UNUSABLE/);
    const b = await runCli(['bridge', '--port', '0', '--state', notDb], { env: ENV });
    assert.equal(b.code, 2, b.stderr);
    assert.match(b.stderr, /STATE_UNUSABLE/);
  } finally { tmp.cleanup(); }
});

test('--dry-run --target talkdesk says what would be created and writes no state file', async () => {
  const tmp = tempDir('talkdesk-e2e-');
  try {
    const state = join(tmp.path, 'never.db');
    const r = await runCli(['run', CSV, '-m', MAPPING, '--target', 'talkdesk', '--dry-run', '--state', state, '--out', join(tmp.path, 'r'), '--quiet']);
    assert.equal(r.code, 0, r.stderr);
    const s = assertInvariant(join(tmp.path, 'r'));
    assert.deepEqual(s.targetActions, { 'would-create': s.counts.success }, 'a dry run creates nothing: it says what would be');
    assert.match(r.stdout, /would load +\d+/);
    assert.ok(!existsSync(state), 'a dry run creates no store');
  } finally { tmp.cleanup(); }
});
