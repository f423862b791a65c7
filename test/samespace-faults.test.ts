/**
 * The samespace loader under faults: 503s, dropped connections and 429s are retried and
 * every row lands once; a lost import answer is retried with the same fileUuid; GraphQL
 * errors are surfaced with their operation; a chunk that cannot be imported fails its
 * rows, not its neighbours.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ImportError } from '../pipeline/errors.js';
import { SAMESPACE_TEST_API_KEY } from './emulators/samespace.js';
import { withEmulator, people, record, tally } from './helpers/samespace-harness.js';

const UPLOAD = 'POST /manage/api/v3/csv/upload' as const;

describe('samespace loader: retries under faults', () => {
  test('503s, dropped connections, 429s with Retry-After and lost import answers: every row loaded exactly once', async () => {
    await withEmulator(
      { seed: 7, faults: { rate503: 0.15, rateDrop: 0.1, rate429: 0.1, retryAfterSec: 0, rateImportAnswerLost: 0.3 } },
      { batchSize: 5, concurrency: 2, attempts: 12 },
      async (emu, h) => {
        const rows = people(40);
        await h.load(rows);
        h.assertAllSettled(rows);
        assert.deepEqual(tally(h, rows), { 'success:imported': 40 });
        const stored = emu.contacts();
        assert.equal(stored.length, 40, 'no duplicates');
        assert.deepEqual(new Set(stored.map((c) => c.email)), new Set(rows.map((r) => r.contact.emails[0])));
        const c = emu.state.counts;
        assert.ok(c.byStatus['503'] > 0 && c.byStatus['429'] > 0 && c.dropped > 0, `faults were injected: ${JSON.stringify(c.byStatus)}`);
        assert.ok(emu.requests('importContacts').some((r) => r.answerLost), 'some import answers were lost');
        assert.equal(emu.state.store.importsApplied, 8);
        assert.equal(emu.state.counts.uploads, 8, 'no chunk uploaded twice');
        assert.ok(!JSON.stringify([...h.outcomes.values()]).includes(SAMESPACE_TEST_API_KEY));
      },
    );
  });

  test('more requests in flight than the server takes are answered 429 and retried', async () => {
    await withEmulator(
      { faults: { maxInFlight: 1, latencyMs: 10, retryAfterSec: 0 } },
      { batchSize: 3, concurrency: 4, attempts: 30 },
      async (emu, h) => {
        const rows = people(12);
        await h.load(rows);
        assert.deepEqual(tally(h, rows), { 'success:imported': 12 });
        assert.equal(emu.contacts().length, 12);
      },
    );
  });

  test('an import answer lost after the server imported: retried with the same fileUuid, not uploaded again, no duplicates', async () => {
    await withEmulator(
      { faults: { script: [{ operation: 'importContacts', drop: 'after-apply' }] } },
      { batchSize: 4 },
      async (emu, h) => {
        const rows = people(6);
        await h.load(rows);
        assert.deepEqual(tally(h, rows), { 'success:imported': 6 });
        assert.equal(emu.requests(UPLOAD).length, 2, 'one upload per chunk');
        const imports = emu.requests('importContacts');
        assert.equal(imports.length, 3);
        assert.equal(imports[0].answerLost, true);
        assert.equal(imports[1].fileUuid, imports[0].fileUuid, 'the retry names the same file');
        assert.equal(emu.state.store.importsApplied, 2);
        assert.deepEqual(emu.contacts().map((c) => c.email), rows.map((r) => r.contact.emails[0]));
      },
    );
  });

  test('a lost answer for a chunk with failures and merges: the replay answers the same result', async () => {
    await withEmulator(
      { faults: { script: [{ operation: 'importContacts', drop: 'after-apply' }] } },
      {},
      async (emu, h) => {
        const again = record({ firstName: 'Again', emails: ['p0@example.com'] });
        const noFirst = record({ lastName: 'NoFirst' });
        const rows = [...people(3), again, noFirst];
        await h.load(rows);
        assert.equal(emu.requests(UPLOAD).length, 1);
        assert.deepEqual(emu.requests('importContacts').map((r) => r.answerLost ?? false), [true, false]);
        assert.equal(emu.state.store.importsApplied, 1);
        assert.deepEqual(tally(h, rows), { 'success:imported': 3, 'merged:merged-by-target': 1, 'failed:TARGET_REJECTED': 1 });
        assert.equal(h.outcome(noFirst).error, 'Samespace: "First Name" is required (key: firstName)');
        assert.equal(emu.contacts().length, 3);
      },
    );
  });

  test('an upload dropped before it was stored is sent again; only the stored file is imported', async () => {
    await withEmulator(
      { faults: { script: [{ route: UPLOAD, drop: 'before' }, { route: UPLOAD, status: 503 }] } },
      {},
      async (emu, h) => {
        const rows = people(3);
        await h.load(rows);
        assert.deepEqual(tally(h, rows), { 'success:imported': 3 });
        assert.deepEqual(emu.requests(UPLOAD).map((r) => r.status), [0, 503, 200]);
        assert.equal(emu.state.store.files.size, 1);
      },
    );
  });

  test('an import that keeps failing fails its chunk with RETRIES_EXHAUSTED; the upload is not repeated and other chunks load', async () => {
    await withEmulator(
      { faults: { script: [1, 2, 3].map(() => ({ operation: 'importContacts', status: 503 })) } },
      { batchSize: 2, attempts: 3 },
      async (emu, h) => {
        const rows = people(4);
        await h.load(rows);
        for (const r of rows.slice(0, 2)) {
          const o = h.outcome(r);
          assert.equal(o.status, 'failed');
          assert.equal(o.code, 'RETRIES_EXHAUSTED');
          assert.match(o.error!, /^chunk 1: importContacts: POST http:\/\/127\.0\.0\.1:\d+\/crm\/api answered 503: Service Unavailable$/);
        }
        assert.deepEqual(rows.slice(2).map((r) => h.outcome(r).status), ['success', 'success']);
        assert.equal(emu.requests(UPLOAD).length, 2, 'one upload per chunk, none repeated');
        assert.deepEqual(emu.requests('importContacts').map((r) => r.status), [503, 503, 503, 200]);
        assert.equal(emu.contacts().length, 2);
      },
    );
  });

  test('an upload that keeps being dropped fails its chunk with RETRIES_EXHAUSTED and the cause', async () => {
    await withEmulator(
      { faults: { script: [1, 2].map(() => ({ route: UPLOAD, drop: 'before' as const })) } },
      { attempts: 2 },
      async (emu, h) => {
        const rows = people(2);
        await h.load(rows);
        for (const r of rows) {
          const o = h.outcome(r);
          assert.equal(o.code, 'RETRIES_EXHAUSTED');
          assert.match(o.error!, /^chunk 1: upload: POST http:\/\/127\.0\.0\.1:\d+\/manage\/api\/v3\/csv\/upload failed: .+ \(after 2 attempts\)$/);
        }
        assert.equal(emu.requests('importContacts').length, 0);
      },
    );
  });
});

describe('samespace loader: errors the server answers', () => {
  test('a GraphQL error on importContacts fails that chunk with the operation and message', async () => {
    await withEmulator(
      { faults: { script: [{ operation: 'importContacts', graphqlError: 'Invalid fileUuid', after: 1 }] } },
      { batchSize: 2 },
      async (emu, h) => {
        const rows = people(6);
        await h.load(rows);
        assert.deepEqual(rows.map((r) => h.outcome(r).status), ['success', 'success', 'failed', 'failed', 'success', 'success']);
        for (const r of rows.slice(2, 4)) {
          assert.deepEqual(h.outcome(r), { status: 'failed', code: 'TARGET_REJECTED', error: 'chunk 2: importContacts: Invalid fileUuid' });
        }
        assert.equal(emu.contacts().length, 4);
      },
    );
  });

  test('a GraphQL error while reading the module aborts with TARGET_PROTOCOL, naming the operation', async () => {
    await withEmulator(
      { faults: { script: [{ operation: 'getProperties', graphqlError: 'Module not found: 6303289128a0e96163bd0dcd' }] } },
      {},
      async (emu, h) => {
        await assert.rejects(h.load(people(1)), (e: unknown) => {
          assert.ok(e instanceof ImportError);
          assert.equal(e.code, 'TARGET_PROTOCOL');
          assert.equal(e.message, 'getProperties: Module not found: 6303289128a0e96163bd0dcd');
          return true;
        });
        assert.equal(emu.state.counts.uploads, 0);
      },
    );
  });

  test('an unreachable Samespace aborts open() with TARGET_UNREACHABLE', async () => {
    await withEmulator({ faults: { rate503: 1 } }, { attempts: 2 }, async (_emu, h) => {
      await assert.rejects(h.loader.open(), (e: unknown) => e instanceof ImportError && e.code === 'TARGET_UNREACHABLE' && /getModules/.test(e.message));
    });
  });

  test('an upload answered with other columns than sent fails its chunk and imports nothing', async () => {
    await withEmulator(
      { faults: { uploadColumns: (cols) => cols.slice(0, -1) } },
      {},
      async (emu, h) => {
        const rows = people(2);
        await h.load(rows);
        for (const r of rows) {
          const o = h.outcome(r);
          assert.equal(o.code, 'TARGET_REJECTED');
          assert.equal(o.error, 'chunk 1: the upload answered columns ["firstname","lastname","email","phonenumber"], not the columns sent ["firstName","lastName","email","phoneNumber","company"]; nothing was imported');
        }
        assert.equal(emu.requests('importContacts').length, 0);
      },
    );
  });

  test('columns answered in another case are matched, and mapAttributes names them as answered', async () => {
    await withEmulator({ lowercaseColumns: false }, {}, async (emu, h) => {
      const rows = people(2);
      await h.load(rows);
      assert.deepEqual(tally(h, rows), { 'success:imported': 2 });
      assert.deepEqual([...emu.state.store.files.values()][0].columns, ['firstName', 'lastName', 'email', 'phoneNumber', 'company']);
    });
  });
});

describe('samespace loader: interruption', () => {
  test('an interrupted run finishes the chunk in flight, sends no new one, and says INTERRUPTED', async () => {
    await withEmulator({}, { batchSize: 5 }, async (emu, h) => {
      const rows = people(12);
      await h.loader.open();
      for (const r of rows.slice(0, 7)) await h.loader.write(r);
      h.abort.abort();
      await assert.rejects(h.loader.write(rows[7]), (e: unknown) => e instanceof ImportError && e.code === 'INTERRUPTED');
      assert.deepEqual(rows.slice(0, 5).map((r) => h.outcome(r).status), ['success', 'success', 'success', 'success', 'success']);
      assert.ok(rows.slice(5).every((r) => !h.outcomes.has(r)), 'the rest are left for the runner to report NOT_SENT');
      assert.equal(emu.requests(UPLOAD).length, 1);
    });
  });
});
