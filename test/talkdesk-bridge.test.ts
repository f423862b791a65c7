/**
 * The Talkdesk bridge over real HTTP, driven by a synchronizer written from the vendor
 * document: initial sync across pages, imports between syncs and between pages,
 * equal timestamps, auth and bad requests.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { request } from 'node:http';
import { tempDir } from './helpers/cli.js';
import { TalkdeskSynchronizer, postRaw, type SyncContact } from './helpers/talkdesk-sync.js';
import { startBridge, type Bridge } from '../pipeline/bridge/server.js';
import { openStore, type Db } from '../pipeline/state/store.js';
import { TALKDESK_SCHEMA, TalkdeskStore } from '../pipeline/state/talkdesk.js';
import type { TalkdeskContact } from '../pipeline/loaders/talkdesk/payload.js';

const AUTH = { username: 'talkdesk@ourco.example', password: 'bridge-secret-605b32dd' };

function contact(i: number, version = 1): TalkdeskContact {
  const c: TalkdeskContact = { id: `T-${String(i).padStart(6, '0')}`, name: `Contact ${i}`, phones: [`+1415555${String(i % 10000).padStart(4, '0')}`] };
  if (version > 1) c.title = `version ${version}`;
  if (i % 3 === 0) c.emails = [`c${i}@example.com`];
  return c;
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => from + k);

interface Fixture { dir: ReturnType<typeof tempDir>; statePath: string; db: Db; store: TalkdeskStore; bridge: Bridge; client: TalkdeskSynchronizer }

async function fixture(opts: { pageSize: number; path?: string; contacts?: TalkdeskContact[] }): Promise<Fixture> {
  const dir = tempDir('talkdesk-bridge-');
  const statePath = join(dir.path, 'state.db');
  // The test writes through its own connection, as `run --target talkdesk` does from another process.
  const db = openStore({ path: statePath, schemas: [TALKDESK_SCHEMA] });
  const store = new TalkdeskStore(db);
  if (opts.contacts) store.upsertBatch(opts.contacts);
  const bridge = await startBridge({ statePath, ...AUTH, pageSize: opts.pageSize, path: opts.path });
  return { dir, statePath, db, store, bridge, client: new TalkdeskSynchronizer(bridge.url, AUTH) };
}

async function teardown(f: Fixture) {
  await f.bridge.close();
  f.db.close();
  f.dir.cleanup();
}

/** id -> seq as stored: the order the bridge must deliver in. */
function seqOf(db: Db): Map<string, number> {
  return new Map(db.prepare('SELECT id, seq FROM talkdesk_contacts').all().map((r) => [(r as { id: string }).id, (r as { seq: number }).seq]));
}

function assertNoRepeats(contacts: SyncContact[]) {
  const ids = contacts.map((c) => c.id);
  assert.equal(new Set(ids).size, ids.length, 'no contact is delivered twice within a sync');
}

function assertAscending(contacts: SyncContact[], db: Db) {
  const seq = seqOf(db);
  for (let i = 1; i < contacts.length; i++) {
    assert.ok(seq.get(contacts[i - 1].id)! < seq.get(contacts[i].id)!, `sorted by the checkpoint field at ${i}`);
  }
}

