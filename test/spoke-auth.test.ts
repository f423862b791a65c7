/**
 * The spoke loader's OAuth client-credentials handling: configuration, refused
 * credentials, tokens that expire mid-run, one shared refresh for concurrent 401s, and
 * no secret in any message.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { closedPort } from './helpers/closed-port.js';
import { expectedPhonebooks, nonEmptyPhonebooks, SPOKE_TEST_CLIENT_SECRET, startSpokeEmulator } from './emulators/spoke.js';
import { withEmulator, contactsFor, harness, interleave, tally } from './helpers/spoke-harness.js';
import { ImportError } from '../pipeline/errors.js';

const isCode = (code: string) => (e: unknown) => e instanceof ImportError && e.code === code;

describe('spoke auth: configuration and credentials', () => {
  for (const name of ['SPOKE_CLIENT_ID', 'SPOKE_CLIENT_SECRET']) {
    test(`missing ${name} -> CONFIG_MISSING naming it, nothing sent`, async () => {
      await withEmulator({}, { env: { [name]: undefined } }, async (emu, h) => {
        await assert.rejects(h.loader.open(), (e: unknown) => isCode('CONFIG_MISSING')(e) && (e as Error).message.includes(name));
        assert.equal(emu.state.counts.requests, 0);
      });
    });
  }

  test('a malformed SPOKE_API_URL is a usage error naming the variable', async () => {
    await withEmulator({}, { env: { SPOKE_API_URL: 'integration.spokephone.com' } }, async (emu, h) => {
      await assert.rejects(h.loader.open(), (e: unknown) => isCode('CONFIG_MISSING')(e) && /SPOKE_API_URL/.test((e as Error).message));
    });
  });

  test('SPOKE_AUTH_URL written as the full token URL (as Spoke\'s documents show it) works like the host alone', async () => {
    for (const suffix of ['/oauth/token', '/oauth/token/']) {
      const emu = await startSpokeEmulator({});
      const h = harness(emu, { env: { SPOKE_AUTH_URL: `${emu.env.SPOKE_AUTH_URL!.replace(/\/+$/, '')}${suffix}` } });
      try {
        await h.loader.open();
        const records = contactsFor('a@x.com', 3);
        await h.load(records);
        assert.deepEqual(tally(h, records), { 'success:upserted': 3 });
        assert.deepEqual(emu.requests('POST /oauth/token').map((r) => r.status), [200], `${suffix}: one token, from the documented path`);
      } finally {
        h.close();
        await emu.close();
      }
    }
  });

  test('a wrong client secret -> AUTH_FAILED from open(), naming the variables but not the secret; zero PUTs', async () => {
    const wrong = 'wrong-secret-value-42';
    await withEmulator({}, { env: { SPOKE_CLIENT_SECRET: wrong } }, async (emu, h) => {
      const err = await h.loader.open().then(() => undefined, (e: unknown) => e);
      assert.ok(isCode('AUTH_FAILED')(err), `expected AUTH_FAILED, got ${String(err)}`);
      const msg = (err as ImportError).message;
      assert.match(msg, /check SPOKE_CLIENT_ID \/ SPOKE_CLIENT_SECRET/);
      assert.match(msg, /POST \/oauth\/token answered 401/);
      assert.ok(!msg.includes(wrong) && !msg.includes(SPOKE_TEST_CLIENT_SECRET), 'no secret in the message');
      assert.equal(emu.state.tokenIssued, 0);
      assert.equal(emu.requests('PUT /phonebooks/:email/contacts').length, 0);
      assert.deepEqual(emu.requests('POST /oauth/token').map((r) => r.status), [401], 'a refused credential is not retried');
    });
  });

  test('a token endpoint that answers 503 once is retried; one that is unreachable is TARGET_UNREACHABLE', async () => {
    const emu = await startSpokeEmulator({ faults: { script: [{ route: 'POST /oauth/token', status: 503 }] } });
    const h = harness(emu);
    const down = harness(emu, { env: { SPOKE_AUTH_URL: `http://127.0.0.1:${await closedPort()}` }, attempts: 2 });
    try {
      await h.loader.open();
      assert.deepEqual(emu.requests('POST /oauth/token').map((r) => r.status), [503, 200]);
      await assert.rejects(down.loader.open(), (e: unknown) => isCode('TARGET_UNREACHABLE')(e) && /SPOKE_AUTH_URL/.test((e as Error).message));
    } finally {
      h.close();
      down.close();
      await emu.close();
    }
  });
});

describe('spoke auth: tokens during the run', () => {
  test('tokens with a 1 s lifetime expiring mid-run are refreshed: no failed rows, exact phonebooks', async () => {
    const records = interleave(contactsFor('a@x.com', 110), contactsFor('b@x.com', 90));
    await withEmulator({ tokenTtlSec: 1, faults: { latencyMs: { min: 60, max: 140 } }, seed: 7 }, { batchSize: 5, concurrency: 2 }, async (emu, h) => {
      await h.loader.open();
      const started = performance.now();
      await h.load(records);
      const seconds = (performance.now() - started) / 1000;
      assert.deepEqual(tally(h, records), { 'success:upserted': 200 });
      assert.deepEqual(nonEmptyPhonebooks(emu.state), expectedPhonebooks(records.map((r) => r.contact)));
      // The run outlived several tokens: each second needs at least one new one.
      assert.ok(seconds > 1.5, `the run lasted ${seconds.toFixed(2)} s; it must outlive a token for this test to mean anything`);
      assert.ok(emu.state.tokenIssued >= Math.floor(seconds), `${emu.state.tokenIssued} tokens in ${seconds.toFixed(2)} s`);
    });
  });

  test('the server dropping tokens early (401) is met by a refresh and a retry: no failed rows', async () => {
    const records = interleave(contactsFor('a@x.com', 40), contactsFor('b@x.com', 40));
    await withEmulator({ faults: { tokenMaxUses: 3 } }, { batchSize: 4, concurrency: 3 }, async (emu, h) => {
      await h.loader.open();
      await h.load(records);
      assert.deepEqual(tally(h, records), { 'success:upserted': 80 });
      assert.ok((emu.state.counts.byStatus['401'] ?? 0) > 0, 'the test must actually see 401s');
      assert.deepEqual(nonEmptyPhonebooks(emu.state), expectedPhonebooks(records.map((r) => r.contact)));
    });
  });

  test('concurrent requests that all get 401 share one token refresh', async () => {
    const records = ['a', 'b', 'c', 'd'].flatMap((o) => contactsFor(`${o}@x.com`, 1));
    await withEmulator({ faults: { latencyMs: 40 } }, { batchSize: 10, concurrency: 4 }, async (emu, h) => {
      await h.loader.open();
      for (const r of records) await h.loader.write(r);
      emu.revokeTokens();
      await h.loader.close();
      assert.deepEqual(tally(h, records), { 'success:upserted': 4 });
      assert.equal(emu.state.counts.byStatus['401'], 4);
      assert.equal(emu.state.tokenIssued, 2, 'the first token, then one refresh for all four');
    });
  });

  test('a freshly issued token refused again -> AUTH_FAILED stops the run; nothing is settled as a row failure', async () => {
    const records = contactsFor('a@x.com', 3);
    await withEmulator({ faults: { script: [{ status: 401 }, { status: 401 }] } }, {}, async (emu, h) => {
      await h.loader.open();
      for (const r of records) await h.loader.write(r);
      const err = await h.loader.close().then(() => undefined, (e: unknown) => e);
      assert.ok(isCode('AUTH_FAILED')(err), `expected AUTH_FAILED, got ${String(err)}`);
      assert.match((err as Error).message, /SPOKE_CLIENT_ID \/ SPOKE_CLIENT_SECRET/);
      // The runner settles what the loader could not send as NOT_SENT.
      assert.equal(h.outcomes.size, 0);
      assert.equal(emu.state.tokenIssued, 2);
      assert.equal(emu.state.phonebooks.size, 0);
    });
  });

  test('no outcome, note or error carries the client secret or a token', async () => {
    const records = interleave(contactsFor('a@x.com', 2), contactsFor('ghost@x.com', 2));
    await withEmulator({ users: ['a@x.com'], faults: { rate503: 1 } }, { attempts: 2 }, async (emu, h) => {
      await h.loader.open();
      await h.load(records);
      const text = JSON.stringify([...h.outcomes.values()]) + JSON.stringify(h.notes);
      assert.match(text, /RETRIES_EXHAUSTED/);
      assert.ok(!text.includes(SPOKE_TEST_CLIENT_SECRET));
      assert.ok(!/Bearer|access_token/i.test(text));
    });
  });
});
