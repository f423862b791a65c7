/**
 * The spoke loader's side of `--mirror` against the emulator: identify() and destination
 * for the ledger, and remove() deleting exactly the contacts given, with 404 as gone, 403
 * as a failure with Spoke's reason, retries, a refreshed token, encoded paths, and an
 * abort when the target cannot be reached at all.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startSpokeEmulator, type SpokeEmulator } from './emulators/spoke.js';
import { withEmulator, contactsFor, harness, record, type Harness } from './helpers/spoke-harness.js';
import { emptyContact } from '../pipeline/contact.js';
import { ImportError } from '../pipeline/errors.js';
import type { RemoveItem, RemoveOutcome } from '../pipeline/loaders/types.js';

const DELETE = 'DELETE /phonebooks/:email/contacts/:id' as const;

/** Calls remove() and collects what done() reported, checking one call per item. */
async function remove(h: Harness, items: RemoveItem[]): Promise<Map<RemoveItem, RemoveOutcome>> {
  const out = new Map<RemoveItem, RemoveOutcome>();
  await h.loader.remove!(items, (item, outcome) => {
    assert.ok(!out.has(item), `done() twice for ${item.scope}/${item.key}`);
    assert.ok(items.includes(item), 'done() with an item that was not given');
    out.set(item, outcome);
  });
  return out;
}

function ids(emu: SpokeEmulator, owner: string): string[] {
  return [...(emu.state.phonebooks.get(owner)?.keys() ?? [])].sort();
}

describe('spoke: identify and destination', () => {
  test('scope is the owner lower-cased, key the external id; undefined without either', async () => {
    await withEmulator({}, {}, async (emu, h) => {
      const id = (o: Partial<ReturnType<typeof emptyContact>>) => h.loader.identify!({ ...emptyContact(), ...o });
      assert.deepEqual(id({ id: 'crm-123', owner: 'Ann.Lee@Acme.COM', name: 'Bo' }), { scope: 'ann.lee@acme.com', key: 'crm-123' });
      assert.deepEqual(id({ id: 'x/1', owner: 'sales+west@acme.com' }), { scope: 'sales+west@acme.com', key: 'x/1' });
      assert.equal(id({ owner: 'ann@acme.com', name: 'No id' }), undefined);
      assert.equal(id({ id: 'crm-9', name: 'No owner' }), undefined);
      assert.equal(h.loader.destination, emu.url);
    });
  });

  test('destination is known before open(), without a trailing slash, and does not need credentials', async () => {
    const emu = await startSpokeEmulator();
    const slash = harness(emu, { env: { SPOKE_API_URL: `${emu.url}//` } });
    const bare = harness(emu, { env: { SPOKE_API_URL: undefined, SPOKE_CLIENT_ID: undefined, SPOKE_CLIENT_SECRET: undefined } });
    try {
      assert.equal(slash.loader.destination, emu.url);
      assert.equal(bare.loader.destination, 'https://integration.spokephone.com');
      await assert.rejects(bare.loader.open(), (e: unknown) => e instanceof ImportError && e.code === 'CONFIG_MISSING');
    } finally {
      slash.close();
      bare.close();
      await emu.close();
    }
  });
});

