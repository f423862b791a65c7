/**
 * `watch` when the target, not the file, is at fault. An outage (TARGET_UNREACHABLE) leaves
 * the file in the inbox to run again after a wait, up to --outage-attempts runs, each run's
 * report in failed/<run-id>/; the run after the outage loads the file into processed/. The
 * Spoke emulator answers 503 to everything while it is "down" (its token endpoint too), so
 * each run stops on the first request. Refused credentials (AUTH_FAILED) leave the file in
 * the inbox and stop watch.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { nonEmptyPhonebooks, startSpokeEmulator, type SpokeEmulator } from './emulators/spoke.js';
import { BIN, ROOT, readSummary, runCli, tempDir } from './helpers/cli.js';

const CSV = join(ROOT, 'test/fixtures/spoke/owners-mixed-with-bad-rows.csv');
const MAPPING = join(ROOT, 'test/fixtures/spoke/owners-mixed-with-bad-rows.yaml');
const USERS = { users: ['maria@ourco.example', 'james@ourco.example', 'sales+west@ourco.example'], forbiddenUsers: ['frank@ourco.example'] };

const events = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
const folders = (dir: string) => (existsSync(dir) ? readdirSync(dir).sort() : []);

function inboxWithFile(root: string): string {
  const inbox = join(root, 'inbox');
  mkdirSync(inbox);
  copyFileSync(CSV, join(inbox, 'contacts.csv'));
  const old = new Date(Date.now() - 60_000);
  utimesSync(join(inbox, 'contacts.csv'), old, old);
  return inbox;
}

/** A temp folder with an inbox holding contacts.csv and a Spoke emulator, for one test. */
async function withSpokeInbox(fn: (x: { root: string; inbox: string; emu: SpokeEmulator }) => Promise<void>) {
  const t = tempDir();
  const emu = await startSpokeEmulator(USERS);
  try {
    await fn({ root: t.path, inbox: inboxWithFile(t.path), emu });
  } finally { await emu.close(); t.cleanup(); }
}

/** `watch` on the inbox into Spoke, each request tried once, JSON log lines; `more` adds options. */
const watchArgs = (root: string, inbox: string, ...more: string[]) => ['watch', inbox, '-m', MAPPING, '--target', 'spoke', '--settle', '0.1', '--retries', '0',
  '--state', join(root, 'state.db'), '--log-format', 'json', ...more];

function down(emu: SpokeEmulator) { emu.faults.rate503 = 1; emu.faults.scope = 'all'; }
function up(emu: SpokeEmulator) { emu.faults.rate503 = 0; }

const outagesOf = (inbox: string) => JSON.parse(readFileSync(join(inbox, '.work', 'outages.json'), 'utf8')) as Record<string, { runs: number; nextAt: number }>;
/** The clock moves on: the file's next run is due now (as it would be after --outage-wait). */
function makeDue(inbox: string) {
  const o = outagesOf(inbox);
  for (const k of Object.keys(o)) o[k].nextAt = Date.now() - 1;
  writeFileSync(join(inbox, '.work', 'outages.json'), JSON.stringify(o));
}

