/**
 * The genesys loader's side of `--mirror` against the emulator: identify() and
 * destination for the ledger, and remove() deleting exactly the custom contacts given
 * (by recorded id or by phone), never one a write of this run moved to another number,
 * with 404 as gone, 403 as a failure with the server's reason, retries, and aborts.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startGenesysEmulator, type GenesysEmulator } from './emulators/genesys.js';
import { withEmulator, customers, harness, record, type Harness } from './helpers/genesys-harness.js';
import { emptyContact, type ContactRecord } from '../pipeline/contact.js';
import { ImportError } from '../pipeline/errors.js';
import type { RemoveItem, RemoveOutcome } from '../pipeline/loaders/types.js';

const DELETE = 'DELETE /contacts/{id}';

/** open(), write() each record and wait for the writes: where the runner calls remove(). */
async function openAndWrite(h: Harness, records: ContactRecord[]): Promise<void> {
  await h.loader.open();
  for (const r of records) await h.loader.write(r);
  // write() returns with writes still in flight; the tests read the ids they leave behind.
  while (records.some((r) => !h.outcomes.has(r))) await new Promise((res) => setTimeout(res, 2));
}

async function remove(h: Harness, items: RemoveItem[]): Promise<Map<RemoveItem, RemoveOutcome>> {
  const out = new Map<RemoveItem, RemoveOutcome>();
  await h.loader.remove!(items, (item, outcome) => {
    assert.ok(!out.has(item), `done() twice for ${item.key}`);
    assert.ok(items.includes(item), 'done() with an item that was not given');
    out.set(item, outcome);
  });
  return out;
}

const idOf = (emu: GenesysEmulator, phoneNumber: string) => emu.state.customWithIds().find((c) => c.phoneNumber === phoneNumber)?.id;
const phones = (emu: GenesysEmulator) => emu.state.customWithIds().map((c) => c.phoneNumber).sort();
const deletes = (emu: GenesysEmulator) => emu.state.log.filter((l) => l.method === 'DELETE');

describe('genesys: identify and destination', () => {
  test('one scope for custom contacts, keyed by the primary phone; undefined without a phone', async () => {
    const emu = await startGenesysEmulator({ basePath: '/gws/api/v2' });
    const h = harness(emu);
    const slash = harness(emu, { env: { GENESYS_API_URL: `${emu.url}/` } });
    const none = harness(emu, { env: { GENESYS_API_URL: undefined } });
    try {
      const id = (o: Partial<ReturnType<typeof emptyContact>>) => h.loader.identify!({ ...emptyContact(), ...o });
      assert.deepEqual(id({ name: 'Ann', phones: [{ e164: '+442079460958' }, { e164: '+14155552671' }] }), { scope: 'custom', key: '+442079460958' });
      assert.equal(id({ name: 'No phone', emails: ['a@b.co'] }), undefined);
      assert.equal(h.loader.destination, emu.url);
      assert.ok(emu.url.endsWith('/gws/api/v2'));
      assert.equal(slash.loader.destination, emu.url);
      assert.equal(none.loader.destination, undefined);
      await assert.rejects(none.loader.open(), (e: unknown) => e instanceof ImportError && e.code === 'CONFIG_MISSING');
    } finally {
      for (const x of [h, slash, none]) x.close();
      await emu.close();
    }
  });
});

