/**
 * The spoke loader against the emulator: what lands in each owner's phonebook, one
 * outcome per contact, owners refused as a whole, batches split to isolate a bad
 * contact, encoded owner emails, phonebook creation, dry run and back-pressure.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { expectedPhonebooks, nonEmptyPhonebooks, startSpokeEmulator } from './emulators/spoke.js';
import { withEmulator, contactsFor, harness, interleave, record, tally } from './helpers/spoke-harness.js';
import { SpokeClient, SpokeRequestError, spokeConfigFromEnv } from '../pipeline/loaders/spoke/client.js';
import { HttpClient } from '../pipeline/loaders/http.js';
import { ImportError } from '../pipeline/errors.js';

describe('spoke loader: loading', () => {
  test('a multi-owner load leaves exactly the expected phonebooks, in batches of batchSize per owner', async () => {
    const a = contactsFor('alice@acme.com', 23);
    const b = contactsFor('bob@acme.com', 10);
    const c = contactsFor('carol@acme.com', 1);
    const records = interleave(a, b, c);
    await withEmulator({}, { batchSize: 5, concurrency: 3 }, async (emu, h) => {
      await h.loader.open();
      await h.load(records);

      assert.deepEqual(nonEmptyPhonebooks(emu.state), expectedPhonebooks(records.map((r) => r.contact)));
      h.assertAllSettled(records);
      for (const r of records) {
        assert.deepEqual(h.outcome(r), { status: 'success', targetId: r.contact.id, action: 'upserted' });
      }
      const puts = emu.requests('PUT /phonebooks/:email/contacts');
      // ceil(23/5) + ceil(10/5) + ceil(1/5): no contact sent twice, none left behind.
      assert.equal(puts.length, 5 + 2 + 1);
      const sent = puts.flatMap((p) => p.ids!);
      assert.equal(sent.length, records.length);
      assert.equal(new Set(sent).size, records.length);
      for (const p of puts) {
        assert.ok(p.ids!.length <= 5, `a PUT carried ${p.ids!.length} contacts`);
        assert.ok(p.ids!.every((id) => id.startsWith(p.email!.split('@')[0])), 'a batch holds one owner only');
      }
      assert.equal(emu.state.tokenIssued, 1, 'one token for the whole run');
    });
  });

  test('batch size and concurrency come from the mapping when the command line does not set them', async () => {
    const records = interleave(contactsFor('a@x.com', 8), contactsFor('b@x.com', 8));
    await withEmulator({ faults: { latencyMs: 30 } }, { mappingSpoke: { batchSize: 4, concurrency: 1 } }, async (emu, h) => {
      await h.loader.open();
      await h.load(records);
      const puts = emu.requests('PUT /phonebooks/:email/contacts');
      assert.deepEqual(puts.map((p) => p.ids!.length), [4, 4, 4, 4]);
      assert.equal(emu.state.maxInFlight, 1);
      assert.deepEqual(tally(h, records), { 'success:upserted': 16 });
    });
  });

  test('extra phones and emails are reported in the outcome notes, not lost silently', async () => {
    const r = record({ id: 'multi-1', owner: 'a@x.com', name: 'Multi', phones: ['+14155550100', '+14155550101'], emails: ['m1@x.com', 'm2@x.com'] });
    await withEmulator({}, {}, async (emu, h) => {
      await h.loader.open();
      await h.load([r]);
      const o = h.outcome(r);
      assert.equal(o.status, 'success');
      assert.deepEqual(o.notes, ['not sent to Spoke (one phone field): +14155550101', 'not sent to Spoke (one email field): m2@x.com']);
      assert.deepEqual(emu.state.phonebooks.get('a@x.com')!.get('multi-1'),
        { id: 'multi-1', name: 'Multi', phone: '+14155550100', email: 'm1@x.com', managedBy: 'system' });
    });
  });

  test('a second load with changed fields upserts by id: no duplicates, the new values win', async () => {
    const emu = await startSpokeEmulator();
    const first = contactsFor('a@x.com', 6);
    const second = first.map((r) => record({ id: r.contact.id, owner: 'a@x.com', name: `${r.contact.name} (moved)`, company: 'NewCo' }));
    try {
      for (const records of [first, second]) {
        const h = harness(emu, { batchSize: 4 });
        await h.loader.open();
        await h.load(records);
        assert.deepEqual(tally(h, records), { 'success:upserted': 6 });
        h.close();
      }
      assert.deepEqual(nonEmptyPhonebooks(emu.state), expectedPhonebooks(second.map((r) => r.contact)));
    } finally {
      await emu.close();
    }
  });

  test('a contact without owner or id fails REQUIRED_MISSING and is never sent', async () => {
    const noOwner = record({ id: 'x1', name: 'No Owner' });
    const noId = record({ owner: 'a@x.com', name: 'No Id' });
    const ok = record({ id: 'x2', owner: 'a@x.com', name: 'Fine' });
    await withEmulator({}, {}, async (emu, h) => {
      await h.loader.open();
      await h.load([noOwner, noId, ok]);
      assert.deepEqual(h.outcome(noOwner), { status: 'failed', code: 'REQUIRED_MISSING', error: 'spoke needs owner on every contact' });
      assert.deepEqual(h.outcome(noId), { status: 'failed', code: 'REQUIRED_MISSING', error: 'spoke needs id on every contact' });
      assert.equal(h.outcome(ok).status, 'success');
      assert.deepEqual(emu.requests('PUT /phonebooks/:email/contacts').map((p) => p.ids), [['x2']]);
    });
  });

  test('owner emails with + # % & / ? are percent-encoded in the path and land in the right phonebook', async () => {
    const owners = ['sales+west@acme.com', 'ops#1@acme.com', 'pct%41@acme.com', 'a&b=c@acme.com', 'slash/x@acme.com', 'q?u@acme.com'];
    const records = interleave(...owners.map((o, i) => contactsFor(o, 2, `o${i}`)));
    await withEmulator({}, { batchSize: 10 }, async (emu, h) => {
      await h.loader.open();
      await h.load(records);
      assert.deepEqual(tally(h, records), { 'success:upserted': 12 });
      assert.deepEqual(nonEmptyPhonebooks(emu.state), expectedPhonebooks(records.map((r) => r.contact)));
      const paths = emu.requests('PUT /phonebooks/:email/contacts').map((p) => p.rawPath).sort();
      assert.deepEqual(paths, [
        '/phonebooks/a%26b%3Dc%40acme.com/contacts',
        '/phonebooks/ops%231%40acme.com/contacts',
        '/phonebooks/pct%2541%40acme.com/contacts',
        '/phonebooks/q%3Fu%40acme.com/contacts',
        '/phonebooks/sales%2Bwest%40acme.com/contacts',
        '/phonebooks/slash%2Fx%40acme.com/contacts',
      ]);
      // "%41" must stay literal: decoded twice it would have become "pctA".
      assert.ok(emu.state.phonebooks.has('pct%41@acme.com'));
      assert.ok(!emu.state.phonebooks.has('pcta@acme.com'));
    });
  });
});

describe('spoke loader: refused owners and rejected contacts', () => {
  test('unknown owner -> OWNER_NOT_FOUND, forbidden owner -> OWNER_FORBIDDEN, one request each, nobody else affected', async () => {
    const emu = await startSpokeEmulator({ users: ['alice@acme.com', 'bob@acme.com'], forbiddenUsers: ['frank@acme.com'] });
    const alice = contactsFor('alice@acme.com', 7);
    const ghost = contactsFor('ghost@acme.com', 9);
    const frank = contactsFor('frank@acme.com', 5);
    const bob = contactsFor('bob@acme.com', 4);
    const records = interleave(alice, ghost, frank, bob);
    // One request at a time, so "no request after the refusal" is exact.
    const h = harness(emu, { batchSize: 3, concurrency: 1 });
    try {
      await h.loader.open();
      await h.load(records);
      h.assertAllSettled(records);
      for (const r of ghost) {
        assert.deepEqual(h.outcome(r), { status: 'failed', code: 'OWNER_NOT_FOUND',
          error: 'PUT /phonebooks/ghost%40acme.com/contacts answered 404: No user found with email ghost@acme.com' });
      }
      for (const r of frank) {
        const o = h.outcome(r);
        assert.equal(o.status, 'failed');
        assert.equal(o.code, 'OWNER_FORBIDDEN');
        assert.match(o.error!, /^PUT \/phonebooks\/frank%40acme\.com\/contacts answered 403: Access denied/);
      }
      for (const r of [...alice, ...bob]) assert.equal(h.outcome(r).status, 'success');
      assert.equal(emu.requests('PUT /phonebooks/:email/contacts', 'ghost@acme.com').length, 1);
      assert.equal(emu.requests('PUT /phonebooks/:email/contacts', 'frank@acme.com').length, 1);
      assert.deepEqual(nonEmptyPhonebooks(emu.state), expectedPhonebooks([...alice, ...bob].map((r) => r.contact)));
      assert.equal(h.notes.filter((n) => n.includes('ghost@acme.com')).length, 1);
      assert.equal(h.notes.filter((n) => n.includes('frank@acme.com')).length, 1);
    } finally {
      h.close();
      await emu.close();
    }
  });

  test('a poisoned batch is split in halves until the bad contact is alone; only it fails, with the server message', async () => {
    const emu = await startSpokeEmulator();
    const records = Array.from({ length: 8 }, (_, i) => record({
      id: `p${i}`, owner: 'a@x.com', name: i === 4 ? 'POISON pill' : `Fine ${i}`, phones: [`+4420794600${10 + i}`],
    }));
    const h = harness(emu, { batchSize: 8, concurrency: 2 });
    try {
      await h.loader.open();
      await h.load(records);
      assert.deepEqual(emu.requests('PUT /phonebooks/:email/contacts').map((p) => [p.ids!.join(','), p.status]), [
        ['p0,p1,p2,p3,p4,p5,p6,p7', 400],
        ['p0,p1,p2,p3', 200],
        ['p4,p5,p6,p7', 400],
        ['p4,p5', 400],
        ['p4', 400],
        ['p5', 200],
        ['p6,p7', 200],
      ]);
      assert.deepEqual(h.outcome(records[4]), { status: 'failed', code: 'TARGET_REJECTED',
        error: 'PUT /phonebooks/a%40x.com/contacts answered 400: contacts[0] (id "p4"): the contact was rejected by a validation rule' });
      for (const r of records.filter((_, i) => i !== 4)) assert.equal(h.outcome(r).status, 'success');
      assert.deepEqual([...emu.state.phonebooks.get('a@x.com')!.keys()].sort(), ['p0', 'p1', 'p2', 'p3', 'p5', 'p6', 'p7']);
    } finally {
      h.close();
      await emu.close();
    }
  });

  test('a contact the API refuses for its phone fails alone with the message naming it', async () => {
    const good = contactsFor('a@x.com', 3);
    const bad = record({ id: 'badphone', owner: 'a@x.com', name: 'Bad Phone', phones: ['0044 20 7946'] });
    const records = [good[0], bad, good[1], good[2]];
    await withEmulator({}, { batchSize: 4 }, async (emu, h) => {
      await h.loader.open();
      await h.load(records);
      const o = h.outcome(bad);
      assert.equal(o.code, 'TARGET_REJECTED');
      assert.equal(o.error, 'PUT /phonebooks/a%40x.com/contacts answered 400: contacts[0] (id "badphone"): phone "0044 20 7946" is not in E.164 format');
      for (const r of good) assert.equal(h.outcome(r).status, 'success');
    });
  });

  test('413 (too many contacts in one PUT) splits the batch and every contact still lands', async () => {
    const records = contactsFor('a@x.com', 10);
    await withEmulator({ maxContactsPerPut: 3 }, { batchSize: 10 }, async (emu, h) => {
      await h.loader.open();
      await h.load(records);
      assert.deepEqual(tally(h, records), { 'success:upserted': 10 });
      assert.deepEqual(emu.requests('PUT /phonebooks/:email/contacts').map((p) => [p.ids!.length, p.status]),
        [[10, 413], [5, 413], [3, 200], [2, 200], [5, 413], [3, 200], [2, 200]]);
      assert.deepEqual(nonEmptyPhonebooks(emu.state), expectedPhonebooks(records.map((r) => r.contact)));
    });
  });
});

describe('spoke loader: createPhonebooks', () => {
  test('POSTs the personal phonebook once per owner before its first PUT; "already exists" (409) is fine; unknown owner fails', async () => {
    const fresh = contactsFor('new@acme.com', 7);
    const old = contactsFor('old@acme.com', 3);
    const ghost = contactsFor('ghost@acme.com', 4);
    const records = interleave(fresh, old, ghost);
    await withEmulator({
      users: ['new@acme.com', 'old@acme.com'], autoCreatePhonebooks: false, existingPhonebooks: ['old@acme.com'],
    }, { batchSize: 3, concurrency: 2, flags: { createPhonebooks: true } }, async (emu, h) => {
      await h.loader.open();
      await h.load(records);
      const posts = emu.requests('POST /phonebooks');
      assert.deepEqual(posts.map((p) => [p.email, p.status]).sort(),
        [['ghost@acme.com', 404], ['new@acme.com', 201], ['old@acme.com', 409]]);
      for (const owner of ['new@acme.com', 'old@acme.com']) {
        const post = posts.find((p) => p.email === owner)!;
        const puts = emu.requests('PUT /phonebooks/:email/contacts', owner);
        assert.ok(puts.length > 0 && puts.every((p) => p.start > post.end), `PUTs for ${owner} came after its POST`);
      }
      assert.deepEqual(emu.state.phonebookInfo.get('new@acme.com'),
        { id: 'pb_2', name: 'My Assigned Contacts', scope: 'personal', ownerId: 'new@acme.com' });
      assert.equal(emu.requests('PUT /phonebooks/:email/contacts', 'ghost@acme.com').length, 0);
      for (const r of ghost) {
        const o = h.outcome(r);
        assert.equal(o.code, 'OWNER_NOT_FOUND');
        assert.match(o.error!, /^could not create the personal phonebook: POST \/phonebooks answered 404: No user found/);
      }
      assert.deepEqual(tally(h, [...fresh, ...old]), { 'success:upserted': 10 });
      assert.deepEqual(nonEmptyPhonebooks(emu.state), expectedPhonebooks([...fresh, ...old].map((r) => r.contact)));
      assert.ok(h.notes.includes('spoke: created the "My Assigned Contacts" personal phonebook for 1 owner(s)'));
    });
  });

  test('"already exists" answered as 400 with a message is success too', async () => {
    const records = contactsFor('old@acme.com', 2);
    await withEmulator({ autoCreatePhonebooks: false, existingPhonebooks: ['old@acme.com'], phonebookExistsStatus: 400 }, { flags: { createPhonebooks: true } }, async (emu, h) => {
      await h.loader.open();
      await h.load(records);
      assert.deepEqual(emu.requests('POST /phonebooks').map((p) => p.status), [400]);
      assert.deepEqual(tally(h, records), { 'success:upserted': 2 });
    });
  });

  test('a POST whose answer is lost is not re-sent blindly: the loader looks first and finds it landed', async () => {
    const records = contactsFor('new@acme.com', 2);
    await withEmulator({ autoCreatePhonebooks: false, faults: { script: [{ route: 'POST /phonebooks', drop: 'after-apply' }] } }, { flags: { createPhonebooks: true } }, async (emu, h) => {
      await h.loader.open();
      await h.load(records);
      assert.deepEqual(emu.requests('POST /phonebooks').map((p) => p.status), [0]);
      assert.deepEqual(emu.requests('GET /phonebooks/:email').map((p) => p.status), [200]);
      assert.deepEqual(tally(h, records), { 'success:upserted': 2 });
    });
  });

  test('without the flag, an owner whose phonebook does not exist fails OWNER_NOT_FOUND', async () => {
    const records = contactsFor('new@acme.com', 2);
    await withEmulator({ autoCreatePhonebooks: false }, {}, async (emu, h) => {
      await h.loader.open();
      await h.load(records);
      assert.equal(emu.requests('POST /phonebooks').length, 0);
      assert.deepEqual(tally(h, records), { 'failed:OWNER_NOT_FOUND': 2 });
    });
  });
});

describe('spoke loader: dry run, back-pressure, interruption', () => {
  test('dry run gets a token, sends no PUT and settles each contact would-upsert', async () => {
    const records = interleave(contactsFor('a@x.com', 5), contactsFor('b@x.com', 5));
    await withEmulator({}, { dryRun: true, flags: { createPhonebooks: true } }, async (emu, h) => {
      await h.loader.open();
      await h.load(records);
      assert.equal(emu.state.tokenIssued, 1);
      assert.deepEqual(emu.state.counts.byRoute, { 'POST /oauth/token': 1 });
      for (const r of records) assert.deepEqual(h.outcome(r), { status: 'success', targetId: r.contact.id, action: 'would-upsert' });
    });
  });

  test('write() holds back when requests are in flight: unsettled contacts stay bounded', async () => {
    const emu = await startSpokeEmulator({ faults: { latencyMs: 15 } });
    const records = contactsFor('a@x.com', 200);
    // Bound: one owner buffer (< batchSize) + (concurrency in flight + concurrency queued) batches.
    const h = harness(emu, { batchSize: 5, concurrency: 2 });
    try {
      await h.loader.open();
      await h.load(records);
      assert.deepEqual(tally(h, records), { 'success:upserted': 200 });
      assert.ok(h.maxUnsettled <= 4 + 4 * 5, `up to ${h.maxUnsettled} contacts were held at once`);
      assert.ok(emu.state.maxInFlight <= 2);
    } finally {
      h.close();
      await emu.close();
    }
  });

  test('many owners with few contacts each are flushed early once maxBuffered is reached', async () => {
    const records = Array.from({ length: 60 }, (_, i) => contactsFor(`owner${i}@x.com`, 1)[0]);
    await withEmulator({}, { batchSize: 100, concurrency: 2, tuning: { maxBuffered: 10 } }, async (emu, h) => {
      await h.loader.open();
      await h.load(records);
      assert.deepEqual(tally(h, records), { 'success:upserted': 60 });
      assert.ok(h.maxUnsettled <= 11 + 4, `up to ${h.maxUnsettled} contacts were held at once`);
      assert.equal(emu.requests('PUT /phonebooks/:email/contacts').length, 60);
    });
  });

  test('an interrupted run finishes the batch in flight, sends nothing new and throws INTERRUPTED', async () => {
    const records = contactsFor('a@x.com', 30);
    await withEmulator({ faults: { latencyMs: 20 } }, { batchSize: 5, concurrency: 1 }, async (emu, h) => {
      await h.loader.open();
      for (const r of records.slice(0, 10)) await h.loader.write(r);
      h.abort.abort();
      await assert.rejects(h.loader.write(records[10]), (e: unknown) => e instanceof ImportError && e.code === 'INTERRUPTED');
      await assert.rejects(h.loader.close(), (e: unknown) => e instanceof ImportError && e.code === 'INTERRUPTED');
      const landed = [...(emu.state.phonebooks.get('a@x.com')?.keys() ?? [])];
      // Whatever was settled success is stored; nothing else was sent after the signal.
      for (const r of records) {
        const o = h.outcomes.get(r);
        if (o) assert.equal(o.status, 'success');
        assert.equal(landed.includes(r.contact.id!), o !== undefined, `row ${r.ref.row}: stored iff settled`);
      }
      assert.ok(landed.length <= 10);
    });
  });
});

describe('spoke client: reads and deletes for the nightly mirror', () => {
  test('listContacts returns the stored contacts; deleteContact deletes, then reports absent', async () => {
    const emu = await startSpokeEmulator({ users: ['a+b@x.com'] });
    const http = new HttpClient({ retry: { baseDelayMs: 5 } });
    const records = contactsFor('a+b@x.com', 3, 'ab');
    const h = harness(emu);
    try {
      await h.loader.open();
      await h.load(records);
      const client = new SpokeClient(http, spokeConfigFromEnv(emu.env));
      const listed = await client.listContacts('a+b@x.com');
      assert.deepEqual(listed.map((c) => c.id).sort(), ['ab-0', 'ab-1', 'ab-2']);
      assert.equal(await client.deleteContact('a+b@x.com', 'ab-1'), 'deleted');
      assert.equal(await client.deleteContact('a+b@x.com', 'ab-1'), 'absent');
      assert.deepEqual([...emu.state.phonebooks.get('a+b@x.com')!.keys()].sort(), ['ab-0', 'ab-2']);
      assert.deepEqual(emu.requests('DELETE /phonebooks/:email/contacts/:id').map((r) => r.rawPath),
        ['/phonebooks/a%2Bb%40x.com/contacts/ab-1', '/phonebooks/a%2Bb%40x.com/contacts/ab-1']);
      await assert.rejects(client.listContacts('nobody@x.com'),
        (e: unknown) => e instanceof SpokeRequestError && e.status === 404 && e.path === '/phonebooks/nobody%40x.com/contacts');
    } finally {
      h.close();
      http.close();
      await emu.close();
    }
  });
});