describe('talkdesk bridge: syncs', () => {
  test('initial sync over many pages, an import that changes some contacts, then an incremental sync', async () => {
    const f = await fixture({ pageSize: 100, contacts: range(0, 2450).map((i) => contact(i)) });
    try {
      const first = await f.client.sync();
      assert.equal(first.pages.length, 25);
      assert.ok(first.pages.slice(0, -1).every((p) => p.length === 100));
      assert.equal(first.pages.at(-1)!.length, 50);
      assertNoRepeats(first.contacts);
      assertAscending(first.contacts, f.db);
      assert.deepEqual(first.contacts.map((c) => c.id).sort(), range(0, 2450).map((i) => contact(i).id).sort());
      assert.deepEqual(first.contacts.find((c) => c.id === 'T-000003'), contact(3), 'served exactly as stored, absent fields omitted');
      assert.ok(first.checkpoint);

      // Another import: 30 changed, 10 new, 200 sent again unchanged.
      const changed = range(1000, 1030).map((i) => contact(i, 2));
      const added = range(5000, 5010).map((i) => contact(i));
      const same = range(0, 200).map((i) => contact(i));
      const actions = f.store.upsertBatch([...changed, ...added, ...same]);
      assert.deepEqual(actions, [...changed.map(() => 'updated'), ...added.map(() => 'created'), ...same.map(() => 'unchanged')]);

      const inc = await f.client.sync();
      assert.equal(inc.pages.length, 1);
      assertAscending(inc.contacts, f.db);
      assert.deepEqual(inc.contacts, [...changed, ...added], 'exactly the changed and new contacts, newest content, in change order');

      const nothing = await f.client.sync();
      assert.deepEqual(nothing.contacts, [], 'no change since the last sync: an empty page');
      assert.equal(nothing.checkpoint, inc.checkpoint, 'the checkpoint stays where it was');

      // An import of the same contacts again changes nothing.
      f.store.upsertBatch([...changed, ...added]);
      assert.deepEqual((await f.client.sync()).contacts, []);
    } finally { await teardown(f); }
  });

  test('an import writing between two pages: no contact skipped for good, none delivered twice in a sync', async () => {
    const f = await fixture({ pageSize: 100, contacts: range(0, 1000).map((i) => contact(i)) });
    try {
      const deliveredEarly = range(10, 15);    // on page 1, changed after it was delivered
      const notYetDelivered = range(700, 705); // on page 8, changed before it is reached
      const first = await f.client.sync({
        betweenPages: (page) => {
          if (page !== 3) return;
          f.store.upsertBatch([...deliveredEarly, ...notYetDelivered].map((i) => contact(i, 2)));
          f.store.upsertBatch(range(2000, 2005).map((i) => contact(i)));
        },
      });
      assertNoRepeats(first.contacts);
      const ids = new Set(first.contacts.map((c) => c.id));
      // The sync is bounded when it starts: everything untouched is delivered once, pages do not shift.
      for (const i of range(0, 1000)) {
        if (!notYetDelivered.includes(i)) assert.ok(ids.has(contact(i).id), `contact ${i} delivered`);
      }
      // Changed before being reached: it left this sync's range and is carried by the next one.
      for (const i of notYetDelivered) assert.ok(!ids.has(contact(i).id));
      for (const i of range(2000, 2005)) assert.ok(!ids.has(contact(i).id), 'created during the sync: next sync');

      const next = await f.client.sync();
      assertNoRepeats(next.contacts);
      assert.deepEqual(new Set(next.contacts.map((c) => c.id)),
        new Set([...deliveredEarly, ...notYetDelivered, ...range(2000, 2005)].map((i) => contact(i).id)));
      assert.deepEqual(next.contacts.find((c) => c.id === contact(700).id), contact(700, 2));

      // Together the two syncs leave Talkdesk with every contact in its newest version.
      const talkdesk = new Map<string, SyncContact>();
      for (const c of [...first.contacts, ...next.contacts]) talkdesk.set(c.id, c);
      const stored = f.db.prepare('SELECT body FROM talkdesk_contacts').all().map((r) => JSON.parse((r as { body: string }).body) as SyncContact);
      assert.equal(talkdesk.size, stored.length);
      for (const s of stored) assert.deepEqual(talkdesk.get(s.id), s);
    } finally { await teardown(f); }
  });

  test('contacts written in one transaction (equal timestamps) are all delivered, whatever the page boundaries', async () => {
    const sameInstant = new Date('2026-01-01T00:00:00Z');
    const f = await fixture({ pageSize: 7 });
    try {
      f.store.upsertBatch(range(0, 300).map((i) => contact(i)), { now: sameInstant });
      const stamps = f.db.prepare('SELECT DISTINCT updated_at FROM talkdesk_contacts').all();
      assert.equal(stamps.length, 1, 'every contact carries the same timestamp');
      const first = await f.client.sync();
      assert.equal(first.pages.length, Math.ceil(300 / 7));
      assertNoRepeats(first.contacts);
      assert.equal(first.contacts.length, 300);

      f.store.upsertBatch(range(100, 120).map((i) => contact(i, 3)), { now: sameInstant });
      const inc = await f.client.sync();
      assert.deepEqual(inc.contacts.map((c) => c.id), range(100, 120).map((i) => contact(i).id));
    } finally { await teardown(f); }
  });

  test('pages are the same whether Talkdesk repeats the sync\'s checkpoint or the last page\'s with each offset', async () => {
    const f = await fixture({ pageSize: 3, contacts: range(0, 5).map((i) => contact(i)) });
    try {
      await f.client.sync();
      f.store.upsertBatch(range(0, 10).map((i) => contact(i, 2)));
      const start = f.client.checkpoint;
      const viaStart = await f.client.sync();
      const ids: string[] = [];
      let meta: Record<string, unknown> = { synchronization_checkpoint: start };
      for (;;) {
        const r = (await postRaw(f.bridge.url, { auth: AUTH, meta })).body as { next_offset?: string; synchronization_checkpoint: string; contacts: SyncContact[] };
        ids.push(...r.contacts.map((c) => c.id));
        if (!r.next_offset) break;
        meta = { synchronization_checkpoint: r.synchronization_checkpoint, offset: r.next_offset };
      }
      assert.deepEqual(ids, viaStart.contacts.map((c) => c.id));
      assert.equal(ids.length, 10);
    } finally { await teardown(f); }
  });

  test('a contact absent from a later import stays in the store and is still served', async () => {
    const f = await fixture({ pageSize: 50, contacts: range(0, 3).map((i) => contact(i)) });
    try {
      await f.client.sync();
      // The next file lacks contact 2: nothing tells the store (or Talkdesk) to drop it.
      assert.deepEqual(f.store.upsertBatch([contact(0), contact(1)]), ['unchanged', 'unchanged']);
      assert.deepEqual((await f.client.sync()).contacts, [], 'the incremental sync has nothing to say');
      const fresh = new TalkdeskSynchronizer(f.bridge.url, AUTH);
      assert.deepEqual((await fresh.sync()).contacts.map((c) => c.id), [0, 1, 2].map((i) => contact(i).id), 'an initial sync still serves it');
    } finally { await teardown(f); }
  });

  test('a checkpoint from a replaced state file starts a full sync; context is passed back', async () => {
    const a = await fixture({ pageSize: 2, contacts: range(0, 5).map((i) => contact(i)) });
    const b = await fixture({ pageSize: 2, contacts: range(0, 3).map((i) => contact(i)) });
    try {
      await a.client.sync();
      const moved = new TalkdeskSynchronizer(b.bridge.url, AUTH);
      moved.checkpoint = a.client.checkpoint;
      assert.equal((await moved.sync()).contacts.length, 3);

      const ctx = { batch: 7, note: ['any', 'json'] };
      const r = await postRaw(b.bridge.url, { auth: AUTH, meta: { context: ctx } });
      assert.equal(r.status, 200);
      assert.deepEqual((r.body as { context: unknown }).context, ctx);
      const r2 = await postRaw(b.bridge.url, { auth: AUTH, meta: { offset: (r.body as { next_offset: string }).next_offset, context: ctx } });
      assert.deepEqual((r2.body as { context: unknown }).context, ctx);
      assert.deepEqual((r2.body as { contacts: SyncContact[] }).contacts.map((c) => c.id), [contact(2).id]);
      assert.ok(!('next_offset' in (r2.body as object)), 'no next_offset on the last page');
    } finally { await teardown(a); await teardown(b); }
  });
});