describe('genesys: remove', () => {
  test('deletes exactly the items given, by recorded id or by phone; other custom, user and queue contacts survive', async () => {
    const records = customers(6);
    await withEmulator({ custom: [{ name: 'Made by hand', phoneNumber: '+14155559999' }], faults: { latencyMs: 3 } }, { concurrency: 2 }, async (emu, h) => {
      await openAndWrite(h, records);
      const items: RemoveItem[] = [
        { ...h.loader.identify!(records[1].contact)!, targetId: idOf(emu, '+14155552001') },
        { ...h.loader.identify!(records[2].contact)!, targetId: idOf(emu, '+14155552002') },
        h.loader.identify!(records[4].contact)!, // no recorded id: found by phone
      ];
      emu.state.maxInFlight = 0;
      const out = await remove(h, items);
      for (const i of items) assert.deepEqual(out.get(i), { status: 'deleted' });
      assert.deepEqual(phones(emu), ['+14155552000', '+14155552003', '+14155552005', '+14155559999']);
      assert.equal(emu.state.contacts.size, 4 + 2, 'the User and the Queue are untouched');
      assert.equal(deletes(emu).length, 3);
      assert.ok(emu.state.maxInFlight <= 2);
      await h.loader.close();
    });
  });

  test('404 is gone, and a phone no custom contact holds is gone without a request', async () => {
    const records = customers(2);
    await withEmulator({}, {}, async (emu, h) => {
      await openAndWrite(h, records);
      const id = idOf(emu, '+14155552000')!;
      emu.state.contacts.delete(id); // removed in Genesys by someone else since the tool loaded it
      const items: RemoveItem[] = [{ scope: 'custom', key: '+14155552000', targetId: id }, { scope: 'custom', key: '+14155557777' }];
      const out = await remove(h, items);
      assert.deepEqual(items.map((i) => out.get(i)), [{ status: 'gone' }, { status: 'gone' }]);
      assert.deepEqual(deletes(emu).map((l) => l.status), [404]);
      assert.deepEqual(phones(emu), ['+14155552001']);
    });
  });

  test('a recorded id that a write of this run moved to another number is gone, and the contact survives', async () => {
    const emu = await startGenesysEmulator();
    try {
      const first = harness(emu);
      await first.load([record('Bob Moved', '+14155552000')]);
      const id = idOf(emu, '+14155552000')!;
      first.close();
      // The new file has Bob with a new number: the loader matches him by name and PUTs.
      const h = harness(emu);
      await openAndWrite(h, [record('Bob Moved', '+14155552999')]);
      const item: RemoveItem = { scope: 'custom', key: '+14155552000', targetId: id };
      const out = await remove(h, [item]);
      assert.deepEqual(out.get(item), { status: 'gone' });
      assert.deepEqual(deletes(emu), []);
      assert.deepEqual(emu.state.customWithIds().map((c) => [c.id, c.phoneNumber]), [[id, '+14155552999']]);
      await h.loader.close();
      h.close();
    } finally {
      await emu.close();
    }
  });

  test('429 (with Retry-After), 503 and a dropped connection are retried; the contact is deleted', async () => {
    await withEmulator({}, {}, async (emu, h) => {
      await openAndWrite(h, customers(1));
      emu.faults.script.push(
        { method: 'DELETE', status: 429, retryAfterSeconds: 0 },
        { method: 'DELETE', status: 503 },
        { method: 'DELETE', drop: true },
      );
      const item: RemoveItem = { scope: 'custom', key: '+14155552000', targetId: idOf(emu, '+14155552000') };
      const out = await remove(h, [item]);
      assert.deepEqual(out.get(item), { status: 'deleted' });
      assert.deepEqual(deletes(emu).map((l) => l.status), [429, 503, 'dropped', 200]);
      assert.deepEqual(phones(emu), []);
      assert.equal(emu.state.requests[DELETE], 4);
    });
  });

  test('403 fails the item TARGET_REJECTED with the server\'s message; the others go on', async () => {
    await withEmulator({}, {}, async (emu, h) => {
      await openAndWrite(h, customers(1));
      const jane = [...emu.state.contacts.values()].find((c) => c.type === 'User')!;
      const items: RemoveItem[] = [
        { scope: 'custom', key: jane.phoneNumber, targetId: jane.id },
        { scope: 'custom', key: '+14155552000', targetId: idOf(emu, '+14155552000') },
      ];
      const out = await remove(h, items);
      const o = out.get(items[0])!;
      assert.ok(o.status === 'failed' && o.code === 'TARGET_REJECTED', JSON.stringify(o));
      assert.match(o.error, new RegExp(`^DELETE http://127\\.0\\.0\\.1:\\d+/contacts/${jane.id} answered 403: Contact ${jane.id} is of type User and is read-only$`));
      assert.deepEqual(out.get(items[1]), { status: 'deleted' });
      assert.ok(emu.state.contacts.has(jane.id));
    });
  });

  test('a 401 aborts AUTH_FAILED; a target that answers no delete aborts TARGET_UNREACHABLE; no item is reported done', async () => {
    const emu = await startGenesysEmulator();
    const records = customers(3);
    try {
      const h = harness(emu, { concurrency: 1, attempts: 2 });
      await openAndWrite(h, records);
      const items = (): RemoveItem[] => records.map((r) => ({ ...h.loader.identify!(r.contact)!, targetId: idOf(emu, r.contact.phones[0].e164) }));
      const seen: RemoveItem[] = [];
      emu.faults.rate503 = 1;
      emu.faults.methods = ['DELETE'];
      await assert.rejects(h.loader.remove!(items(), (i) => { seen.push(i); }),
        (e: unknown) => e instanceof ImportError && e.code === 'TARGET_UNREACHABLE' && e.kind === 'abort' && /answered 503/.test(e.message));
      assert.equal(deletes(emu).length, 2, 'the first item tried twice, the others not sent');
      emu.faults.rate503 = 0;
      emu.faults.revokeAfterRequests = 0;
      await assert.rejects(h.loader.remove!(items(), (i) => { seen.push(i); }),
        (e: unknown) => e instanceof ImportError && e.code === 'AUTH_FAILED' && !e.message.includes('gws-admin-pass'));
      assert.deepEqual(seen, []);
      assert.equal(phones(emu).length, 3);
      h.close();
    } finally {
      await emu.close();
    }
  });
});
