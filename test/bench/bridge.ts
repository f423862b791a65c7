/**
 * Talkdesk bridge throughput on a large store. Not a test: run it by hand.
 *
 *   npm run build && node --import tsx test/bench/bridge.ts [--contacts 1000000] [--page-size 1000] [--samples 200]
 *
 * 1. Bulk-inserts N contacts straight into a fresh state file (one transaction, the
 *    same rows `run --target talkdesk` writes: seq, id, hash, body).
 * 2. Starts the built CLI (`contact-import bridge`) as a child process, as in production,
 *    and syncs from this process over HTTP with keep-alive, one request at a time as
 *    Talkdesk does: the whole initial sync, page by page (pages/s, contacts/s).
 * 3. Single pages at random depths (a crafted offset), to show that a page deep in the
 *    store costs the same as the first one (latency p50 / p95 / max).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openStore } from '../../pipeline/state/store.js';
import { TALKDESK_SCHEMA, TalkdeskStore, contentHash, encodeOffset } from '../../pipeline/state/talkdesk.js';
import { BIN, ROOT } from '../helpers/cli.js';

const { values } = parseArgs({
  options: {
    contacts: { type: 'string', default: '1000000' },
    'page-size': { type: 'string', default: '1000' },
    samples: { type: 'string', default: '200' },
    keep: { type: 'boolean', default: false },
  },
});
const N = Number(values.contacts);
const pageSize = Number(values['page-size']);
const samples = Number(values.samples);
const AUTH = { username: 'bench', password: 'bench-password-123' };

const dir = mkdtempSync(join(tmpdir(), 'bridge-bench-'));
const statePath = join(dir, 'state.db');

// --- 1. bulk insert ------------------------------------------------------------------
let t = performance.now();
const db = openStore({ path: statePath, schemas: [TALKDESK_SCHEMA] });
const storeId = new TalkdeskStore(db).storeId;
const insert = db.prepare('INSERT INTO talkdesk_contacts (seq, id, hash, body, updated_at) VALUES (?, ?, ?, ?, ?)');
const now = new Date().toISOString();
db.transaction(() => {
  for (let i = 1; i <= N; i++) {
    const body = JSON.stringify({
      id: `C-${i}`, name: `First${i % 997} Last${i % 1009}`, company: `Company ${i % 5003}`, title: 'Account Manager',
      emails: [`user${i}@example.com`], phones: [`+1415${String(1_000_000 + (i % 9_000_000)).padStart(7, '0')}`],
    });
    insert.run(i, `C-${i}`, contentHash(body), body, now);
  }
  db.prepare('UPDATE talkdesk_sequence SET value = ? WHERE one = 1').run(N);
})();
db.pragma('wal_checkpoint(TRUNCATE)');
db.close();
const insertS = (performance.now() - t) / 1000;
const dbMb = statSync(statePath).size / 1e6;
console.log(`store: ${N.toLocaleString('en-US')} contacts inserted in ${insertS.toFixed(1)} s (${Math.round(N / insertS).toLocaleString('en-US')}/s), file ${dbMb.toFixed(0)} MB`);

// --- 2. the bridge, as users run it ----------------------------------------------------
const child = spawn(process.execPath, [BIN, 'bridge', '--port', '0', '--state', statePath, '--page-size', String(pageSize)], {
  cwd: ROOT, env: { PATH: process.env.PATH, TALKDESK_BRIDGE_USERNAME: AUTH.username, TALKDESK_BRIDGE_PASSWORD: AUTH.password },
  stdio: ['ignore', 'inherit', 'pipe'],
});
const url = await new Promise<string>((resolve, reject) => {
  // The bridge says where it listens in its log (stderr), passed on to ours.
  let err = '';
  child.stderr!.on('data', (d) => { process.stderr.write(d); err += d; const m = /listening on (\S+)/.exec(err); if (m) resolve(m[1]); });
  child.on('close', (code) => reject(new Error(`bridge exited ${code}`)));
});

async function post(meta: Record<string, unknown>): Promise<{ next_offset?: string; synchronization_checkpoint: string; contacts: unknown[]; bytes: number }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ auth: AUTH, meta }) });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${res.status} ${text}`);
  return { ...JSON.parse(text), bytes: text.length };
}

try {
  await post({}); // warm-up: connection, statement cache, page cache
  t = performance.now();
  let pages = 0;
  let contacts = 0;
  let bytes = 0;
  let offset: string | undefined;
  for (;;) {
    const r = await post(offset ? { offset } : {});
    pages++;
    contacts += r.contacts.length;
    bytes += r.bytes;
    if (!r.next_offset) break;
    offset = r.next_offset;
  }
  const s = (performance.now() - t) / 1000;
  if (contacts !== N) throw new Error(`initial sync delivered ${contacts}, expected ${N}`);
  console.log(`initial sync: ${pages} pages of ${pageSize} in ${s.toFixed(2)} s: ${(pages / s).toFixed(0)} pages/s, ` +
    `${Math.round(contacts / s).toLocaleString('en-US')} contacts/s, ${(bytes / pages / 1024).toFixed(0)} KiB per page`);

  // --- 3. single pages at random depths ---------------------------------------------
  let seed = 42;
  const rand = () => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed / 2 ** 31; };
  const lat: number[] = [];
  for (let i = 0; i < samples; i++) {
    const after = Math.floor(rand() * (N - pageSize));
    const t0 = performance.now();
    const r = await post({ offset: encodeOffset(storeId, { after, high: N }) });
    lat.push(performance.now() - t0);
    if (r.contacts.length !== pageSize) throw new Error('short page');
  }
  lat.sort((a, b) => a - b);
  const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))].toFixed(1);
  console.log(`random-depth page of ${pageSize} (${samples} requests): p50 ${q(0.5)} ms, p95 ${q(0.95)} ms, max ${q(1)} ms`);
} finally {
  child.kill('SIGTERM');
  await new Promise((r) => child.on('close', r));
  if (!values.keep) rmSync(dir, { recursive: true, force: true });
  else console.log(`kept ${dir}`);
}
