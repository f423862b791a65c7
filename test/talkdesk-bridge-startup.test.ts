/**
 * What `contact-import bridge` says and refuses when it starts and stops: a store path
 * that names no file (a typo would otherwise serve Talkdesk an empty store), a store
 * with no Talkdesk contacts, where it listens (said once), and what SIGTERM does.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, tempDir } from './helpers/cli.js';
import { startBridgeCli, type RunningBridge } from './helpers/bridge-cli.js';
import { startBridge } from '../pipeline/bridge/server.js';
import { ImportError } from '../pipeline/errors.js';
import { openStore } from '../pipeline/state/store.js';
import { TALKDESK_SCHEMA, TalkdeskStore } from '../pipeline/state/talkdesk.js';

const AUTH = { username: 'talkdesk-sync', password: 'startup-bridge-password-51c0' };
const ENV = { TALKDESK_BRIDGE_USERNAME: AUTH.username, TALKDESK_BRIDGE_PASSWORD: AUTH.password };

/** A store file as `run --target talkdesk` leaves it, with these contacts. */
function makeStore(path: string, n: number): void {
  const db = openStore({ path, schemas: [TALKDESK_SCHEMA] });
  try {
    new TalkdeskStore(db).upsertBatch(Array.from({ length: n }, (_, i) => ({ id: `T-${i}`, name: `Contact ${i}` })));
  } finally { db.close(); }
}

describe('bridge: a store path that names no file', () => {
  test('--state with a typo: exit 2, STATE_NOT_FOUND naming the path, how it was chosen and the run that fills it; nothing created', async () => {
    const tmp = tempDir('bridge-startup-');
    try {
      const missing = join(tmp.path, 'nonexist', 'x.db');
      const r = await runCli(['bridge', '--port', '0', '--state', missing], { env: ENV });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /error: STATE_NOT_FOUND: no state store at /);
      assert.ok(r.stderr.includes(missing), r.stderr);
      assert.match(r.stderr, /from --state/);
      assert.match(r.stderr, /contact-import run <file> --mapping <m> --target talkdesk/);
      assert.match(r.stderr, /hint: .*CONTACT_IMPORT_STATE.*\.contact-import\/state\.db/);
      assert.doesNotMatch(r.stderr + r.stdout, /listening/);
      assert.ok(!existsSync(join(tmp.path, 'nonexist')), 'neither the store nor its folder is created');
    } finally { tmp.cleanup(); }
  });

  test('from CONTACT_IMPORT_STATE, and the default path: the message says which', async () => {
    const tmp = tempDir('bridge-startup-');
    try {
      const missing = join(tmp.path, 'env.db');
      const r = await runCli(['bridge', '--port', '0'], { env: { ...ENV, CONTACT_IMPORT_STATE: missing } });
      assert.equal(r.code, 2, r.stderr);
      assert.ok(r.stderr.includes(missing), r.stderr);
      assert.match(r.stderr, /from CONTACT_IMPORT_STATE/);
      assert.ok(!existsSync(missing));

      const d = await runCli(['bridge', '--port', '0'], { env: { ...ENV, CONTACT_IMPORT_STATE: '' }, cwd: tmp.path });
      assert.equal(d.code, 2, d.stderr);
      assert.ok(d.stderr.includes(join(tmp.path, '.contact-import', 'state.db')), d.stderr);
      assert.match(d.stderr, /the default \.contact-import\/state\.db/);
      assert.ok(!existsSync(join(tmp.path, '.contact-import')), 'the default folder is not created');
    } finally { tmp.cleanup(); }
  });

  test('startBridge itself refuses a missing file and creates nothing', async () => {
    const tmp = tempDir('bridge-startup-');
    try {
      const missing = join(tmp.path, 'sub', 'state.db');
      await assert.rejects(startBridge({ statePath: missing, ...AUTH, port: 0 }),
        (e: unknown) => e instanceof ImportError && e.code === 'STATE_NOT_FOUND' && e.kind === 'usage' && e.message.includes(missing));
      assert.ok(!existsSync(join(tmp.path, 'sub')));
    } finally { tmp.cleanup(); }
  });
});

/**
 * A bridge on a fresh store of `contacts` contacts, stopped with SIGTERM after `during`;
 * `after` reads what it logged once it exited 0. Killed if a check fails on the way.
 */
async function withBridge(contacts: number, args: string[], during: (b: RunningBridge) => Promise<void>, after: (b: RunningBridge) => void) {
  const tmp = tempDir('bridge-startup-');
  let b: RunningBridge | undefined;
  try {
    const state = join(tmp.path, contacts ? 'state.db' : 'empty.db');
    makeStore(state, contacts);
    b = await startBridgeCli(['--state', state, ...args], { env: ENV });
    await during(b);
    b.child.kill('SIGTERM');
    assert.equal(await b.exit, 0, b.stderr());
    const done = b;
    b = undefined;
    after(done);
  } finally {
    b?.child.kill('SIGKILL');
    tmp.cleanup();
  }
}

describe('bridge: starting and stopping', () => {
  test('a store with no Talkdesk contacts: it starts, and warns on stderr that it serves zero contacts', async () => {
    await withBridge(0, [], async (b) => {
      assert.match(b.stderr(), /warn: the state store .*empty\.db holds no Talkdesk contacts: the bridge serves zero contacts until `contact-import run <file> --mapping <m> --target talkdesk --state /);
      const res = await fetch(b.url, { method: 'POST', body: JSON.stringify({ auth: AUTH, meta: {} }) });
      assert.deepEqual((await res.json() as { contacts: unknown[] }).contacts, []);
    }, () => {});
  });

  test('says once, in its log on stderr, where it listens and how many contacts it serves; nothing on stdout', async () => {
    await withBridge(3, ['--path', '/const_sync'], async () => {}, (b) => {
      assert.equal(b.stdout(), '');
      assert.equal(b.stderr().match(/listening/g)?.length, 1, b.stderr());
      assert.match(b.stderr(), /bridge listening on http:\/\/127\.0\.0\.1:\d+\/const_sync \(state .*state\.db: 3 contacts, 1000 per page\)/);
      assert.doesNotMatch(b.stderr(), /holds no Talkdesk contacts/);
    });
  });

  test('--log-format json: the listening event carries the url and the count', async () => {
    await withBridge(2, ['--log-format', 'json'], async () => {}, (b) => {
      const events = b.stderr().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
      const listening = events.filter((e) => e.event === 'bridge.listening');
      assert.equal(listening.length, 1);
      assert.equal(listening[0].contacts, 2);
      assert.match(String(listening[0].url), /^http:\/\/127\.0\.0\.1:\d+\/$/);
    });
  });

  test('SIGTERM: the bridge says it stops accepting and finishes the requests in flight, not run\'s batch and report', async () => {
    await withBridge(1, [], async () => {}, (b) => {
      assert.match(b.stderr(), /no longer accepting requests, finishing the ones in flight/);
      assert.match(b.stderr(), /bridge stopped/);
      assert.doesNotMatch(b.stderr(), /batch|report/, b.stderr());
    });
  });
});
