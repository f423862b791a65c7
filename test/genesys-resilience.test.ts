/**
 * The genesys loader under an unreliable target. A creating POST is not idempotent, so
 * after a lost answer, a dropped connection or a 5xx the loader looks the contact up
 * before sending it again; a 429 means the server did not act, so it is re-sent as is.
 * Faults come from the emulator's seeded PRNG: each run sees the same sequence.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { expectedCustom, startGenesysEmulator } from './emulators/genesys.js';
import { withEmulator, customers, harness, record, tally } from './helpers/genesys-harness.js';
import { ImportError } from '../pipeline/errors.js';

const lookups = (log: { method: string; path: string }[]) =>
  log.filter((l) => l.method === 'GET' && l.path.includes('phoneNumber=')).map((l) => decodeURIComponent(l.path.split('phoneNumber=')[1]));

describe('genesys resilience: creates are never duplicated', () => {
  test('a POST that landed but whose answer was lost is found by a look-up, not sent again', async () => {
    const r = record('Lost Answer', '+14155552000');
    await withEmulator({ faults: { lostPostNext: 1 } }, {}, async (emu, h) => {
      await h.load([r]);
      const [stored] = emu.state.customWithIds();
      assert.deepEqual(h.outcome(r), { status: 'success', targetId: stored.id, action: 'created' });
      assert.deepEqual(emu.state.custom(), [{ name: 'Lost Answer', phoneNumber: '+14155552000' }]);
      assert.deepEqual(emu.state.log.slice(3).map((l) => `${l.method} ${l.path} ${l.status}`), [
        'POST /contacts dropped',
        'GET /contacts?type=Custom&phoneNumber=%2B14155552000 200',
      ]);
    });
  });

  test('30% of POST answers lost under concurrency: every contact exists exactly once and is reported created', async () => {
    const records = customers(40);
    await withEmulator({ seed: 7, faults: { lostPostRate: 0.3, latencyMs: [0, 3] } }, { concurrency: 4 }, async (emu, h) => {
      await h.load(records);
      h.assertAllSettled(records);
      assert.deepEqual(tally(h, records), { 'success:created': 40 });
      assert.deepEqual(emu.state.custom(), expectedCustom(records.map((r) => r.contact)));
      const dropped = emu.state.statuses.dropped ?? 0;
      assert.ok(dropped > 0, 'some answers were lost');
      // Each lost answer cost one look-up, which found the contact: no POST was repeated.
      assert.equal(lookups(emu.state.log).length, dropped);
      assert.equal(emu.state.requests['POST /contacts'], 40);
      const ids = records.map((r) => h.outcome(r).targetId);
      assert.equal(new Set(ids).size, 40);
      assert.deepEqual(new Set(ids), new Set(emu.state.customWithIds().map((c) => c.id)));
    });
  });

  test('503 on a POST: the loader looks before re-sending, and each contact is created once', async () => {
    const records = customers(20);
    await withEmulator({ seed: 11, faults: { rate503: 0.4, methods: ['POST'] } }, { concurrency: 3, attempts: 10 }, async (emu, h) => {
      await h.load(records);
      assert.deepEqual(tally(h, records), { 'success:created': 20 });
      assert.deepEqual(emu.state.custom(), expectedCustom(records.map((r) => r.contact)));
      const failed = emu.state.statuses['503'] ?? 0;
      assert.ok(failed > 0, 'saw 503s');
      assert.equal(lookups(emu.state.log).length, failed, 'one look-up after each 503');
      assert.equal(emu.state.requests['POST /contacts'], 20 + failed);
      // Each look-up for a phone comes before that phone's next POST: the 503 answers came before anything was stored.
      for (const phone of lookups(emu.state.log)) assert.ok(records.some((r) => r.contact.phones[0].e164 === phone));
    });
  });

  test('429 with Retry-After on a POST is re-sent without a look-up (the server did not act)', async () => {
    const records = customers(15);
    await withEmulator({ seed: 3, faults: { rate429: 0.4, retryAfterSeconds: 0, methods: ['POST'] } }, { concurrency: 2, attempts: 12 }, async (emu, h) => {
      await h.load(records);
      assert.deepEqual(tally(h, records), { 'success:created': 15 });
      assert.deepEqual(emu.state.custom(), expectedCustom(records.map((r) => r.contact)));
      const limited = emu.state.statuses['429'] ?? 0;
      assert.ok(limited > 0, 'saw 429s');
      assert.deepEqual(lookups(emu.state.log), []);
      assert.equal(emu.state.requests['POST /contacts'], 15 + limited);
    });
  });

  test('the server capping requests in flight (429 above the cap): every contact still lands once', async () => {
    const records = customers(16);
    await withEmulator({ faults: { maxInFlight: 2, latencyMs: 5, retryAfterSeconds: 0 } }, { concurrency: 4, attempts: 20 }, async (emu, h) => {
      await h.load(records);
      assert.deepEqual(tally(h, records), { 'success:created': 16 });
      assert.deepEqual(emu.state.custom(), expectedCustom(records.map((r) => r.contact)));
      assert.ok((emu.state.statuses['429'] ?? 0) > 0, 'the cap was hit');
    });
  });

  test('a mix of 503, dropped connections, 429 and lost answers on every route: the end state is exactly the input', async () => {
    const existing = Array.from({ length: 10 }, (_, i) => ({ name: `Old ${i}`, phoneNumber: `+1415555${3000 + i}` }));
    const emu = await startGenesysEmulator({
      seed: 2024,
      custom: existing,
      faults: { rate503: 0.1, dropRate: 0.08, rate429: 0.05, retryAfterSeconds: 0, lostPostRate: 0.1, latencyMs: [0, 3] },
    });
    // The random faults are drawn in the order requests arrive, which the machine's load
    // decides; one of each kind for certain keeps the test from depending on it.
    emu.faults.script.push({ status: 503 }, { status: 429, retryAfterSeconds: 0 }, { drop: true });
    // Renames of the 10 existing contacts (PUT) plus 30 new ones (POST).
    const renames = existing.map((c, i) => record(`Renamed ${i}`, c.phoneNumber));
    const fresh = customers(30, 'M');
    const records = [...renames, ...fresh];
    const h = harness(emu, { concurrency: 4, attempts: 12 });
    try {
      await h.load(records);
      h.assertAllSettled(records);
      assert.deepEqual(tally(h, renames), { 'success:updated': 10 });
      assert.deepEqual(tally(h, fresh), { 'success:created': 30 });
      assert.deepEqual(emu.state.custom(), expectedCustom(records.map((r) => r.contact)));
      for (const k of ['503', '429', 'dropped']) assert.ok((emu.state.statuses[k] ?? 0) > 0, `saw ${k}`);
    } finally {
      h.close();
      await emu.close();
    }
  });
});

describe('genesys resilience: giving up', () => {
  test('503 on every POST: the contact fails RETRIES_EXHAUSTED after the configured attempts, with a look-up before each re-send', async () => {
    const r = record('Never', '+14155552000');
    await withEmulator({ faults: { rate503: 1, methods: ['POST'] } }, { attempts: 3 }, async (emu, h) => {
      await h.load([r]);
      const o = h.outcome(r);
      assert.equal(o.status, 'failed');
      assert.equal(o.code, 'RETRIES_EXHAUSTED');
      assert.match(o.error!, /^POST http:\/\/127\.0\.0\.1:\d+\/contacts answered 503: Service temporarily unavailable \(gave up after 3 attempts; it may have been created/);
      assert.doesNotMatch(o.error!, new RegExp(emu.env.GENESYS_PASSWORD));
      assert.equal(emu.state.requests['POST /contacts'], 3);
      // Before each re-send, and once more before giving up.
      assert.equal(lookups(emu.state.log).length, 3);
      assert.deepEqual(emu.state.custom(), []);
    });
  });

  test('503 on every PUT: retried by the HTTP client, then that contact fails RETRIES_EXHAUSTED and the others land', async () => {
    const rename = record('New', '+14155552000');
    const fresh = customers(2, 'P', 2100);
    await withEmulator({ custom: [{ name: 'Old', phoneNumber: '+14155552000' }], faults: { rate503: 1, methods: ['PUT'] } }, { attempts: 3 }, async (emu, h) => {
      await h.load([rename, ...fresh]);
      const o = h.outcome(rename);
      assert.equal(o.code, 'RETRIES_EXHAUSTED');
      assert.match(o.error!, /^PUT http:\/\/127\.0\.0\.1:\d+\/contacts\/[^ ]+ answered 503/);
      assert.equal(emu.state.requests['PUT /contacts/{id}'], 3);
      assert.deepEqual(tally(h, fresh), { 'success:created': 2 });
    });
  });

  test('a target that never answers the read aborts open() with TARGET_UNREACHABLE', async () => {
    await withEmulator({ faults: { dropRate: 1 } }, { attempts: 2 }, async (emu, h) => {
      await assert.rejects(h.loader.open(), (e: unknown) => e instanceof ImportError && e.code === 'TARGET_UNREACHABLE'
        && /could not read the existing contacts/.test(e.message) && /GENESYS_API_URL/.test(e.message));
      assert.equal(emu.state.writeRequests(), 0);
    });
  });
});
