/**
 * The genesys loader against the emulator: what it reads first, what it creates,
 * updates or leaves alone, numbers owned by users and queues, input contacts that
 * share a phone or a name, rejected contacts, credentials, dry run, back-pressure and
 * interruption.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expectedCustom, GENESYS_AGENT, GENESYS_NOBODY, startGenesysEmulator, type GenesysEmulator } from './emulators/genesys.js';
import { withEmulator, customers, harness, record, tally } from './helpers/genesys-harness.js';
import { ImportError } from '../pipeline/errors.js';
import { GenesysClient, genesysConfigFromEnv } from '../pipeline/loaders/genesys/client.js';
import { HttpClient } from '../pipeline/loaders/http.js';

const idOf = (emu: GenesysEmulator, phoneNumber: string) => {
  const found = emu.state.customWithIds().filter((c) => c.phoneNumber === phoneNumber);
  assert.equal(found.length, 1, `exactly one custom contact with ${phoneNumber}`);
  return found[0].id;
};

describe('genesys loader: loading', () => {
  test('a fresh load reads Custom, User and Queue contacts, then leaves exactly the expected custom contacts, one POST each', async () => {
    const records = customers(25);
    await withEmulator({ faults: { latencyMs: [0, 4] } }, { concurrency: 4 }, async (emu, h) => {
      await h.load(records);
      assert.deepEqual(emu.state.custom(), expectedCustom(records.map((r) => r.contact)));
      h.assertAllSettled(records);
      for (const r of records) {
        assert.deepEqual(h.outcome(r), { status: 'success', targetId: idOf(emu, r.contact.phones[0].e164), action: 'created' });
      }
      assert.deepEqual(emu.state.log.slice(0, 3).map((l) => `${l.method} ${l.path}`).sort(),
        ['GET /contacts?type=Custom', 'GET /contacts?type=Queue', 'GET /contacts?type=User']);
      assert.deepEqual(emu.state.requests, { 'GET /contacts': 3, 'POST /contacts': 25 });
      assert.ok(emu.state.maxInFlight <= 4, `at most 4 requests in flight, saw ${emu.state.maxInFlight}`);
      // The User and the Queue are still there, untouched.
      assert.equal(emu.state.contacts.size, 2 + 25);
    });
  });

  test('a second load of the same contacts settles every contact unchanged and sends zero writes', async () => {
    const emu = await startGenesysEmulator();
    const first = customers(12);
    const again = customers(12);
    const h1 = harness(emu, { concurrency: 3 });
    const h2 = harness(emu, { concurrency: 3 });
    try {
      await h1.load(first);
      const before = emu.state.custom();
      const writes = emu.state.writeRequests();
      const gets = emu.state.requests['GET /contacts'];
      await h2.load(again);
      h2.assertAllSettled(again);
      again.forEach((r, i) => {
        assert.deepEqual(h2.outcome(r), { status: 'unchanged', targetId: h1.outcome(first[i]).targetId, action: 'unchanged' });
      });
      assert.equal(emu.state.writeRequests(), writes, 'no POST, PUT or DELETE on the second load');
      assert.equal(emu.state.requests['GET /contacts'], gets + 3, 'the second load only read what exists');
      assert.deepEqual(emu.state.custom(), before);
    } finally {
      h1.close();
      h2.close();
      await emu.close();
    }
  });

  test('existing contacts: a changed name is a PUT, a number written another way on the server still matches, a name match updates the phone', async () => {
    const emu = await startGenesysEmulator({
      custom: [
        { name: 'Ann Old', phoneNumber: '+14155552000' },
        { name: 'Bob Stays', phoneNumber: '(415) 555-2001' },
        { name: 'carol smith', phoneNumber: '+14155559999' },
      ],
    });
    const ids = new Map(emu.state.customWithIds().map((c) => [c.name, c.id]));
    const ann = record('Ann New', '+14155552000');
    const bob = record('Bob Stays', '+14155552001');
    const carol = record('Carol Smith', '+14155552002');
    const dan = record('Dan New', '+14155552003');
    const records = [ann, bob, carol, dan];
    const h = harness(emu, { defaultCountry: 'US' });
    try {
      await h.load(records);
      h.assertAllSettled(records);
      assert.deepEqual(h.outcome(ann), { status: 'success', targetId: ids.get('Ann Old'), action: 'updated' });
      assert.deepEqual(h.outcome(bob), { status: 'unchanged', targetId: ids.get('Bob Stays'), action: 'unchanged' });
      assert.deepEqual(h.outcome(carol), { status: 'success', targetId: ids.get('carol smith'), action: 'updated' });
      assert.deepEqual(h.outcome(dan), { status: 'success', targetId: idOf(emu, '+14155552003'), action: 'created' });
      assert.deepEqual(emu.state.customWithIds().map((c) => [c.id, c.name, c.phoneNumber]).sort(), [
        [ids.get('Ann Old'), 'Ann New', '+14155552000'],
        // Unchanged: its number is not rewritten to E.164 just because it is written differently.
        [ids.get('Bob Stays'), 'Bob Stays', '(415) 555-2001'],
        [ids.get('carol smith'), 'Carol Smith', '+14155552002'],
        [idOf(emu, '+14155552003'), 'Dan New', '+14155552003'],
      ].sort());
      assert.deepEqual(emu.state.requests, { 'GET /contacts': 3, 'PUT /contacts/{id}': 2, 'POST /contacts': 1 });
      const puts = emu.state.log.filter((l) => l.method === 'PUT').map((l) => l.path).sort();
      assert.deepEqual(puts, [`/contacts/${ids.get('Ann Old')}`, `/contacts/${ids.get('carol smith')}`].sort());
    } finally {
      h.close();
      await emu.close();
    }
  });

  test('a phone that belongs to a User or a Queue fails TARGET_DUPLICATE naming it, and is not created', async () => {
    const user = record('Someone Else', '+14155550100');
    const queue = record('Support Line', '+14155550199');
    const fine = record('Fine Customer', '+14155552000');
    await withEmulator({}, {}, async (emu, h) => {
      await h.load([user, queue, fine]);
      const u = h.outcome(user);
      assert.equal(u.status, 'failed');
      assert.equal(u.code, 'TARGET_DUPLICATE');
      assert.match(u.error!, /\+14155550100 belongs to the Genesys User contact "Jane Agent"/);
      const q = h.outcome(queue);
      assert.equal(q.code, 'TARGET_DUPLICATE');
      assert.match(q.error!, /\+14155550199 belongs to the Genesys Queue contact "Support Queue"/);
      assert.equal(h.outcome(fine).action, 'created');
      assert.deepEqual(emu.state.custom(), [{ name: 'Fine Customer', phoneNumber: '+14155552000' }]);
      assert.equal(emu.state.requests['POST /contacts'], 1);
    });
  });

  test('input contacts sharing a phone or a name are applied in input order: the later one updates the earlier, never a second POST', async () => {
    const dana = record('Dana', '+14155553000');
    const danaB = record('Dana B', '+14155553000');
    const eve = record('Eve', '+14155553001');
    const eveLower = record('eve', '+14155553002');
    const danaAgain = record('Dana B', '+14155553000');
    const records = [dana, danaB, eve, eveLower, danaAgain];
    await withEmulator({ faults: { latencyMs: 5 } }, { concurrency: 4 }, async (emu, h) => {
      await h.load(records);
      h.assertAllSettled(records);
      const danaId = idOf(emu, '+14155553000');
      const eveId = idOf(emu, '+14155553002');
      assert.deepEqual(h.outcome(dana), { status: 'success', targetId: danaId, action: 'created' });
      assert.deepEqual(h.outcome(danaB), { status: 'success', targetId: danaId, action: 'updated' });
      assert.deepEqual(h.outcome(eve), { status: 'success', targetId: eveId, action: 'created' });
      assert.deepEqual(h.outcome(eveLower), { status: 'success', targetId: eveId, action: 'updated' });
      assert.deepEqual(h.outcome(danaAgain), { status: 'unchanged', targetId: danaId, action: 'unchanged' });
      assert.deepEqual(emu.state.custom(), [{ name: 'Dana B', phoneNumber: '+14155553000' }, { name: 'eve', phoneNumber: '+14155553002' }]);
      assert.deepEqual(emu.state.requests, { 'GET /contacts': 3, 'POST /contacts': 2, 'PUT /contacts/{id}': 2 });
    });
  });

  test('extra phones are reported in the outcome notes; a contact without a name or a phone fails REQUIRED_MISSING unsent', async () => {
    const multi = record('Multi Phone', '+14155552000', '+14155552001');
    const noPhone = record('No Phone');
    const noName = record(undefined, '+14155552002');
    await withEmulator({}, {}, async (emu, h) => {
      await h.load([multi, noPhone, noName]);
      assert.deepEqual(h.outcome(multi), {
        status: 'success', targetId: idOf(emu, '+14155552000'), action: 'created',
        notes: ['not sent to Genesys (one phoneNumber): +14155552001'],
      });
      assert.deepEqual(h.outcome(noPhone), { status: 'failed', code: 'REQUIRED_MISSING', error: 'genesys needs a phone number on every contact' });
      assert.deepEqual(h.outcome(noName), { status: 'failed', code: 'REQUIRED_MISSING', error: 'genesys needs a name on every contact' });
      assert.equal(emu.state.requests['POST /contacts'], 1);
    });
  });
});

describe('genesys loader: rejected contacts', () => {
  test('400 fails that contact TARGET_REJECTED with the method, path, status and server message; the others land', async () => {
    const badNew = record('Bad New', '+14155552001');
    const badUpdate = record('Old', '+14155552009');
    const good = customers(3, 'G', 2100);
    await withEmulator({
      custom: [{ name: 'Old', phoneNumber: '+14155552000' }],
      faults: { rejectPhoneNumbers: ['+14155552001', '+14155552009'] },
    }, {}, async (emu, h) => {
      await h.load([badNew, ...good, badUpdate]);
      assert.deepEqual(h.outcome(badNew), {
        status: 'failed', code: 'TARGET_REJECTED',
        error: `POST ${emu.url}/contacts answered 400: Invalid phoneNumber "+14155552001"`,
      });
      const oldId = emu.state.customWithIds().find((c) => c.name === 'Old')!.id;
      assert.deepEqual(h.outcome(badUpdate), {
        status: 'failed', code: 'TARGET_REJECTED',
        error: `PUT ${emu.url}/contacts/${oldId} answered 400: Invalid phoneNumber "+14155552009"`,
      });
      assert.deepEqual(tally(h, good), { 'success:created': 3 });
      assert.deepEqual(emu.state.custom(), expectedCustom([...good.map((r) => r.contact), record('Old', '+14155552000').contact]));
      // A 400 is not retried.
      assert.equal(emu.state.statuses['400'], 2);
      assert.equal(h.http.stats.retries, 0);
    });
  });

  test('a contact deleted after the read (404 on PUT) is created again with a POST', async () => {
    const emu = await startGenesysEmulator({ custom: [{ name: 'Gone Soon', phoneNumber: '+14155552000' }] });
    const oldId = emu.state.customWithIds()[0].id;
    const r = record('Gone Soon Renamed', '+14155552000');
    const h = harness(emu);
    try {
      await h.loader.open();
      emu.state.contacts.delete(oldId);
      await h.loader.write(r);
      await h.loader.close();
      const newId = idOf(emu, '+14155552000');
      assert.notEqual(newId, oldId);
      assert.deepEqual(h.outcome(r), { status: 'success', targetId: newId, action: 'created' });
      assert.deepEqual(emu.state.log.slice(3).map((l) => `${l.method} ${l.path} ${l.status}`), [
        `PUT /contacts/${oldId} 404`,
        'POST /contacts 200',
      ]);
      assert.deepEqual(emu.state.custom(), [{ name: 'Gone Soon Renamed', phoneNumber: '+14155552000' }]);
    } finally {
      h.close();
      await emu.close();
    }
  });

  test('a read-only user (Agent): each write fails TARGET_REJECTED with the 403 message, unchanged contacts still settle, the run goes on', async () => {
    const same = record('Same', '+14155552000');
    const fresh = customers(3, 'R', 2100);
    await withEmulator({ custom: [{ name: 'Same', phoneNumber: '+14155552000' }] }, { env: { GENESYS_USERNAME: GENESYS_AGENT.username, GENESYS_PASSWORD: GENESYS_AGENT.password } }, async (emu, h) => {
      await h.load([same, ...fresh]);
      assert.equal(h.outcome(same).status, 'unchanged');
      for (const r of fresh) {
        assert.deepEqual(h.outcome(r), {
          status: 'failed', code: 'TARGET_REJECTED',
          error: `POST ${emu.url}/contacts answered 403: Contact Center Admin role required to modify contacts`,
        });
      }
      assert.deepEqual(emu.state.custom(), [{ name: 'Same', phoneNumber: '+14155552000' }]);
    });
  });
});

describe('genesys loader: credentials and configuration', () => {
  test('refused credentials abort open() with AUTH_FAILED naming the variables, never the password; nothing is written', async () => {
    await withEmulator({}, { env: { GENESYS_PASSWORD: 'wrong-password-123' } }, async (emu, h) => {
      const err = await h.loader.open().then(() => undefined, (e: unknown) => e);
      assert.ok(err instanceof ImportError);
      assert.equal(err.code, 'AUTH_FAILED');
      assert.equal(err.kind, 'abort');
      assert.match(err.message, /answered 401.*GENESYS_USERNAME \/ GENESYS_PASSWORD/);
      assert.doesNotMatch(err.message, /wrong-password-123/);
      assert.equal(emu.state.writeRequests(), 0);
    });
  });

  test('a user without any contact role gets AUTH_FORBIDDEN on the read, naming the Contact Center Admin role', async () => {
    await withEmulator({}, { env: { GENESYS_USERNAME: GENESYS_NOBODY.username, GENESYS_PASSWORD: GENESYS_NOBODY.password } }, async (emu, h) => {
      await assert.rejects(h.loader.open(), (e: unknown) => e instanceof ImportError && e.code === 'AUTH_FORBIDDEN'
        && /403/.test(e.message) && /Contact Center Admin/.test(e.message));
    });
  });

  test('credentials revoked mid-run (401 on a POST): the write throws AUTH_FAILED, what landed is settled, nothing more is sent', async () => {
    // 3 reads + 2 creates succeed; the 6th request and every later one answers 401.
    const records = customers(6);
    await withEmulator({ faults: { revokeAfterRequests: 5 } }, { concurrency: 1 }, async (emu, h) => {
      await h.loader.open();
      await h.loader.write(records[0]);
      await h.loader.write(records[1]);
      await assert.rejects(h.loader.write(records[2]), (e: unknown) => e instanceof ImportError && e.code === 'AUTH_FAILED');
      assert.deepEqual(tally(h, records.slice(0, 2)), { 'success:created': 2 });
      assert.equal(h.outcomes.size, 2, 'the refused contact is left for the runner to settle NOT_SENT');
      assert.equal(emu.state.requests['POST /contacts'], 3);
      assert.equal(emu.state.custom().length, 2);
      // The runner may still call close(): it rethrows the abort and sends nothing.
      await assert.rejects(h.loader.close(), (e: unknown) => e instanceof ImportError && e.code === 'AUTH_FAILED');
      assert.equal(emu.state.log.length, 6);
    });
  });

  for (const name of ['GENESYS_API_URL', 'GENESYS_USERNAME', 'GENESYS_PASSWORD']) {
    test(`a missing ${name} is CONFIG_MISSING (usage) naming it, before any request`, async () => {
      await withEmulator({}, { env: { [name]: undefined } }, async (emu, h) => {
        await assert.rejects(h.loader.open(), (e: unknown) => e instanceof ImportError && e.code === 'CONFIG_MISSING'
          && e.kind === 'usage' && e.message.startsWith(`${name} is not set`) && !e.message.includes(emu.env.GENESYS_PASSWORD));
        assert.equal(emu.state.log.length, 0);
      });
    });
  }

  test('GENESYS_API_URL must be an http(s) URL without credentials in it', () => {
    const base = { GENESYS_USERNAME: 'u', GENESYS_PASSWORD: 'secret-pass' };
    assert.throws(() => genesysConfigFromEnv({ ...base, GENESYS_API_URL: 'not a url' }), /GENESYS_API_URL is not a valid URL/);
    assert.throws(() => genesysConfigFromEnv({ ...base, GENESYS_API_URL: 'ftp://host/api' }), /must be an http\(s\) URL/);
    assert.throws(() => genesysConfigFromEnv({ ...base, GENESYS_API_URL: 'https://u:p@host/api' }), /must not contain a user name or password/);
    assert.deepEqual(genesysConfigFromEnv({ ...base, GENESYS_API_URL: 'https://host/gws/api/v2/' }),
      { baseUrl: 'https://host/gws/api/v2', username: 'u', password: 'secret-pass' });
  });

  test('the API base may have a path; concurrency comes from the mapping when the command line does not set it', async () => {
    const records = customers(6);
    await withEmulator({ basePath: '/gws/api/v2', faults: { latencyMs: 10 } }, { mappingConcurrency: 1 }, async (emu, h) => {
      await h.loader.open();
      // open() reads the three contact types in parallel; what is bounded is the writes.
      emu.state.maxInFlight = 0;
      for (const r of records) await h.loader.write(r);
      await h.loader.close();
      assert.deepEqual(tally(h, records), { 'success:created': 6 });
      assert.deepEqual(emu.state.custom(), expectedCustom(records.map((r) => r.contact)));
      assert.ok(emu.state.log.every((l) => l.path.startsWith('/gws/api/v2/contacts')));
      assert.equal(emu.state.maxInFlight, 1);
    });
  });
});

describe('genesys loader: dry run', () => {
  test('reads and plans as usual, writes nothing, settles would-create / would-update / unchanged and writes genesys-plan.csv', async () => {
    const emu = await startGenesysEmulator({
      custom: [{ name: 'Ann Old', phoneNumber: '+14155552000' }, { name: 'Bob', phoneNumber: '+14155552001' }],
    });
    const annId = emu.state.customWithIds().find((c) => c.name === 'Ann Old')!.id;
    const bobId = emu.state.customWithIds().find((c) => c.name === 'Bob')!.id;
    const before = emu.state.custom();
    const ann = record('Ann New', '+14155552000');
    const bob = record('Bob', '+14155552001');
    const cid = record('Cid', '+14155552002');
    const cidRenamed = record('Cid Two', '+14155552002');
    const user = record('Not Jane', '+14155550100');
    const records = [ann, bob, cid, cidRenamed, user];
    const h = harness(emu, { dryRun: true });
    try {
      await h.load(records);
      h.assertAllSettled(records);
      assert.deepEqual(h.outcome(ann), { status: 'success', targetId: annId, action: 'would-update' });
      assert.deepEqual(h.outcome(bob), { status: 'unchanged', targetId: bobId, action: 'unchanged' });
      assert.deepEqual(h.outcome(cid), { status: 'success', action: 'would-create' });
      // Planned against the contact the run would have created just before: no id yet.
      assert.deepEqual(h.outcome(cidRenamed), { status: 'success', action: 'would-update' });
      assert.equal(h.outcome(user).code, 'TARGET_DUPLICATE');
      assert.equal(emu.state.writeRequests(), 0);
      assert.deepEqual(emu.state.requests, { 'GET /contacts': 3 });
      assert.deepEqual(emu.state.custom(), before);
      assert.deepEqual(h.notes, ['plan: 1 create, 2 update, 1 unchanged, 1 fail']);
      const csv = readFileSync(path.join(h.outDir, 'genesys-plan.csv'), 'utf8');
      assert.equal(csv, '\uFEFF' + [
        'action,id,name,phoneNumber,previousName,previousPhoneNumber,rows',
        `update,${annId},Ann New,+14155552000,Ann Old,+14155552000,${ann.ref.row}`,
        `unchanged,${bobId},Bob,+14155552001,,,${bob.ref.row}`,
        `create,,Cid,+14155552002,,,${cid.ref.row}`,
        `update,,Cid Two,+14155552002,Cid,+14155552002,${cidRenamed.ref.row}`,
        `fail,,Not Jane,+14155550100,,,${user.ref.row}`,
      ].join('\r\n') + '\r\n');
    } finally {
      h.close();
      await emu.close();
    }
  });
});

describe('genesys loader: back-pressure and interruption', () => {
  test('write() resolves while fewer than `concurrency` writes are in flight, and waits otherwise', async () => {
    const records = customers(12);
    await withEmulator({ faults: { latencyMs: 15 } }, { concurrency: 3 }, async (emu, h) => {
      await h.loader.open();
      emu.state.maxInFlight = 0;
      let maxUnsettled = 0;
      for (const [i, r] of records.entries()) {
        await h.loader.write(r);
        maxUnsettled = Math.max(maxUnsettled, i + 1 - h.outcomes.size);
      }
      await h.loader.close();
      assert.ok(maxUnsettled >= 1 && maxUnsettled <= 3, `unsettled after write(): ${maxUnsettled}`);
      assert.equal(emu.state.maxInFlight, 3);
      assert.deepEqual(tally(h, records), { 'success:created': 12 });
    });
  });

  test('an interrupted run finishes the writes in flight, sends nothing new and throws INTERRUPTED', async () => {
    const records = customers(5);
    await withEmulator({ faults: { latencyMs: 20 } }, { concurrency: 2 }, async (emu, h) => {
      await h.loader.open();
      await h.loader.write(records[0]);
      await h.loader.write(records[1]);
      h.abort.abort();
      await assert.rejects(h.loader.write(records[2]), (e: unknown) => e instanceof ImportError && e.code === 'INTERRUPTED');
      // Both writes in flight were finished and settled.
      assert.deepEqual(tally(h, records.slice(0, 2)), { 'success:created': 2 });
      assert.equal(h.outcomes.size, 2);
      assert.equal(emu.state.requests['POST /contacts'], 2);
      await assert.rejects(h.loader.close(), (e: unknown) => e instanceof ImportError && e.code === 'INTERRUPTED');
    });
  });
});

describe('genesys client: reads and deletes for the nightly mirror', () => {
  test('listContacts filters on the server; deleteContact removes a custom contact, answers 404 once gone, 403 for a User', async () => {
    const emu = await startGenesysEmulator({ custom: [{ name: 'To Delete', phoneNumber: '+14155552000' }, { name: 'Keep', phoneNumber: '+14155552001' }] });
    const http = new HttpClient({ retry: { baseDelayMs: 5 } });
    const client = new GenesysClient(http, genesysConfigFromEnv(emu.env));
    try {
      const [target] = await client.listContacts({ type: 'custom', name: 'to delete' });
      assert.equal(target.name, 'To Delete');
      assert.deepEqual(await client.deleteContact(target.id), { ok: true, status: 200, contact: { id: target.id } });
      const again = await client.deleteContact(target.id);
      assert.equal(again.ok, false);
      assert.equal(again.status, 404);
      const [jane] = await client.listContacts({ type: 'User' });
      const forbidden = await client.deleteContact(jane.id);
      assert.equal(forbidden.status, 403);
      assert.deepEqual(emu.state.custom(), [{ name: 'Keep', phoneNumber: '+14155552001' }]);
    } finally {
      http.close();
      await emu.close();
    }
  });
});
