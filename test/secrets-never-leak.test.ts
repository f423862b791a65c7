/**
 * Secrets never leak: every command runs with sentinel credentials in the environment,
 * every loader is made to fail (credentials refused, 5xx until retries run out, target
 * unreachable), with --verbose and JSON logs on, and no sentinel may appear in stdout,
 * stderr or any file of the report folder: not as written, not URL-encoded, not inside
 * a Basic auth header's base64.
 */
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { closedPort } from './helpers/closed-port.js';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { startSpokeEmulator } from './emulators/spoke.js';
import { startSamespaceEmulator } from './emulators/samespace.js';
import { startGenesysEmulator } from './emulators/genesys.js';
import { runCli, tempDir, type CliResult } from './helpers/cli.js';
import { startBridgeCli } from './helpers/bridge-cli.js';
import { openStore } from '../pipeline/state/store.js';
import { TALKDESK_SCHEMA } from '../pipeline/state/talkdesk.js';

// Characters that URL and form encoding change, so an encoded leak is a different string.
const SENTINEL = {
  SPOKE_CLIENT_ID: 'sentinel-spoke-id+7Q/e=',
  SPOKE_CLIENT_SECRET: 'sentinel-spoke-secret+9x/Z=',
  SAMESPACE_API_KEY: 'sentinel-samespace-key+3k/W=',
  GENESYS_PASSWORD: 'sentinel-genesys-pass+5m/Y=',
  TALKDESK_BRIDGE_PASSWORD: 'sentinel-talkdesk-pass+2p/V=',
} as const;
const USERNAMES = { GENESYS_USERNAME: 'sentinel-gws-user', TALKDESK_BRIDGE_USERNAME: 'sentinel-td-user' };

/** Every form a secret could take on the wire or in a log. */
const FORMS: [string, string][] = Object.entries(SENTINEL).flatMap(([name, v]) => [
  [name, v], [`${name} (URL-encoded)`, encodeURIComponent(v)], [`${name} (form-encoded)`, new URLSearchParams({ v }).toString().slice(2)],
  [`${name} (base64 alone)`, Buffer.from(v).toString('base64')],
]);
FORMS.push(['GENESYS Basic auth', Buffer.from(`${USERNAMES.GENESYS_USERNAME}:${SENTINEL.GENESYS_PASSWORD}`).toString('base64')]);
FORMS.push(['SPOKE Basic auth', Buffer.from(`${SENTINEL.SPOKE_CLIENT_ID}:${SENTINEL.SPOKE_CLIENT_SECRET}`).toString('base64')]);
FORMS.push(['SPOKE Basic auth (form-encoded parts)', Buffer.from(`${encodeURIComponent(SENTINEL.SPOKE_CLIENT_ID)}:${encodeURIComponent(SENTINEL.SPOKE_CLIENT_SECRET)}`).toString('base64')]);

const tmp = tempDir('secrets-never-leak-');
after(() => tmp.cleanup());

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

function assertNoLeak(what: string, res: CliResult, out?: string) {
  assert.notEqual(res.code, -1, `${what}: killed by the hang guard`);
  const places: [string, Buffer][] = [['stdout', Buffer.from(res.stdout)], ['stderr', Buffer.from(res.stderr)]];
  for (const f of out ? filesUnder(out) : []) places.push([f, readFileSync(f)]);
  for (const [where, bytes] of places) {
    for (const [name, form] of FORMS) assert.ok(!bytes.includes(form), `${what}: ${name} appears in ${where}`);
  }
  return places.length;
}

// The talkdesk run keeps its store here, to be searched for the sentinels. Every other run
// gets a store of its own (runCli's default): a shared one would remember a file loaded into an
// emulator and skip it when a later emulator happens to listen on the same port.
const STATE = join(tmp.path, 'state.db');
const ALL_ENV = { ...SENTINEL, ...USERNAMES, CONTACT_IMPORT_DEBUG: undefined };
const LOUD = ['--verbose', '--log-format', 'json', '--retries', '3', '--retry-base-ms', '1'];
let outN = 0;

async function cli(what: string, args: string[], env: Record<string, string | undefined>, expected: number[]) {
  const out = join(tmp.path, `out-${++outN}`);
  const full = Object.fromEntries(Object.entries({ ...ALL_ENV, ...env }).filter(([, v]) => v !== undefined)) as Record<string, string>;
  const res = await runCli([...args, '--out', out], { env: full, timeoutMs: 90_000 });
  assert.ok(expected.includes(res.code), `${what}: exit ${res.code}, expected ${expected.join(' or ')}\n${res.stderr}`);
  assertNoLeak(what, res, out);
  return res;
}