describe('spoke: remove', () => {
  test('deletes exactly the items given; the same id and phone under another owner survive; concurrency is bounded', async () => {
    const emu = await startSpokeEmulator({ faults: { latencyMs: 5 } });
    const alice = contactsFor('alice@acme.com', 8, 'c');
    // Bob holds the same ids and phones as Alice: only the owner tells them apart.
    const bob = contactsFor('bob@acme.com', 8, 'c');
    const h = harness(emu, { concurrency: 2, batchSize: 50 });
    try {
      await h.loader.open();
      await h.load([...alice, ...bob]);
      assert.deepEqual(ids(emu, 'alice@acme.com'), ids(emu, 'bob@acme.com'));
      const items: RemoveItem[] = ['c-1', 'c-2', 'c-3', 'c-5', 'c-6', 'c-7'].map((key) => ({ scope: 'alice@acme.com', key }));
      emu.state.maxInFlight = 0;
      const out = await remove(h, items);
      assert.equal(out.size, items.length);
      for (const i of items) assert.deepEqual(out.get(i), { status: 'deleted' });
      assert.deepEqual(ids(emu, 'alice@acme.com'), ['c-0', 'c-4']);
      assert.deepEqual(ids(emu, 'bob@acme.com'), ['c-0', 'c-1', 'c-2', 'c-3', 'c-4', 'c-5', 'c-6', 'c-7']);
      assert.deepEqual(emu.requests(DELETE).map((r) => r.rawPath).sort(),
        items.map((i) => `/phonebooks/alice%40acme.com/contacts/${i.key}`).sort());
      assert.ok(emu.state.maxInFlight <= 2, `${emu.state.maxInFlight} requests in flight`);
    } finally {
      h.close();
      await emu.close();
    }
  });

  test('404 is gone: a contact already deleted, and a user that no longer exists', async () => {
    await withEmulator({ users: ['alice@acme.com'] }, {}, async (emu, h) => {
      await h.loader.open();
      await h.load(contactsFor('alice@acme.com', 2, 'a'));
      const items: RemoveItem[] = [
        { scope: 'alice@acme.com', key: 'a-0' },
        { scope: 'alice@acme.com', key: 'never-loaded' },
        { scope: 'left@acme.com', key: 'a-1' },
      ];
      const out = await remove(h, items);
      assert.deepEqual(items.map((i) => out.get(i)), [{ status: 'deleted' }, { status: 'gone' }, { status: 'gone' }]);
      assert.deepEqual(ids(emu, 'alice@acme.com'), ['a-1']);
    });
  });

  test('429 (with Retry-After), 503 and a dropped connection are retried; the contact is deleted once', async () => {
    await withEmulator({
      faults: { script: [
        { route: DELETE, status: 429, retryAfterSec: 0 },
        { route: DELETE, status: 503 },
        { route: DELETE, drop: 'before' },
      ] },
    }, {}, async (emu, h) => {
      await h.loader.open();
      await h.load(contactsFor('alice@acme.com', 2, 'a'));
      const item: RemoveItem = { scope: 'alice@acme.com', key: 'a-1' };
      const out = await remove(h, [item]);
      assert.deepEqual(out.get(item), { status: 'deleted' });
      assert.deepEqual(emu.requests(DELETE).map((r) => r.status), [429, 503, 0, 204]);
      assert.deepEqual(ids(emu, 'alice@acme.com'), ['a-0']);
    });
  });

  test('403 fails the item OWNER_FORBIDDEN with Spoke\'s message, and the owner\'s other items without a request', async () => {
    await withEmulator({ forbiddenUsers: ['frank@acme.com'] }, { concurrency: 1 }, async (emu, h) => {
      await h.loader.open();
      await h.load(contactsFor('alice@acme.com', 1, 'a'));
      const items: RemoveItem[] = [
        { scope: 'frank@acme.com', key: 'f-0' },
        { scope: 'frank@acme.com', key: 'f-1' },
        { scope: 'alice@acme.com', key: 'a-0' },
      ];
      const out = await remove(h, items);
      for (const i of items.slice(0, 2)) {
        const o = out.get(i)!;
        assert.equal(o.status, 'failed');
        assert.ok(o.status === 'failed' && o.code === 'OWNER_FORBIDDEN');
        assert.match(o.error, /^DELETE \/phonebooks\/frank%40acme\.com\/contacts\/f-0 answered 403: Access denied: frank@acme\.com/);
      }
      assert.deepEqual(out.get(items[2]), { status: 'deleted' });
      assert.equal(emu.requests(DELETE, 'frank@acme.com').length, 1);
    });
  });

  test('owner emails with + and / and ids with / are percent-encoded in the path', async () => {
    const owners = ['sales+west@acme.com', 'slash/x@acme.com'];
    const records = owners.map((owner) => record({ id: 'crm/7 a', owner, name: 'Enc' }));
    await withEmulator({}, {}, async (emu, h) => {
      await h.loader.open();
      await h.load(records);
      const items = records.map((r) => h.loader.identify!(r.contact)!) as RemoveItem[];
      const out = await remove(h, items);
      for (const i of items) assert.deepEqual(out.get(i), { status: 'deleted' });
      assert.deepEqual(emu.requests(DELETE).map((r) => r.rawPath).sort(), [
        '/phonebooks/sales%2Bwest%40acme.com/contacts/crm%2F7%20a',
        '/phonebooks/slash%2Fx%40acme.com/contacts/crm%2F7%20a',
      ]);
      for (const o of owners) assert.deepEqual(ids(emu, o), []);
    });
  });

  test('a 401 gets a fresh token once and the delete goes through', async () => {
    await withEmulator({}, {}, async (emu, h) => {
      await h.loader.open();
      await h.load(contactsFor('alice@acme.com', 1, 'a'));
      emu.revokeTokens();
      const item: RemoveItem = { scope: 'alice@acme.com', key: 'a-0' };
      const out = await remove(h, [item]);
      assert.deepEqual(out.get(item), { status: 'deleted' });
      assert.equal(emu.state.tokenIssued, 2);
      assert.deepEqual(emu.requests(DELETE).map((r) => r.status), [401, 204]);
    });
  });

  test('credentials refused again after a refresh abort with AUTH_FAILED', async () => {
    await withEmulator({}, { concurrency: 1 }, async (emu, h) => {
      await h.loader.open();
      emu.faults.tokenMaxUses = 0;
      const items: RemoveItem[] = [{ scope: 'alice@acme.com', key: 'a-0' }, { scope: 'alice@acme.com', key: 'a-1' }];
      const seen: RemoveItem[] = [];
      await assert.rejects(h.loader.remove!(items, (i) => { seen.push(i); }),
        (e: unknown) => e instanceof ImportError && e.code === 'AUTH_FAILED' && e.kind === 'abort');
      assert.deepEqual(seen, [], 'no item is reported done when the credentials are refused');
    });
  });

  test('a target that answers no delete aborts TARGET_UNREACHABLE without reporting items done', async () => {
    await withEmulator({}, { concurrency: 1, attempts: 2 }, async (emu, h) => {
      await h.loader.open();
      await h.load(contactsFor('alice@acme.com', 3, 'a'));
      emu.faults.rate503 = 1;
      const items: RemoveItem[] = ['a-0', 'a-1', 'a-2'].map((key) => ({ scope: 'alice@acme.com', key }));
      const seen: RemoveItem[] = [];
      await assert.rejects(h.loader.remove!(items, (i) => { seen.push(i); }),
        (e: unknown) => e instanceof ImportError && e.code === 'TARGET_UNREACHABLE' && /answered 503/.test(e.message));
      assert.deepEqual(seen, []);
      assert.equal(emu.requests(DELETE).length, 2, 'one item tried (twice), the others not sent');
      assert.deepEqual(ids(emu, 'alice@acme.com'), ['a-0', 'a-1', 'a-2']);
    });
  });

  test('an interrupted run sends no new delete and throws INTERRUPTED; items not sent are not reported done', async () => {
    await withEmulator({}, { concurrency: 1 }, async (emu, h) => {
      await h.loader.open();
      await h.load(contactsFor('alice@acme.com', 3, 'a'));
      const items: RemoveItem[] = ['a-0', 'a-1', 'a-2'].map((key) => ({ scope: 'alice@acme.com', key }));
      const seen: RemoveItem[] = [];
      await assert.rejects(h.loader.remove!(items, (i) => {
        seen.push(i);
        h.abort.abort(); // SIGINT while the first delete is answered
      }), (e: unknown) => e instanceof ImportError && e.code === 'INTERRUPTED');
      assert.deepEqual(seen, [items[0]]);
      assert.equal(emu.requests(DELETE).length, 1);
      assert.deepEqual(ids(emu, 'alice@acme.com'), ['a-1', 'a-2']);
    });
  });

  test('after one delete reached the target, a later one that outlasts the retries fails RETRIES_EXHAUSTED and the rest go on', async () => {
    await withEmulator({}, { concurrency: 1, attempts: 2 }, async (emu, h) => {
      await h.loader.open();
      await h.load(contactsFor('alice@acme.com', 3, 'a'));
      const items: RemoveItem[] = ['a-0', 'a-1', 'a-2'].map((key) => ({ scope: 'alice@acme.com', key }));
      // The first delete lands; the second meets two 503s (its two attempts); the third lands.
      const out = new Map<RemoveItem, RemoveOutcome>();
      let n = 0;
      await h.loader.remove!(items, (i, o) => {
        out.set(i, o);
        if (++n === 1) emu.faults.script.push({ route: DELETE, status: 503 }, { route: DELETE, status: 503 });
      });
      assert.deepEqual(out.get(items[0]), { status: 'deleted' });
      const failed = out.get(items[1])!;
      assert.ok(failed.status === 'failed' && failed.code === 'RETRIES_EXHAUSTED', JSON.stringify(failed));
      assert.deepEqual(out.get(items[2]), { status: 'deleted' });
      assert.deepEqual(ids(emu, 'alice@acme.com'), ['a-1']);
    });
  });
});
