/**
 * SAMESPACE_URL, GENESYS_API_URL and SPOKE_API_URL set to an endpoint URL as the vendor's
 * document writes it (…/crm/api, …/contacts, …/phonebooks) work like the base alone: the
 * requests go to the documented paths, not to the endpoint path twice, and the ledger's
 * account (the loader's destination) is the same for both forms, so a nightly run keeps
 * its history whichever form the variable holds.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { apiBase } from '../pipeline/loaders/http.js';
import { startSamespaceEmulator } from './emulators/samespace.js';
import { startGenesysEmulator } from './emulators/genesys.js';
import { startSpokeEmulator } from './emulators/spoke.js';
import * as samespace from './helpers/samespace-harness.js';
import * as genesys from './helpers/genesys-harness.js';
import * as spoke from './helpers/spoke-harness.js';
import { tally, type LoaderHarness } from './helpers/loader-harness.js';

describe('apiBase: an endpoint path at the end of a base URL', () => {
  test('is taken off, with trailing slashes; anything else is left as written', () => {
    assert.equal(apiBase(' https://h.example/gws/api/v2/contacts/ ', ['/contacts']), 'https://h.example/gws/api/v2');
    assert.equal(apiBase('https://c.samespace.com/crm/api', ['/crm/api', '/manage/api/v3/csv/upload']), 'https://c.samespace.com');
    assert.equal(apiBase('https://c.samespace.com/manage/api/v3/csv/upload//', ['/crm/api', '/manage/api/v3/csv/upload']), 'https://c.samespace.com');
    // Only a whole path at the very end.
    assert.equal(apiBase('https://h.example/contactsx', ['/contacts']), 'https://h.example/contactsx');
    assert.equal(apiBase('https://h.example/contacts/api', ['/contacts']), 'https://h.example/contacts/api');
    assert.equal(apiBase('https://h.example/api/', []), 'https://h.example/api');
  });
});

/**
 * A harness whose variable is set from the emulator's URL (the targets' withEmulator takes its
 * harness options before the emulator exists), closed with the emulator after `body`.
 */
async function withEndpointUrl<E extends { close(): Promise<void> }>(start: Promise<E>, make: (emu: E) => LoaderHarness,
  body: (emu: E, h: LoaderHarness) => Promise<void>): Promise<void> {
  const emu = await start;
  const h = make(emu);
  try {
    await body(emu, h);
  } finally {
    h.close();
    await emu.close();
  }
}

// Each destination is the one the base form gives (pinned in samespace-delete, genesys-delete and spoke-delete).
describe('a base variable set to an endpoint URL', () => {
  for (const endpoint of ['/crm/api', '/manage/api/v3/csv/upload/']) {
    test(`SAMESPACE_URL ending in ${endpoint}: every row imported through the documented paths, one ledger account`, () =>
      withEndpointUrl(startSamespaceEmulator(), (emu) => samespace.harness(emu, { env: { SAMESPACE_URL: `${emu.url}${endpoint}` } }), async (emu, h) => {
        const rows = samespace.people(4);
        await h.load(rows);
        assert.deepEqual(tally(h, rows), { 'success:imported': 4 });
        assert.equal(emu.contacts().length, 4);
        assert.deepEqual(Object.keys(emu.state.counts.byStatus), ['200'], 'no request went to a doubled path');
        assert.equal(emu.requests('POST /manage/api/v3/csv/upload').length, 1);
        assert.equal(h.loader.destination, `${emu.url} (module Contacts)`);
      }));
  }

  test('GENESYS_API_URL ending in /contacts: every contact created under the base, one ledger account', () =>
    withEndpointUrl(startGenesysEmulator({ basePath: '/gws/api/v2' }), (emu) => genesys.harness(emu, { env: { GENESYS_API_URL: `${emu.url}/contacts/` } }), async (emu, h) => {
      const records = genesys.customers(3);
      await h.load(records);
      assert.deepEqual(tally(h, records), { 'success:created': 3 });
      assert.ok(emu.state.log.every((l) => /^\/gws\/api\/v2\/contacts(\?|$)/.test(l.path) && Number(l.status) < 300), JSON.stringify(emu.state.log));
      assert.equal(h.loader.destination, emu.url);
    }));

  test('SPOKE_API_URL ending in /phonebooks: the phonebook and its contacts written, one ledger account', () =>
    withEndpointUrl(startSpokeEmulator({}), (emu) => spoke.harness(emu, { env: { SPOKE_API_URL: `${emu.url}/phonebooks` } }), async (emu, h) => {
      const records = spoke.contactsFor('a@x.com', 3);
      await h.loader.open();
      await h.load(records);
      assert.deepEqual(tally(h, records), { 'success:upserted': 3 });
      assert.equal(emu.requests('PUT /phonebooks/:email/contacts').length, 1);
      assert.equal(h.loader.destination, emu.url);
    }));
});
