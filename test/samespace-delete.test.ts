/**
 * The samespace loader's side of `--mirror` against the emulator: identify() and
 * destination for the ledger, and remove(): ids looked up by paging getContacts and
 * matching the phone by digits, deleteContacts with the module and an id list in
 * batches (never a filter or `all`), gone for keys no contact holds, retries, a
 * rejected mutation, and an abort when the target cannot be reached.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startSamespaceEmulator, type EmuModule, type SamespaceEmulator } from './emulators/samespace.js';
import { withEmulator, harness, people, record, type Harness } from './helpers/samespace-harness.js';
import { emptyContact } from '../pipeline/contact.js';
import { ImportError } from '../pipeline/errors.js';
import { DELETE_BATCH_SIZE, LOOKUP_PAGE_SIZE } from '../pipeline/loaders/samespace/loader.js';
import type { RemoveItem, RemoveOutcome } from '../pipeline/loaders/types.js';

async function remove(h: Harness, items: RemoveItem[]): Promise<Map<RemoveItem, RemoveOutcome>> {
  const out = new Map<RemoveItem, RemoveOutcome>();
  await h.loader.remove!(items, (item, outcome) => {
    assert.ok(!out.has(item), `done() twice for ${item.key}`);
    assert.ok(items.includes(item), 'done() with an item that was not given');
    out.set(item, outcome);
  });
  return out;
}

const moduleOf = (emu: SamespaceEmulator, name = 'Contacts'): EmuModule => emu.state.store.moduleByName(name)!;

/** Stores a contact directly, as if made in Samespace by hand, with the phone written as a person would. */
function seed(emu: SamespaceEmulator, firstName: string, phoneNumber: string, moduleName = 'Contacts'): string {
  const m = moduleOf(emu, moduleName);
  return emu.state.store.create(m, { firstName: { value: firstName, type: 'TEXT' }, phoneNumber: { value: phoneNumber, type: 'PHONE' } })._id;
}

const phonesLeft = (emu: SamespaceEmulator, moduleName = 'Contacts') => emu.contacts(moduleName).map((c) => String(c.phoneNumber)).sort();

/** Every deleteContacts named the module and an id list, and nothing else that selects contacts. */
function assertOnlyIdDeletes(emu: SamespaceEmulator): void {
  for (const r of emu.requests('deleteContacts')) {
    const v = r.variables ?? {};
    assert.deepEqual(Object.keys(v).sort(), ['id', 'module'], `deleteContacts sent ${JSON.stringify(v)}`);
    assert.ok(Array.isArray(v.id) && v.id.length > 0 && v.id.length <= DELETE_BATCH_SIZE);
  }
}

describe('samespace: identify and destination', () => {
  test('scope is the module the mapping names, key the primary phone as sent; undefined without a phone column or phone', async () => {
    const emu = await startSamespaceEmulator();
    const h = harness(emu);
    const leads = harness(emu, { samespace: { module: 'Leads', properties: { phoneNumber: 'mobile' } } });
    const noPhones = harness(emu, { fields: { firstName: 'First', emails: 'Email' } });
    const none = harness(emu, { env: { SAMESPACE_URL: undefined, SAMESPACE_API_KEY: undefined } });
    try {
      const c = { ...emptyContact(), firstName: 'Ann', phones: [{ e164: '+442079460958' }, { e164: '+14155552671' }], emails: ['ann@x.co'] };
      assert.deepEqual(h.loader.identify!(c), { scope: 'Contacts', key: '+442079460958' });
      assert.deepEqual(leads.loader.identify!(c), { scope: 'Leads', key: '+442079460958' });
      assert.equal(h.loader.identify!({ ...c, phones: [] }), undefined);
      assert.equal(noPhones.loader.identify!(c), undefined);
      assert.equal(h.loader.destination, `${emu.url} (module Contacts)`);
      assert.equal(leads.loader.destination, `${emu.url} (module Leads)`);
      assert.equal(none.loader.destination, undefined);
      await assert.rejects(none.loader.open(), (e: unknown) => e instanceof ImportError && e.code === 'CONFIG_MISSING');
    } finally {
      for (const x of [h, leads, noPhones, none]) x.close();
      await emu.close();
    }
  });
});

