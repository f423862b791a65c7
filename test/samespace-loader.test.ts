/**
 * The samespace loader against the emulator: a sample import reconciled row by row, the
 * property checks before anything is uploaded, credentials, chunking and dry runs.
 * Faults and retries are in samespace-faults.test.ts.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Papa from 'papaparse';
import { ImportError } from '../pipeline/errors.js';
import { columnPlan } from '../pipeline/loaders/samespace/plan.js';
import { SAMESPACE_NON_VOICE_KEY, SAMESPACE_TEST_API_KEY, STANDARD_PROPERTIES, expectedImport, startSamespaceEmulator } from './emulators/samespace.js';
import { withEmulator, harness, people, record, tally, STANDARD_FIELDS } from './helpers/samespace-harness.js';

const KEY_HINT = 'SAMESPACE_API_KEY must be an API key of type Voice, created by an Admin';

async function rejectsWith(p: Promise<unknown>, code: string): Promise<ImportError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof ImportError, `expected an ImportError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return e;
  }
  assert.fail(`expected ${code}, but it resolved`);
}

function readCsv(file: string): string[][] {
  return Papa.parse<string[]>(readFileSync(file, 'utf8'), { skipEmptyLines: true }).data;
}

describe('samespace loader: a sample import', () => {
  test('stores what the input should produce and reconciles every row to its outcome', async () => {
    await withEmulator({}, {}, async (emu, h) => {
      // A contact that exists before the run: a row with the same phone merges into it.
      emu.state.store.resolvers().createContact({
        moduleName: 'Contacts',
        properties: [{ key: 'firstName', value: 'Linus' }, { key: 'lastName', value: 'Torvalds' }, { key: 'phoneNumber', value: '+358401234567' }],
      });
      const ada = record({ firstName: 'Ada', lastName: 'Lovelace', emails: ['ada@example.com'], phones: ['+442079460001'] });
      const alan = record({
        firstName: 'Alan', lastName: 'Turing', emails: ['alan@example.com', 'alan.t@example.org'], phones: ['+442079460002', '+442079460003'],
      });
      const grace = record({ lastName: 'Hopper', emails: ['grace@example.com'] });
      const gHopper = record({ lastName: 'Hopper', emails: ['g.hopper@example.com'], company: 'Navy' });
      const kath = record({ firstName: 'Katherine', lastName: 'Johnson', emails: ['kj@nasa'] });
      const adaAgain = record({ firstName: 'Ada', lastName: 'King', emails: ['ADA@example.com'], company: 'Analytical Engines' });
      const margaret = record({ firstName: 'Margaret', lastName: 'Hamilton', phones: ['+16175550100'] });
      const linus = record({ firstName: 'Linus', lastName: 'T.', phones: ['+358401234567'] });
      const rows = [ada, alan, grace, gHopper, kath, adaAgain, margaret, linus];

      await h.load(rows);
      h.assertAllSettled(rows);

      assert.deepEqual(emu.contacts(), [
        { firstName: 'Linus', lastName: 'Torvalds', phoneNumber: '+358401234567' },
        // Merging fills empty fields (company from the "Ada King" row) and overwrites nothing.
        { firstName: 'Ada', lastName: 'Lovelace', email: 'ada@example.com', phoneNumber: '+442079460001', company: 'Analytical Engines' },
        { firstName: 'Alan', lastName: 'Turing', email: 'alan@example.com', phoneNumber: '+442079460002' },
        { firstName: 'Margaret', lastName: 'Hamilton', phoneNumber: '+16175550100' },
      ]);

      // Failed rows carry Samespace's reason, against the right row.
      assert.deepEqual(h.outcome(grace), { status: 'failed', code: 'TARGET_REJECTED', error: 'Samespace: "First Name" is required (key: firstName)' });
      assert.deepEqual(h.outcome(gHopper), { status: 'failed', code: 'TARGET_REJECTED', error: 'Samespace: "First Name" is required (key: firstName)' });
      assert.deepEqual(h.outcome(kath), { status: 'failed', code: 'TARGET_REJECTED', error: 'Samespace: Invalid "Email" input (key: email)' });

      // 3 imported and 2 merged among the 5 unfailed rows, attributed in row order with a note.
      const attribution = 'Samespace reported 2 merged of 8 in chunk 1; which rows were merged is not reported by the API';
      assert.deepEqual(h.outcome(ada), { status: 'success', action: 'imported', notes: [attribution] });
      assert.deepEqual(h.outcome(alan), {
        status: 'success', action: 'imported',
        notes: ['not sent to Samespace (one email property): alan.t@example.org', 'not sent to Samespace (one phone property): +442079460003', attribution],
      });
      assert.deepEqual(h.outcome(adaAgain), { status: 'success', action: 'imported', notes: [attribution] });
      assert.deepEqual(h.outcome(margaret), { status: 'merged', action: 'merged-by-target', notes: [attribution] });
      assert.deepEqual(h.outcome(linus), { status: 'merged', action: 'merged-by-target', notes: [attribution] });
      assert.deepEqual(h.notes, [attribution]);

      assert.equal(emu.state.counts.uploads, 1);
      assert.deepEqual(emu.state.counts.byOperation, { getModules: 1, getProperties: 1, importContacts: 1 });

      // The uploaded file kept in the report folder is the CSV that was sent, header = property keys.
      const chunk = join(h.outDir, 'samespace', 'chunk-0001.csv');
      assert.deepEqual(readCsv(chunk), [
        ['firstName', 'lastName', 'email', 'phoneNumber', 'company'],
        ['Ada', 'Lovelace', 'ada@example.com', '+442079460001', ''],
        ['Alan', 'Turing', 'alan@example.com', '+442079460002', ''],
        ['', 'Hopper', 'grace@example.com', '', ''],
        ['', 'Hopper', 'g.hopper@example.com', '', 'Navy'],
        ['Katherine', 'Johnson', 'kj@nasa', '', ''],
        ['Ada', 'King', 'ADA@example.com', '', 'Analytical Engines'],
        ['Margaret', 'Hamilton', '', '+16175550100', ''],
        ['Linus', 'T.', '', '+358401234567', ''],
      ]);
      const stored = [...emu.state.store.files.values()][0];
      assert.equal(stored.filename, 'chunk-0001.csv');
      assert.deepEqual(stored.rows, readCsv(chunk).slice(1));
    });
  });

  test('a chunk without merges settles every unfailed row imported, without notes', async () => {
    await withEmulator({}, {}, async (emu, h) => {
      const rows = people(6);
      await h.load(rows);
      for (const r of rows) assert.deepEqual(h.outcome(r), { status: 'success', action: 'imported' });
      assert.deepEqual(h.notes, []);
      assert.equal(emu.contacts().length, 6);
    });
  });

  test('expectedImport builds the state an import of the contacts leaves (for end-to-end tests)', async () => {
    await withEmulator({}, { batchSize: 4 }, async (emu, h) => {
      const rows = [...people(5), record({ lastName: 'NoFirst' }), record({ firstName: 'Again', emails: ['p2@example.com'] })];
      await h.load(rows);
      const expected = expectedImport(rows.map((r) => r.contact), columnPlan(h.ctx.mapping));
      assert.deepEqual(emu.contacts(), expected.contacts);
      assert.deepEqual(expected.result.success + expected.result.merged + expected.result.failed.length, rows.length);
      assert.deepEqual(tally(h, rows), { 'success:imported': 5, 'failed:TARGET_REJECTED': 1, 'merged:merged-by-target': 1 });
    });
  });

  test('values with commas, quotes, line breaks and non-ASCII letters arrive intact', async () => {
    await withEmulator({}, {}, async (emu, h) => {
      const rows = [
        record({ firstName: 'Zoë', lastName: 'O"Brien, Jr.', company: 'Line one\nLine two', emails: ['zoe@example.com'] }),
        record({ firstName: '=SUM(A1)', lastName: '北京', emails: ['bj@example.com'] }),
      ];
      await h.load(rows);
      assert.deepEqual(emu.contacts(), [
        { firstName: 'Zoë', lastName: 'O"Brien, Jr.', email: 'zoe@example.com', company: 'Line one\nLine two' },
        // This CSV goes to an API, not a spreadsheet: a leading "=" is sent as it is.
        { firstName: '=SUM(A1)', lastName: '北京', email: 'bj@example.com' },
      ]);
    });
  });
});

describe('samespace loader: properties are checked before anything is uploaded', () => {
  test('an unknown property is TARGET_PROPERTY_MISSING with the available keys and a did-you-mean; nothing is uploaded', async () => {
    await withEmulator({}, {
      fields: { ...STANDARD_FIELDS, custom: { loyaltyTier: 'Tier' } },
      samespace: { properties: { company: 'compnay' } },
    }, async (emu, h) => {
      const e = await rejectsWith(h.load(people(3)), 'TARGET_PROPERTY_MISSING');
      assert.equal(e.kind, 'usage');
      assert.match(e.message, /no properties "compnay" \(from targets\.samespace\.properties\.company\); did you mean "company"\?/);
      assert.match(e.message, /"loyaltyTier" \(from fields\.custom\.loyaltyTier\)/);
      assert.match(e.message, /Available properties: firstName \(First Name\), lastName \(Last Name\), email \(Email\), phoneNumber \(Phone Number\), company \(Company\), owner \(Contact Owner\)/);
      assert.equal(emu.state.counts.uploads, 0);
      assert.equal(emu.requests('POST /manage/api/v3/csv/upload').length, 0);
      assert.equal(emu.state.counts.byOperation.createProperty, undefined);
      assert.equal(h.outcomes.size, 0);
    });
  });

  test('only standard properties the mapping feeds must exist', async () => {
    // A module without company: a mapping that does not map company loads fine.
    const props = STANDARD_PROPERTIES.filter((p) => p.key !== 'company');
    await withEmulator({ properties: props }, { fields: { firstName: 'First', emails: 'Email' } }, async (emu, h) => {
      const rows = people(2);
      await h.load(rows);
      assert.deepEqual(emu.contacts(), [
        { firstName: 'Firstp0', email: 'p0@example.com' },
        { firstName: 'Firstp1', email: 'p1@example.com' },
      ]);
      const header = readCsv(join(h.outDir, 'samespace', 'chunk-0001.csv'))[0];
      assert.deepEqual(header, ['firstName', 'email']);
    });
  });

  test('properties the module requires become required fields for the validate stage; unfed ones are noted', async () => {
    const props = STANDARD_PROPERTIES.map((p) => (p.key === 'email' ? { ...p, required: true } : p));
    await withEmulator({ properties: props }, {}, async (_emu, h) => {
      await h.loader.open();
      assert.deepEqual(h.loader.requiredFields, ['firstName', 'emails']);
      assert.deepEqual(h.notes, []);
      await h.loader.close();
    });
    await withEmulator({}, { fields: { emails: 'Email', company: 'Company' } }, async (_emu, h) => {
      await h.loader.open();
      assert.deepEqual(h.loader.requiredFields, []);
      assert.deepEqual(h.notes, ['Samespace module "Contacts" requires "firstName" (First Name), which the mapping does not feed; Samespace may refuse every row']);
      await h.loader.close();
    });
  });

  test('--create-missing-properties creates each missing property with its type and a humanized label', async () => {
    await withEmulator({}, {
      fields: { ...STANDARD_FIELDS, custom: { loyaltyTier: 'Tier', accountNumber: 'Acct', vip_level: 'VIP' } },
      samespace: { propertyTypes: { accountNumber: 'NUMBER' } },
      flags: { createMissingProperties: true },
    }, async (emu, h) => {
      const r = record({ firstName: 'Ada', emails: ['ada@example.com'], custom: { loyaltyTier: 'Gold', accountNumber: '42', vip_level: '3' } });
      await h.load([r]);
      const mod = emu.state.store.moduleByName('Contacts')!;
      const created = mod.properties.slice(STANDARD_PROPERTIES.length).map((p) => ({ key: p.key, label: p.label, type: p.type }));
      assert.deepEqual(created, [
        { key: 'loyaltyTier', label: 'Loyalty Tier', type: 'TEXT' },
        { key: 'accountNumber', label: 'Account Number', type: 'NUMBER' },
        { key: 'vipLevel', label: 'Vip Level', type: 'TEXT' },
      ]);
      assert.deepEqual(h.notes, [
        'created Samespace property "loyaltyTier" (label "Loyalty Tier", type TEXT) in module "Contacts"',
        'created Samespace property "accountNumber" (label "Account Number", type NUMBER) in module "Contacts"',
        'created Samespace property "vipLevel" (label "Vip Level", type TEXT) in module "Contacts"',
        'Samespace gave the new property the key "vipLevel", not "vip_level"; the upload uses "vipLevel"',
      ]);
      assert.deepEqual(emu.contacts(), [{ firstName: 'Ada', email: 'ada@example.com', loyaltyTier: 'Gold', accountNumber: 42, vipLevel: '3' }]);
      assert.deepEqual(h.outcome(r), { status: 'success', action: 'imported' });
    });
  });

  test('properties are read page by page until a short page', async () => {
    const extra = Array.from({ length: 150 }, (_, i) => ({ key: `extra${i}`, label: `Extra ${i}`, type: 'TEXT' }));
    await withEmulator({ properties: [...STANDARD_PROPERTIES, ...extra] }, {
      fields: { ...STANDARD_FIELDS, custom: { extra149: 'X' } },
    }, async (emu, h) => {
      const r = record({ firstName: 'Ada', custom: { extra149: 'last page' } });
      await h.load([r]);
      assert.equal(emu.state.counts.byOperation.getProperties, 2, '158 properties in pages of 100');
      assert.deepEqual(emu.contacts(), [{ firstName: 'Ada', extra149: 'last page' }]);
    });
  });

  test('the module is found by name in any case or by id; an unknown one says what exists', async () => {
    const emu = await startSamespaceEmulator({ modules: ['Contacts', 'Leads'] });
    const leads = emu.state.store.moduleByName('Leads')!;
    const byName = harness(emu, { samespace: { module: 'leads' } });
    const byId = harness(emu, { samespace: { module: leads._id } });
    const unknown = harness(emu, { samespace: { module: 'Lead' } });
    try {
      await byName.load(people(1, 'byname'));
      await byId.load(people(1, 'byid'));
      assert.deepEqual(emu.contacts('Leads').map((c) => c.email), ['byname0@example.com', 'byid0@example.com']);
      assert.deepEqual(emu.contacts('Contacts'), []);
      const e = await rejectsWith(unknown.load(people(1)), 'MAPPING_INVALID');
      assert.match(e.message, /no module "Lead"; did you mean "Leads"\? Modules: Contacts \(64[0-9a-f]{22}\), Leads \(64[0-9a-f]{22}\)/);
      assert.equal(emu.state.counts.uploads, 2);
    } finally {
      for (const h of [byName, byId, unknown]) h.close();
      await emu.close();
    }
  });
});

describe('samespace loader: credentials and configuration', () => {
  test('a wrong key aborts with AUTH_FAILED and the key hint, never the key itself', async () => {
    const wrong = 'wrong-key-Zq81xYy3';
    await withEmulator({}, { env: { SAMESPACE_API_KEY: wrong } }, async (emu, h) => {
      const e = await rejectsWith(h.load(people(2)), 'AUTH_FAILED');
      assert.equal(e.kind, 'abort');
      assert.ok(e.message.includes(KEY_HINT), e.message);
      assert.match(e.message, /getModules: POST http:\/\/127\.0\.0\.1:\d+\/crm\/api answered 401/);
      assert.ok(!e.message.includes(wrong) && !e.message.includes(SAMESPACE_TEST_API_KEY));
      assert.equal(emu.state.counts.uploads, 0);
    });
  });

  test('a key that is not of type Voice aborts with AUTH_FORBIDDEN and the hint', async () => {
    await withEmulator({}, { env: { SAMESPACE_API_KEY: SAMESPACE_NON_VOICE_KEY } }, async (_emu, h) => {
      const e = await rejectsWith(h.load(people(1)), 'AUTH_FORBIDDEN');
      assert.ok(e.message.includes(KEY_HINT), e.message);
      assert.ok(!e.message.includes(SAMESPACE_NON_VOICE_KEY));
    });
  });

  test('a key refused part-way (on an upload) stops the run after the chunks already reconciled', async () => {
    await withEmulator({ faults: { script: [{ route: 'POST /manage/api/v3/csv/upload', status: 401, after: 1 }] } }, { batchSize: 3 }, async (emu, h) => {
      const rows = people(9);
      const e = await rejectsWith(h.load(rows), 'AUTH_FAILED');
      assert.match(e.message, /upload: POST http:\/\/127\.0\.0\.1:\d+\/manage\/api\/v3\/csv\/upload answered 401/);
      assert.deepEqual(rows.slice(0, 3).map((r) => h.outcome(r).status), ['success', 'success', 'success']);
      // The rest are left unsettled for the runner to report as NOT_SENT.
      assert.ok(rows.slice(3).every((r) => !h.outcomes.has(r)));
      assert.equal(emu.contacts().length, 3);
    });
  });

  test('missing SAMESPACE_URL or SAMESPACE_API_KEY is CONFIG_MISSING naming the variable', async () => {
    await withEmulator({}, { env: { SAMESPACE_URL: undefined } }, async (emu, h) => {
      const e = await rejectsWith(h.loader.open(), 'CONFIG_MISSING');
      assert.match(e.message, /^SAMESPACE_URL is not set/);
      assert.equal(emu.state.counts.requests, 0);
    });
    await withEmulator({}, { env: { SAMESPACE_API_KEY: undefined } }, async (_emu, h) => {
      const e = await rejectsWith(h.loader.open(), 'CONFIG_MISSING');
      assert.match(e.message, /^SAMESPACE_API_KEY is not set/);
    });
    await withEmulator({}, { env: { SAMESPACE_URL: undefined, SAMESPACE_API_KEY: undefined } }, async (_emu, h) => {
      const e = await rejectsWith(h.loader.open(), 'CONFIG_MISSING');
      assert.match(e.message, /^SAMESPACE_URL and SAMESPACE_API_KEY are not set/, 'both named at once');
    });
  });
});

describe('samespace loader: chunks', () => {
  test('30 contacts in chunks of 7: five uploads, five files kept, every row once', async () => {
    await withEmulator({}, { samespace: { chunkSize: 7 } }, async (emu, h) => {
      const rows = people(30);
      await h.load(rows);
      h.assertAllSettled(rows);
      assert.equal(emu.requests('POST /manage/api/v3/csv/upload').length, 5);
      assert.equal(emu.requests('importContacts').length, 5);
      const dir = join(h.outDir, 'samespace');
      assert.deepEqual(readdirSync(dir).sort(), ['chunk-0001.csv', 'chunk-0002.csv', 'chunk-0003.csv', 'chunk-0004.csv', 'chunk-0005.csv']);
      assert.deepEqual(readdirSync(dir).sort().map((f) => readCsv(join(dir, f)).length - 1), [7, 7, 7, 7, 2]);
      assert.deepEqual([...emu.state.store.files.values()].map((f) => f.rows.length), [7, 7, 7, 7, 2]);
      assert.deepEqual(emu.contacts().map((c) => c.email), rows.map((r) => r.contact.emails[0]));
      assert.deepEqual(tally(h, rows), { 'success:imported': 30 });
      assert.equal(emu.state.maxInFlight, 1, 'concurrency 1 by default');
    });
  });

  test('--batch-size overrides chunkSize, and --concurrency bounds the chunks in flight', async () => {
    await withEmulator({ faults: { latencyMs: 15 } }, { samespace: { chunkSize: 7 }, batchSize: 4, concurrency: 3 }, async (emu, h) => {
      const rows = people(30);
      await h.load(rows);
      h.assertAllSettled(rows);
      assert.equal(emu.requests('POST /manage/api/v3/csv/upload').length, 8);
      assert.ok(emu.state.maxInFlight <= 3, `at most 3 requests in flight, saw ${emu.state.maxInFlight}`);
      assert.deepEqual(new Set(emu.contacts().map((c) => c.email)), new Set(rows.map((r) => r.contact.emails[0])));
      assert.equal(emu.contacts().length, 30);
    });
  });

  test('dry run: proves key, module and properties, writes the chunk files, uploads nothing', async () => {
    await withEmulator({}, { dryRun: true, batchSize: 4 }, async (emu, h) => {
      const rows = people(10);
      await h.load(rows);
      for (const r of rows) assert.deepEqual(h.outcome(r), { status: 'success', action: 'would-import' });
      assert.deepEqual(emu.state.counts.byOperation, { getModules: 1, getProperties: 1 });
      assert.equal(emu.state.counts.uploads, 0);
      assert.deepEqual(emu.contacts(), []);
      assert.deepEqual(readdirSync(join(h.outDir, 'samespace')).sort(), ['chunk-0001.csv', 'chunk-0002.csv', 'chunk-0003.csv']);
    });
  });

  test('dry run with --create-missing-properties notes what it would create and creates nothing', async () => {
    await withEmulator({}, { dryRun: true, fields: { ...STANDARD_FIELDS, custom: { loyaltyTier: 'Tier' } }, flags: { createMissingProperties: true } }, async (emu, h) => {
      await h.load(people(1));
      assert.deepEqual(h.notes, ['dry run: would create Samespace property "loyaltyTier" (label "Loyalty Tier", type TEXT) in module "Contacts"']);
      assert.equal(emu.state.counts.byOperation.createProperty, undefined);
      assert.ok(existsSync(join(h.outDir, 'samespace', 'chunk-0001.csv')));
    });
  });

  test('nothing written: no upload and no chunk file', async () => {
    await withEmulator({}, {}, async (emu, h) => {
      await h.load([]);
      assert.equal(emu.state.counts.uploads, 0);
      assert.deepEqual(readdirSync(join(h.outDir, 'samespace')), []);
    });
  });
});