const SPOKE = ['test/fixtures/spoke/owners-mixed-with-bad-rows.csv', '--mapping', 'test/fixtures/spoke/owners-mixed-with-bad-rows.yaml', '--target', 'spoke'];
const SAMESPACE = ['test/fixtures/samespace/missing-first-name-bad-number-and-repeated-phone.csv', '--mapping', 'test/fixtures/samespace/loyalty.yaml',
  '--target', 'samespace', '--create-missing-properties'];
const GENESYS = ['test/fixtures/genesys/contacts.csv', '--mapping', 'test/fixtures/genesys/contacts.yaml', '--target', 'genesys'];
const FIVE_HUNDREDS = Array.from({ length: 200 }, () => ({ status: 500 }));

describe('sentinel credentials never appear in output or reports', () => {
  test('--help, and --help of every command the top-level help lists', async () => {
    const top = await runCli(['--help'], { env: { ...SENTINEL, ...USERNAMES } });
    assert.equal(top.code, 0, top.stderr);
    assertNoLeak('--help', top);
    const commands = [...top.stdout.matchAll(/^\s+contact-import (\w+)/gm)].map((m) => m[1]);
    assert.ok(commands.includes('check') && commands.includes('run'), top.stdout);
    for (const c of commands) {
      const res = await runCli([c, '--help'], { env: { ...SENTINEL, ...USERNAMES } });
      assert.equal(res.code, 0, res.stderr);
      assertNoLeak(`${c} --help`, res);
    }
  });

  test('init drafts a mapping without writing any credential into it', async () => {
    const draft = join(tmp.path, 'draft', 'clean.yaml');
    const env = Object.fromEntries(Object.entries(ALL_ENV).filter(([, v]) => v !== undefined)) as Record<string, string>;
    const res = await runCli(['init', 'samples/clean.csv', '--out', draft, '--target', 'spoke'], { env, timeoutMs: 60_000 });
    assert.ok([0, 1].includes(res.code), res.stderr);
    assertNoLeak('init', res, join(tmp.path, 'draft'));
  });

  test('bridge: refused and accepted requests, verbose JSON logs, stopped with SIGTERM', async () => {
    const env = Object.fromEntries(Object.entries(ALL_ENV).filter(([, v]) => v !== undefined)) as Record<string, string>;
    // The bridge serves an existing store only; its own, so that the talkdesk test below still
    // proves the run creates STATE.
    const bridgeState = join(tmp.path, 'bridge-state.db');
    openStore({ path: bridgeState, schemas: [TALKDESK_SCHEMA] }).close();
    const bridge = await startBridgeCli(['--state', bridgeState, '--verbose', '--log-format', 'json'], { env });
    const guard = setTimeout(() => bridge.child.kill('SIGKILL'), 60_000);
    try {
      const url = bridge.url;
      const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
      const user = USERNAMES.TALKDESK_BRIDGE_USERNAME;
      const pass = SENTINEL.TALKDESK_BRIDGE_PASSWORD;
      // A near miss (the password plus one character) is what a careless "got X, expected Y" would print.
      for (const auth of [basic(user, pass + 'x'), basic(user, 'wrong'), basic(user, pass), undefined]) {
        const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}) }, body: '{}' });
        const body = await res.text();
        for (const [name, form] of FORMS) assert.ok(!body.includes(form), `bridge answer leaks ${name}`);
      }
    } finally {
      bridge.child.kill('SIGTERM');
      await bridge.exit;
      clearTimeout(guard);
    }
    const stderr = bridge.stderr();
    assertNoLeak('bridge', { code: 0, stdout: bridge.stdout(), stderr });
    assert.ok(stderr.length > 0, 'the bridge logged its requests');
  });

  test('check, and run into the file target, with every credential set', async () => {
    for (const [cmd, target] of [['check', 'file'], ['check', 'genesys'], ['run', 'file']]) {
      await cli(`${cmd} --target ${target}`, [cmd, 'samples/messy.csv', '--mapping', 'mappings/messy.yaml', '--target', target, ...LOUD.slice(0, 3)], {}, [0, 1]);
    }
    // A usage error path prints the environment-derived message too.
    await cli('check, missing mapping', ['check', 'samples/clean.csv', '--mapping', 'mappings/nope.yaml'], {}, [2]);
  });

  test('spoke: credentials refused, 500s until retries run out, unreachable', async () => {
    const emu = await startSpokeEmulator();
    try {
      await cli('spoke wrong credentials', ['run', ...SPOKE, ...LOUD], { ...emu.env, SPOKE_CLIENT_ID: SENTINEL.SPOKE_CLIENT_ID, SPOKE_CLIENT_SECRET: SENTINEL.SPOKE_CLIENT_SECRET }, [3]);
      assert.ok(emu.state.counts.byRoute['POST /oauth/token'] > 0, 'the sentinel credentials were sent and refused');
    } finally { await emu.close(); }

    const emu500 = await startSpokeEmulator({ clientId: SENTINEL.SPOKE_CLIENT_ID, clientSecret: SENTINEL.SPOKE_CLIENT_SECRET, faults: { script: FIVE_HUNDREDS } });
    try {
      await cli('spoke 500s', ['run', ...SPOKE, ...LOUD, '--batch-size', '2'], { ...emu500.env }, [1, 3]);
      assert.ok((emu500.state.counts.byStatus['500'] ?? 0) > 0, 'the sentinel credentials were accepted, then 500s');
    } finally { await emu500.close(); }

    const port = await closedPort();
    await cli('spoke unreachable', ['run', ...SPOKE, ...LOUD], { SPOKE_AUTH_URL: `http://127.0.0.1:${port}`, SPOKE_API_URL: `http://127.0.0.1:${port}` }, [3]);
  });

  test('samespace: key refused, 500s until retries run out, unreachable', async () => {
    const emu = await startSamespaceEmulator();
    try {
      await cli('samespace wrong key', ['run', ...SAMESPACE, ...LOUD], { SAMESPACE_URL: emu.url }, [3]);
      assert.ok(emu.state.counts.requests > 0);
    } finally { await emu.close(); }

    const emu500 = await startSamespaceEmulator({ apiKey: SENTINEL.SAMESPACE_API_KEY, faults: { script: FIVE_HUNDREDS } });
    try {
      await cli('samespace 500s', ['run', ...SAMESPACE, ...LOUD], { SAMESPACE_URL: emu500.url }, [1, 3]);
      assert.ok((emu500.state.counts.byStatus['500'] ?? 0) > 0);
    } finally { await emu500.close(); }

    const port = await closedPort();
    await cli('samespace unreachable', ['run', ...SAMESPACE, ...LOUD], { SAMESPACE_URL: `http://127.0.0.1:${port}` }, [3]);
  });

  test('genesys: password refused, 5xx until retries run out, unreachable', async () => {
    const emu = await startGenesysEmulator();
    try {
      await cli('genesys wrong password', ['run', ...GENESYS, ...LOUD], { GENESYS_API_URL: emu.url, GENESYS_USERNAME: emu.env.GENESYS_USERNAME }, [3]);
      assert.ok((emu.state.statuses['401'] ?? 0) > 0, 'the sentinel password was sent and refused');
    } finally { await emu.close(); }

    const account = { username: USERNAMES.GENESYS_USERNAME, password: SENTINEL.GENESYS_PASSWORD, role: 'admin' as const };
    const emu5xx = await startGenesysEmulator({ accounts: [account], faults: { rate503: 1 } });
    try {
      await cli('genesys 5xx', ['run', ...GENESYS, ...LOUD], { GENESYS_API_URL: emu5xx.url }, [1, 3]);
      assert.ok((emu5xx.state.statuses['503'] ?? 0) > 0);
    } finally { await emu5xx.close(); }

    const port = await closedPort();
    await cli('genesys unreachable', ['run', ...GENESYS, ...LOUD], { GENESYS_API_URL: `http://127.0.0.1:${port}` }, [3]);
  });

  test('talkdesk: the run and the store it writes hold no credential', async () => {
    await cli('talkdesk', ['run', 'samples/clean.csv', '--mapping', 'mappings/clean.yaml', '--target', 'talkdesk', ...LOUD], { CONTACT_IMPORT_STATE: STATE }, [0, 1]);
    assert.ok(existsSync(STATE), 'the talkdesk target wrote its store where CONTACT_IMPORT_STATE says');
    // The store and its journal or WAL files, whichever SQLite left.
    for (const f of readdirSync(tmp.path).filter((n) => n.startsWith('state.db'))) {
      const db = readFileSync(join(tmp.path, f));
      for (const [name, form] of FORMS) assert.ok(!db.includes(form), `${name} in ${f}`);
    }
  });

  test('a run that loads with the sentinel credentials and fails some rows at the target leaks them nowhere', async () => {
    const emu = await startSpokeEmulator({ clientId: SENTINEL.SPOKE_CLIENT_ID, clientSecret: SENTINEL.SPOKE_CLIENT_SECRET,
      users: ['maria@ourco.example', 'james@ourco.example', 'sales+west@ourco.example'], forbiddenUsers: ['frank@ourco.example'] });
    try {
      await cli('spoke partial', ['run', ...SPOKE, ...LOUD], emu.env, [1]);
      assert.ok(emu.state.counts.byStatus['404'] && emu.state.counts.byStatus['403'], 'rows failed at the target, with its messages in the report');
    } finally { await emu.close(); }
  });
});