describe('samespace: remove', () => {
  test('deletes exactly the contacts given; one with another phone, and the same phone in another module, survive', async () => {
    const records = people(6);
    await withEmulator({ modules: ['Contacts', 'Leads'] }, {}, async (emu, h) => {
      await h.load(records);
      seed(emu, 'ByHand', '+1 415 555 9999');
      seed(emu, 'OtherModule', records[1].contact.phones[0].e164, 'Leads');
      const items = [1, 3, 4].map((i) => h.loader.identify!(records[i].contact)!) as RemoveItem[];
      const out = await remove(h, items);
      for (const i of items) assert.deepEqual(out.get(i), { status: 'deleted' });
      assert.deepEqual(phonesLeft(emu), ['+1 415 555 9999', '+14155551000', '+14155551002', '+14155551005']);
      assert.deepEqual(phonesLeft(emu, 'Leads'), ['+14155551001']);
      assert.equal(emu.requests('deleteContacts').length, 1);
      assertOnlyIdDeletes(emu);
      assert.equal(emu.requests('deleteContacts')[0].variables!.module, moduleOf(emu)._id);
    });
  });

  test('pages getContacts past one page, matches phones by digits, and deletes in batches of DELETE_BATCH_SIZE', async () => {
    const emu = await startSamespaceEmulator();
    const h = harness(emu);
    const n = LOOKUP_PAGE_SIZE * 2 + 200;
    try {
      await h.loader.open();
      // Written by people: "+1 (415) 700-0000"; the items carry E.164.
      const keys: string[] = [];
      for (let i = 0; i < n; i++) {
        const digits = String(i).padStart(4, '0');
        seed(emu, `P${i}`, `+1 (415) 700-${digits}`);
        keys.push(`+1415700${digits}`);
      }
      // Every contact but the first 100, so the last ids are only found on the last page.
      const items: RemoveItem[] = keys.slice(100).map((key) => ({ scope: 'Contacts', key }));
      const out = await remove(h, items);
      assert.equal([...out.values()].filter((o) => o.status === 'deleted').length, items.length);
      assert.equal(emu.contacts().length, 100);
      assert.deepEqual(emu.contacts().map((c) => c.firstName), Array.from({ length: 100 }, (_, i) => `P${i}`));
      const pages = emu.requests('getContacts').map((r) => r.variables!.query);
      assert.deepEqual(pages, [0, 1, 2].map((p) => ({ skip: p * LOOKUP_PAGE_SIZE, limit: LOOKUP_PAGE_SIZE, fields: ['phoneNumber'] })));
      assert.deepEqual(emu.requests('deleteContacts').map((r) => (r.variables!.id as string[]).length).sort((a, b) => a - b),
        [items.length - 2 * DELETE_BATCH_SIZE, DELETE_BATCH_SIZE, DELETE_BATCH_SIZE].sort((a, b) => a - b));
      assertOnlyIdDeletes(emu);
    } finally {
      h.close();
      await emu.close();
    }
  });

  test('a key no contact holds is gone; an item with a recorded id skips the look-up', async () => {
    await withEmulator({}, {}, async (emu, h) => {
      await h.loader.open();
      const id = seed(emu, 'Known', '+14155550001');
      seed(emu, 'Keep', '+14155550002');
      const known: RemoveItem = { scope: 'Contacts', key: '+14155550001', targetId: id };
      const out = await remove(h, [known]);
      assert.deepEqual(out.get(known), { status: 'deleted' });
      assert.equal(emu.requests('getContacts').length, 0);
      const missing: RemoveItem = { scope: 'Contacts', key: '+14155550003' };
      const out2 = await remove(h, [missing]);
      assert.deepEqual(out2.get(missing), { status: 'gone' });
      assert.equal(emu.requests('deleteContacts').length, 1, 'nothing to delete: no mutation');
      assert.deepEqual(phonesLeft(emu), ['+14155550002']);
    });
  });

  test('an item recorded for another module fails and nothing of that module is touched', async () => {
    await withEmulator({ modules: ['Contacts', 'Leads'] }, {}, async (emu, h) => {
      await h.loader.open();
      seed(emu, 'Lead', '+14155550001', 'Leads');
      const item: RemoveItem = { scope: 'Leads', key: '+14155550001' };
      const out = await remove(h, [item]);
      const o = out.get(item)!;
      assert.ok(o.status === 'failed' && o.code === 'TARGET_REJECTED' && /module "Leads".*module "Contacts"/.test(o.error), JSON.stringify(o));
      assert.deepEqual(phonesLeft(emu, 'Leads'), ['+14155550001']);
      assert.equal(emu.requests('deleteContacts').length, 0);
    });
  });

  test('429 (with Retry-After), 503 and a dropped connection are retried for the look-up and the delete', async () => {
    await withEmulator({}, {}, async (emu, h) => {
      await h.loader.open();
      seed(emu, 'Gone', '+14155550001');
      emu.faults.script.push(
        { operation: 'getContacts', status: 503 },
        { operation: 'deleteContacts', status: 429, retryAfterSec: 0 },
        { operation: 'deleteContacts', status: 503 },
        { operation: 'deleteContacts', drop: 'before' },
      );
      const item: RemoveItem = { scope: 'Contacts', key: '+14155550001' };
      const out = await remove(h, [item]);
      assert.deepEqual(out.get(item), { status: 'deleted' });
      assert.deepEqual(emu.requests('getContacts').map((r) => r.status), [503, 200]);
      assert.deepEqual(emu.requests('deleteContacts').map((r) => r.status), [429, 503, 0, 200]);
      assert.deepEqual(emu.contacts(), []);
    });
  });

  test('a deleteContacts refused with a GraphQL error fails its items with Samespace\'s message', async () => {
    await withEmulator({}, {}, async (emu, h) => {
      await h.loader.open();
      seed(emu, 'Locked', '+14155550001');
      emu.faults.script.push({ operation: 'deleteContacts', graphqlError: 'Contact is locked by a running campaign' });
      const item: RemoveItem = { scope: 'Contacts', key: '+14155550001' };
      const out = await remove(h, [item]);
      assert.deepEqual(out.get(item), { status: 'failed', code: 'TARGET_REJECTED', error: 'deleteContacts: Contact is locked by a running campaign' });
      assert.equal(emu.contacts().length, 1);
    });
  });

  test('a target that never answers the look-up aborts TARGET_UNREACHABLE and nothing is reported done', async () => {
    await withEmulator({}, { attempts: 2 }, async (emu, h) => {
      await h.loader.open();
      seed(emu, 'Stays', '+14155550001');
      emu.faults.rate503 = 1;
      emu.faults.only = ['getContacts', 'deleteContacts'];
      const seen: RemoveItem[] = [];
      await assert.rejects(h.loader.remove!([{ scope: 'Contacts', key: '+14155550001' }], (i) => { seen.push(i); }),
        (e: unknown) => e instanceof ImportError && e.code === 'TARGET_UNREACHABLE' && e.kind === 'abort');
      assert.deepEqual(seen, []);
      assert.equal(emu.requests('deleteContacts').length, 0);
      assert.equal(emu.contacts().length, 1);
    });
  });

  test('contacts loaded by the loader are found again by the key identify() gave them', async () => {
    const records = [record({ firstName: 'Zoe', phones: ['+442079460958'], emails: ['zoe@example.com'] }), ...people(2)];
    await withEmulator({}, {}, async (emu, h) => {
      await h.load(records);
      const item = h.loader.identify!(records[0].contact)! as RemoveItem;
      const out = await remove(h, [item]);
      assert.deepEqual(out.get(item), { status: 'deleted' });
      assert.deepEqual(emu.contacts().map((c) => c.firstName), ['Firstp0', 'Firstp1']);
    });
  });
});