test('watch --once during an outage: the file stays in the inbox, each run\'s report goes to failed/, and the run after the outage loads it', async () => {
  await withSpokeInbox(async ({ root, inbox, emu }) => {
    const once = () => runCli(watchArgs(root, inbox, '--once'), { env: emu.env });
    down(emu);

    const r1 = await once();
    assert.equal(r1.code, 3, r1.stderr);
    assert.ok(existsSync(join(inbox, 'contacts.csv')), 'the file stays in the inbox');
    const [first] = folders(join(inbox, 'failed'));
    assert.ok(first, r1.stderr);
    assert.ok(!readdirSync(join(inbox, 'failed', first)).includes('contacts.csv'), 'the report goes to failed/ without the file');
    const s1 = readSummary(join(inbox, 'failed', first));
    assert.equal((s1.abort as { code: string }).code, 'TARGET_UNREACHABLE');
    const later = events(r1.stderr).find((e) => e.event === 'file.retry-later');
    assert.ok(later, r1.stderr);
    assert.equal(later.runs, 1);
    assert.match(String(later.msg), /left contacts\.csv in the inbox: TARGET_UNREACHABLE: .*run 2 of 3 is due at /);
    assert.equal(events(r1.stderr).at(-1)?.exitCode, 3, 'watch.stopped carries exit 3');
    assert.equal(outagesOf(inbox)['contacts.csv'].runs, 1);

    // Before the wait (300 s by default) is over, a cron run leaves the file alone and says so.
    const tokensBefore = emu.requests('POST /oauth/token').length;
    const r2 = await once();
    assert.equal(r2.code, 3, r2.stderr);
    assert.ok(events(r2.stderr).some((e) => e.event === 'file.retry-waiting'), r2.stderr);
    assert.ok(!events(r2.stderr).some((e) => e.event === 'file.picked'), 'not run again before its time');
    assert.equal(emu.requests('POST /oauth/token').length, tokensBefore);
    assert.equal(folders(join(inbox, 'failed')).length, 1);

    // Due and still down: a second report, the file still in the inbox.
    makeDue(inbox);
    const r3 = await once();
    assert.equal(r3.code, 3, r3.stderr);
    assert.equal(folders(join(inbox, 'failed')).length, 2);
    assert.ok(existsSync(join(inbox, 'contacts.csv')));
    assert.equal(outagesOf(inbox)['contacts.csv'].runs, 2);

    // Due and the target is back: the file loads and moves to processed/ with its report.
    makeDue(inbox);
    up(emu);
    const r4 = await once();
    assert.equal(r4.code, 1, r4.stderr); // the fixture has bad rows: exit 1, as `run` gives
    assert.ok(!existsSync(join(inbox, 'contacts.csv')));
    const [done] = folders(join(inbox, 'processed'));
    assert.ok(readdirSync(join(inbox, 'processed', done)).includes('contacts.csv'));
    const s4 = readSummary(join(inbox, 'processed', done));
    assert.equal(s4.status, 'completed');
    assert.ok(s4.counts.success > 0);
    assert.equal(nonEmptyPhonebooks(emu.state).size > 0, true, 'the contacts reached Spoke');
    assert.equal(existsSync(join(inbox, '.work', 'outages.json')), false, 'nothing left to retry');
    assert.deepEqual(readdirSync(join(inbox, '.work')), []);
  });
});

test('the last run --outage-attempts allows moves the file to failed/ with its report, as any aborted run', async () => {
  await withSpokeInbox(async ({ root, inbox, emu }) => {
    const once = () => runCli(watchArgs(root, inbox, '--once', '--outage-attempts', '2'), { env: emu.env });
    down(emu);
    assert.equal((await once()).code, 3);
    assert.ok(existsSync(join(inbox, 'contacts.csv')));
    makeDue(inbox);
    const r2 = await once();
    assert.equal(r2.code, 3, r2.stderr);
    assert.ok(!existsSync(join(inbox, 'contacts.csv')), 'out of the inbox');
    const withInput = folders(join(inbox, 'failed')).filter((d) => readdirSync(join(inbox, 'failed', d)).includes('contacts.csv'));
    assert.equal(withInput.length, 1);
    const failed = events(r2.stderr).find((e) => e.event === 'file.failed');
    assert.match(String(failed?.msg), /TARGET_UNREACHABLE: .*run 2 of 2 after an outage, the last/);
    assert.equal(existsSync(join(inbox, '.work', 'outages.json')), false);

    // --outage-attempts 1: straight to failed/, as before there were outage retries.
    copyFileSync(CSV, join(inbox, 'again.csv'));
    const r3 = await runCli(watchArgs(root, inbox, '--once', '--outage-attempts', '1'), { env: emu.env });
    assert.equal(r3.code, 3, r3.stderr);
    assert.ok(!existsSync(join(inbox, 'again.csv')));

    // A file taken out of the inbox by hand while it waits is forgotten.
    copyFileSync(CSV, join(inbox, 'gone.csv'));
    assert.equal((await once()).code, 3);
    assert.equal(outagesOf(inbox)['gone.csv'].runs, 1);
    rmSync(join(inbox, 'gone.csv'));
    const r4 = await once();
    assert.equal(r4.code, 0, r4.stderr);
    assert.equal(existsSync(join(inbox, '.work', 'outages.json')), false);

    const bad = await runCli(['watch', inbox, '-m', MAPPING, '--once', '--outage-attempts', '0']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--outage-attempts must be a whole number of runs, 1 or more, got 0/);
  });
});

