/**
 * The spoke loader under an unreliable target: 503s and dropped connections, 429 with
 * Retry-After, retries running out, and the bound on requests in flight. Faults come
 * from the emulator's seeded PRNG, so each run sees the same sequence.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { expectedPhonebooks, nonEmptyPhonebooks } from './emulators/spoke.js';
import { withEmulator, contactsFor, interleave, tally } from './helpers/spoke-harness.js';

describe('spoke resilience', () => {
  test('20% of requests failing (503, dropped before or after being applied) -> every contact lands exactly once', async () => {
    const owners = ['a@x.com', 'b@x.com', 'c@x.com', 'd@x.com'];
    const records = interleave(...owners.map((o, i) => contactsFor(o, 50 + i * 7)));
    await withEmulator({ seed: 2024, faults: { rate503: 0.1, rateDrop: 0.05, rateDropAfterApply: 0.05 } }, { batchSize: 7, concurrency: 4, attempts: 10 }, async (emu, h) => {
      await h.loader.open();
      await h.load(records);
      h.assertAllSettled(records);
      assert.deepEqual(tally(h, records), { 'success:upserted': records.length });
      assert.deepEqual(nonEmptyPhonebooks(emu.state), expectedPhonebooks(records.map((r) => r.contact)));
      // The faults really happened, and every one of them was retried.
      assert.ok((emu.state.counts.byStatus['503'] ?? 0) > 0, 'saw 503s');
      assert.ok(emu.state.counts.dropped > 0, 'saw dropped connections');
      const puts = emu.requests('PUT /phonebooks/:email/contacts');
      const failedPuts = puts.filter((p) => p.status !== 200).length;
      assert.equal(h.http.stats.retries, failedPuts);
      assert.ok(emu.state.maxInFlight <= 4);
    });
  });

  test('Retry-After is honoured: the retry comes no earlier than the header said', async () => {
    const records = contactsFor('a@x.com', 3);
    await withEmulator({ faults: { script: [{ route: 'PUT /phonebooks/:email/contacts', status: 429, retryAfterSec: 1 }] } }, {}, async (emu, h) => {
      await h.loader.open();
      await h.load(records);
      assert.deepEqual(tally(h, records), { 'success:upserted': 3 });
      const [first, retry, ...more] = emu.requests('PUT /phonebooks/:email/contacts');
      assert.equal(more.length, 0);
      assert.equal(first.status, 429);
      assert.equal(first.retryAfterSec, 1);
      assert.equal(retry.status, 200);
      // Timers run on a millisecond clock and performance.now() is finer: allow 2 ms of rounding.
      const waited = retry.start - first.end;
      assert.ok(waited >= 1000 - 2, `the retry came ${waited.toFixed(1)} ms after a Retry-After of 1 s`);
    });
  });

  test('503 on every attempt -> the batch\'s contacts fail RETRIES_EXHAUSTED, none dropped', async () => {
    const records = contactsFor('a@x.com', 5);
    await withEmulator({ faults: { rate503: 1 } }, { batchSize: 3, attempts: 3 }, async (emu, h) => {
      await h.loader.open();
      await h.load(records);
      for (const r of records) {
        assert.deepEqual(h.outcome(r), { status: 'failed', code: 'RETRIES_EXHAUSTED',
          error: 'PUT /phonebooks/a%40x.com/contacts answered 503: Service Unavailable (retries exhausted)' });
      }
      assert.equal(emu.requests('PUT /phonebooks/:email/contacts').length, 2 * 3, 'two batches, three attempts each');
    });
  });

  test('connections dropped on every attempt -> RETRIES_EXHAUSTED with the network error', async () => {
    const records = contactsFor('a@x.com', 2);
    await withEmulator({ faults: { rateDrop: 1 } }, { attempts: 3 }, async (emu, h) => {
      await h.loader.open();
      await h.load(records);
      for (const r of records) {
        const o = h.outcome(r);
        assert.equal(o.code, 'RETRIES_EXHAUSTED');
        assert.match(o.error!, /^PUT \/phonebooks\/a%40x\.com\/contacts failed: .*(ECONNRESET|socket hang up).*\(after 3 attempts\)$/);
      }
      assert.equal(emu.state.counts.dropped, 3);
    });
  });

  test('requests in flight never exceed the configured concurrency (the emulator would answer 429 above it)', async () => {
    const records = interleave(...['a', 'b', 'c', 'd', 'e'].map((o) => contactsFor(`${o}@x.com`, 24)));
    await withEmulator({ faults: { latencyMs: 25, maxInFlight: 3 } }, { batchSize: 4, concurrency: 3 }, async (emu, h) => {
      await h.loader.open();
      await h.load(records);
      assert.deepEqual(tally(h, records), { 'success:upserted': 120 });
      assert.equal(emu.state.counts.byStatus['429'], undefined);
      assert.ok(emu.state.maxInFlight <= 3, `maxInFlight was ${emu.state.maxInFlight}`);
      // Concurrency is used, not just bounded: 30 batches over 25 ms each overlap.
      assert.ok(emu.state.maxInFlight >= 2, `maxInFlight was ${emu.state.maxInFlight}`);
    });
  });

  test('above the emulator\'s in-flight cap the loader is answered 429 and still lands everything', async () => {
    const records = interleave(...['a', 'b', 'c'].map((o) => contactsFor(`${o}@x.com`, 6)));
    await withEmulator({ faults: { latencyMs: 20, maxInFlight: 1, retryAfterSec: 0.03 } }, { batchSize: 2, concurrency: 3, attempts: 30 }, async (emu, h) => {
      await h.loader.open();
      await h.load(records);
      assert.deepEqual(tally(h, records), { 'success:upserted': 18 });
      assert.ok((emu.state.counts.byStatus['429'] ?? 0) > 0, 'the cap was hit');
      assert.deepEqual(nonEmptyPhonebooks(emu.state), expectedPhonebooks(records.map((r) => r.contact)));
    });
  });
});