describe('talkdesk bridge: auth and bad requests', () => {
  let f: Fixture;
  before(async () => { f = await fixture({ pageSize: 2, path: '/const_sync', contacts: range(0, 5).map((i) => contact(i)) }); });
  after(async () => { await teardown(f); });

  const errorOf = (body: unknown) => {
    assert.ok(body && typeof body === 'object', 'a JSON error body');
    assert.equal(typeof (body as { error: unknown }).error, 'string');
    return (body as { error: string }).error;
  };

  test('wrong or missing credentials: 401 with a JSON error that does not repeat them', async () => {
    for (const auth of [undefined, {}, { username: AUTH.username }, { username: AUTH.username, password: 'wrong' },
      { username: 'someone@else', password: AUTH.password }, { username: AUTH.username, password: AUTH.password + 'x' },
      { username: AUTH.username, password: 605 }]) {
      const r = await postRaw(f.bridge.url, { auth, meta: {} });
      assert.equal(r.status, 401, JSON.stringify(auth));
      assert.match(r.contentType, /^application\/json/);
      assert.ok(!errorOf(r.body).includes(AUTH.password));
    }
    assert.equal((await postRaw(f.bridge.url, { auth: AUTH, meta: {} })).status, 200);
  });

  test('bad requests: 400 with a JSON message', async () => {
    const first = (await postRaw(f.bridge.url, { auth: AUTH })).body as { next_offset: string; synchronization_checkpoint: string };
    const cp = first.synchronization_checkpoint;
    const [, store] = cp.split('.');
    const cases: [string, unknown, boolean?][] = [
      ['malformed JSON', '{"auth": {"username": ', true],
      ['not an object', '[1, 2]', true],
      ['meta not an object', { auth: AUTH, meta: 'x' }],
      ['offset that is a page number', { auth: AUTH, meta: { offset: '2' } }],
      ['offset of another store', { auth: AUTH, meta: { offset: 'o1.0123456789ab.2.5' } }],
      ['offset past the store', { auth: AUTH, meta: { offset: `o1.${store}.2.99999` } }],
      ['offset before its checkpoint', { auth: AUTH, meta: { offset: `o1.${store}.1.5`, synchronization_checkpoint: `c1.${store}.3` } }],
      ['offset not a string', { auth: AUTH, meta: { offset: 2 } }],
      ['garbled checkpoint', { auth: AUTH, meta: { synchronization_checkpoint: '2012-11-20 23:01:00 UTC' } }],
      ['checkpoint ahead of the store', { auth: AUTH, meta: { synchronization_checkpoint: `c1.${store}.99999` } }],
    ];
    for (const [what, body, raw] of cases) {
      const r = await postRaw(f.bridge.url, body, { raw });
      assert.equal(r.status, 400, what);
      assert.match(r.contentType, /^application\/json/, what);
      errorOf(r.body);
    }
    const big = await postRaw(f.bridge.url, { auth: AUTH, meta: { context: 'x'.repeat(70 * 1024) } });
    assert.equal(big.status, 400);
    assert.match(errorOf(big.body), /larger than/);
    // A well-formed offset still works after all that.
    assert.equal((await postRaw(f.bridge.url, { auth: AUTH, meta: { offset: first.next_offset } })).status, 200);
  });

  test('offset, checkpoint or context outside meta: 400 saying they belong inside meta (not a silent restart at page 1)', async () => {
    const first = (await postRaw(f.bridge.url, { auth: AUTH, meta: {} })).body as { next_offset: string; synchronization_checkpoint: string };
    assert.ok(first.next_offset);
    const cases: [string, Record<string, unknown>, RegExp][] = [
      ['top-level offset', { auth: AUTH, meta: {}, offset: first.next_offset }, /"offset" belongs inside "meta" \(send meta\.offset\)/],
      ['top-level checkpoint', { auth: AUTH, synchronization_checkpoint: first.synchronization_checkpoint }, /"synchronization_checkpoint" belongs inside "meta"/],
      ['top-level context', { auth: AUTH, meta: {}, context: null }, /"context" belongs inside "meta"/],
      ['top-level next_offset', { auth: AUTH, next_offset: first.next_offset }, /send meta\.offset/],
      ['meta.next_offset', { auth: AUTH, meta: { next_offset: first.next_offset } }, /back as meta\.offset/],
    ];
    for (const [what, body, message] of cases) {
      const r = await postRaw(f.bridge.url, body);
      assert.equal(r.status, 400, what);
      assert.match(errorOf(r.body), message, what);
    }
    // Credentials are checked first: a stranger learns nothing about the request format.
    assert.equal((await postRaw(f.bridge.url, { auth: { username: 'x', password: 'y' }, offset: '2' })).status, 401);
    // Inside meta, as the document sends it, the same offset gets the second page.
    const second = await postRaw(f.bridge.url, { auth: AUTH, meta: { offset: first.next_offset } });
    assert.equal(second.status, 200);
  });

  test('a body that streams past the cap without a content-length is refused', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(f.bridge.url, { method: 'POST', headers: { 'transfer-encoding': 'chunked', 'content-type': 'application/json' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      const chunk = 'x'.repeat(16 * 1024);
      // Keep writing until the bridge answers; it must not wait for (or buffer) the rest.
      let n = 0;
      const pump = () => { while (n < 64 && req.write(chunk)) n++; if (n < 64) req.once('drain', pump); else req.end(); };
      pump();
    });
    assert.equal(status, 400);
  });

  test('GET /healthz answers 200; other paths and methods answer JSON 404 / 405', async () => {
    const h = await fetch(new URL('/healthz', f.bridge.url));
    assert.equal(h.status, 200);
    assert.deepEqual(await h.json(), { status: 'ok' });
    const g = await fetch(f.bridge.url);
    assert.equal(g.status, 405);
    assert.equal(g.headers.get('allow'), 'POST');
    assert.equal((await postRaw(new URL('/', f.bridge.url).href, { auth: AUTH, meta: {} })).status, 404, 'only the configured path');
  });
});