test('a watcher that keeps running loads the file on its own once the target is back', async () => {
  await withSpokeInbox(async ({ root, inbox, emu }) => {
    down(emu);
    const w = spawn(process.execPath, [BIN, ...watchArgs(root, inbox, '--interval', '0.2', '--outage-wait', '0.5')],
      { cwd: ROOT, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...emu.env } });
    let err = '';
    let ended = false;
    w.stderr.on('data', (d) => { err += d; });
    w.on('close', () => { ended = true; });
    const seen = async (event: string) => {
      const until = Date.now() + 60_000;
      while (!events(err).some((e) => e.event === event)) {
        if (ended) throw new Error(`watch ended before ${event}: ${err}`);
        if (Date.now() > until) { w.kill('SIGKILL'); throw new Error(`no ${event} within 60 s: ${err}`); }
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    const exited = new Promise<number | null>((res) => w.on('close', (c) => res(c)));
    await seen('file.retry-later');
    up(emu);
    await seen('file.processed');
    w.kill('SIGTERM');
    assert.equal(await exited, 0, err);
    const [done] = folders(join(inbox, 'processed'));
    assert.ok(readdirSync(join(inbox, 'processed', done)).includes('contacts.csv'));
    assert.equal(folders(join(inbox, 'failed')).length, 1, 'the outage run\'s report');
    const order = events(err).map((e) => e.event).filter((e) => String(e).startsWith('file.'));
    assert.deepEqual(order.filter((e) => e !== 'file.retry-waiting'), ['file.picked', 'file.retry-later', 'file.picked', 'file.processed']);
  });
});

test('credentials the target refuses: the files stay in the inbox and watch stops with exit 3, in --once and when it keeps running', async () => {
  await withSpokeInbox(async ({ root, inbox, emu }) => {
    copyFileSync(CSV, join(inbox, 'second.csv'));
    const env = { ...emu.env, SPOKE_CLIENT_SECRET: 'not-the-secret' };
    for (const mode of [['--once'], ['--interval', '0.2']]) {
      const before = folders(join(inbox, 'failed')).length;
      const r = await runCli(watchArgs(root, inbox, ...mode), { env, timeoutMs: 60_000 });
      assert.equal(r.code, 3, r.stderr);
      assert.deepEqual(readdirSync(inbox).filter((n) => n.endsWith('.csv')).sort(), ['contacts.csv', 'second.csv'], 'no file leaves the inbox');
      const picked = events(r.stderr).filter((e) => e.event === 'file.picked');
      assert.equal(picked.length, 1, 'watch stops after the first refusal: the next file is not sent the same credentials');
      const deferred = events(r.stderr).find((e) => e.event === 'file.deferred');
      assert.match(String(deferred?.msg), /left contacts\.csv in the inbox and stopped watching: AUTH_FAILED: .*SPOKE_CLIENT_SECRET.*Then start watch again/);
      assert.ok(!String(deferred?.msg).includes('not-the-secret'), 'the secret is not logged');
      assert.equal(events(r.stderr).at(-1)?.event, 'watch.stopped');
      assert.equal(folders(join(inbox, 'failed')).length, before + 1, 'the refused run\'s report, without the file');
    }
    assert.equal(emu.requests('PUT /phonebooks/:email/contacts').length, 0);
  });
});
