/**
 * Nightly full exports into Samespace (issue #8), through the built CLI against the
 * Samespace emulator: the same file twice, the same data in a new file, one changed
 * contact, --mirror with its mass-delete guard, and a contact Samespace merged (its phone
 * changed, its email did not) that --mirror must keep.
 *
 * Every request the emulator sees is counted (GraphQL reads such as getModules and
 * getProperties, uploads, getContacts), not only the writes: a run with nothing to send
 * must not even open the target.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSamespaceEmulator, type SamespaceEmulator, type RequestRecord } from './emulators/samespace.js';
import { assertInvariant, readReportCsv, tempDir } from './helpers/cli.js';
import { nightly, assertSkipped, assertAllUnchanged, assertGuarded, assertDeleted, assertLoaded } from './helpers/nightly.js';

const tmp = tempDir('nightly-samespace-');
after(() => tmp.cleanup());

interface Row { first: string; last: string; phone: string; email: string; company: string }

function people(n: number): Row[] {
  return Array.from({ length: n }, (_, i) => ({
    first: 'Person', last: `N${i}`, phone: `+1415555${String(2000 + i)}`, email: `p${i}@example.com`, company: '',
  }));
}

const n = nightly<Row>({
  dir: tmp.path, target: 'samespace', header: ['First Name', 'Last Name', 'Phone', 'Email', 'Company'],
  cells: (r) => [r.first, r.last, r.phone, r.email, r.company],
  mapping: ['fields:', '  firstName: First Name', '  lastName: Last Name', '  phones: Phone', '  emails: Email', '  company: Company',
    'phone:', '  defaultCountry: US', 'targets:', '  samespace:', '    module: Contacts'],
  args: ['--retry-base-ms', '5'],
});
const csv = n.csv;
const load = (emu: SamespaceEmulator, state: string, file: string, args: string[] = []) => n.load(emu.env, state, file, args);

/** What a request was, in one word: the GraphQL operation, or the upload. */
const what = (r: RequestRecord) => r.operation ?? (r.route === 'POST /manage/api/v3/csv/upload' ? 'upload' : r.route);
const since = (emu: SamespaceEmulator, n: number) => emu.state.log.slice(n).map(what);
const phones = (emu: SamespaceEmulator) => emu.contacts().map((c) => String(c.phoneNumber)).sort();

/** Stores a contact directly, as someone would make it in Samespace by hand. */
function seedByHand(emu: SamespaceEmulator, firstName: string, phoneNumber: string): void {
  const m = emu.state.store.moduleByName('Contacts')!;
  emu.state.store.create(m, { firstName: { value: firstName, type: 'TEXT' }, phoneNumber: { value: phoneNumber, type: 'PHONE' } });
}

test('samespace: same file twice is skipped with zero requests; the same data in a new file is all unchanged with zero requests; one change sends one row', async () => {
  const emu = await startSamespaceEmulator({ seed: 3 });
  const state = join(tmp.path, 'state-incremental.db');
  try {
    const rows = people(60);
    const first = csv(rows);
    const r1 = await load(emu, state, first);
    assert.equal(r1.code, 0, r1.stdout + r1.stderr);
    assert.deepEqual(assertInvariant(r1.out).counts, { read: 60, success: 60, failed: 0, merged: 0, unchanged: 0 });
    assert.equal(emu.contacts().length, 60);

    // A scheduler delivers the same file again.
    const before = emu.state.log.length;
    const r2 = await load(emu, state, first);
    assert.equal(r2.code, 0, r2.stdout + r2.stderr);
    assert.deepEqual(since(emu, before), [], 'not even getModules');
    assertSkipped(r2, r1, 'samespace');

    // The same contacts in another file (reversed, so another checksum): nothing is sent.
    const r3 = await load(emu, state, csv([...rows].reverse()));
    assert.deepEqual(since(emu, before), [], 'an unchanged export makes no request');
    assertAllUnchanged(r3, 60, r1);

    // One contact gains a company. Samespace merges the row into the contact with the same
    // phone and fills the empty field (it never overwrites), so the change is one with an
    // effect. Expected requests: open() reads the module and its properties (one page),
    // then one upload and one importContacts.
    const changed = rows.map((r) => (r.last === 'N17' ? { ...r, company: 'Acme Ltd' } : r));
    const uploadsBefore = emu.state.store.files.size;
    const r4 = await load(emu, state, csv(changed));
    assert.equal(r4.code, 0, r4.stdout + r4.stderr);
    assert.deepEqual(since(emu, before), ['getModules', 'getProperties', 'upload', 'importContacts']);
    const uploaded = [...emu.state.store.files.values()].slice(uploadsBefore);
    assert.equal(uploaded.length, 1);
    assert.equal(uploaded[0].rows.length, 1, 'the uploaded CSV has one data row');
    assert.ok(uploaded[0].rows[0].includes('+14155552017') && uploaded[0].rows[0].includes('Acme Ltd'), JSON.stringify(uploaded[0].rows));
    const chunk = readFileSync(join(r4.out, 'samespace', 'chunk-0001.csv'), 'utf8').trim().split(/\r\n/);
    assert.equal(chunk.length, 2, 'the report keeps the same one-row chunk');
    // Samespace answers merged for a row that lands in an existing contact.
    assert.deepEqual(assertInvariant(r4.out).counts, { read: 60, success: 0, failed: 0, merged: 1, unchanged: 59 });
    const n17 = emu.contacts().find((c) => c.phoneNumber === '+14155552017');
    assert.equal(n17?.company, 'Acme Ltd');
    assert.equal(emu.contacts().length, 60);

    // The change is in the ledger now: the same data again sends nothing.
    const afterChange = emu.state.log.length;
    const r5 = await load(emu, state, csv([...changed].reverse()));
    assert.equal(r5.code, 0, r5.stdout + r5.stderr);
    assert.deepEqual(since(emu, afterChange), []);
    assert.deepEqual(assertInvariant(r5.out).counts, { read: 60, success: 0, failed: 0, merged: 0, unchanged: 60 });
  } finally {
    await emu.close();
  }
});

test('samespace --mirror: a truncated file deletes nothing and says why; --allow-mass-delete deletes exactly the absent; a contact made by hand survives', async () => {
  const emu = await startSamespaceEmulator({ seed: 9 });
  const state = join(tmp.path, 'state-mirror.db');
  try {
    const rows = people(100);
    const r0 = await load(emu, state, csv(rows));
    assertLoaded(r0);
    seedByHand(emu, 'ByHand', '+14155559999');
    assert.equal(emu.contacts().length, 101);

    // Two contacts left the export (2%): deleted, by id, after looking the ids up.
    const fewer = rows.filter((r) => r.last !== 'N0' && r.last !== 'N2');
    const r1 = await load(emu, state, csv(fewer), ['--mirror']);
    assertLoaded(r1);
    assert.deepEqual(readReportCsv(r1.out, 'deleted.csv').map((d) => [d.scope, d.key, d.status]).sort(), [
      ['Contacts', '+14155552000', 'deleted'], ['Contacts', '+14155552002', 'deleted']]);
    assert.equal(emu.requests('deleteContacts').length, 1);
    assert.equal(emu.contacts().length, 99);
    assert.ok(!phones(emu).includes('+14155552000') && !phones(emu).includes('+14155552002'));

    // A truncated file: 50 of the 98 are absent. Nothing is deleted, exit 1, and it says why.
    const truncated = fewer.slice(0, 48);
    const before = emu.state.log.length;
    const r2 = await load(emu, state, csv(truncated), ['--mirror']);
    assertGuarded(r2, { scope: 'Contacts', absent: 50, contacts: 98, counts: { read: 48, success: 0, failed: 0, merged: 0, unchanged: 48 } });
    assert.deepEqual(since(emu, before), [], 'nothing to send and nothing to delete: no request at all');
    assert.equal(emu.requests('deleteContacts').length, 1, 'no new deleteContacts');
    assert.equal(emu.contacts().length, 99);

    // The user checked: the deletes are right. The same file is not skipped (its deletes were held back).
    const r3 = await load(emu, state, csv(truncated), ['--mirror', '--allow-mass-delete']);
    assertDeleted(r3, 50);
    assert.deepEqual(phones(emu), [...truncated.map((r) => r.phone), '+14155559999'].sort(), 'exactly the absent ones were deleted');
    assert.ok(emu.contacts().some((c) => c.firstName === 'ByHand'), 'a contact the tool did not create is never deleted');
    // Only ids were ever sent to deleteContacts: never a filter or `all`.
    for (const q of emu.requests('deleteContacts')) assert.deepEqual(Object.keys(q.variables ?? {}).sort(), ['id', 'module']);

    // Deleted contacts are gone from the state store: the same data again deletes nothing more.
    const deletesBefore = emu.requests('deleteContacts').length;
    const r4 = await load(emu, state, csv([...truncated].reverse()), ['--mirror']);
    assertLoaded(r4);
    assert.equal(emu.requests('deleteContacts').length, deletesBefore);
    assert.equal(readReportCsv(r4.out, 'deleted.csv').length, 0);
  } finally {
    await emu.close();
  }
});

test('samespace --mirror: a contact whose phone changed and email did not is merged by Samespace into the old contact, which is kept', async () => {
  const emu = await startSamespaceEmulator({ seed: 13 });
  const state = join(tmp.path, 'state-merged.db');
  try {
    const rows = people(20);
    const r0 = await load(emu, state, csv(rows));
    assertLoaded(r0);

    const moved = rows.map((r) => (r.last === 'N5' ? { ...r, phone: '+14155553005' } : r));
    const r1 = await load(emu, state, csv(moved), ['--mirror']);
    const s1 = assertLoaded(r1);
    assert.deepEqual(s1.counts, { read: 20, success: 0, failed: 0, merged: 1, unchanged: 19 }, 'Samespace merged the row (same email)');
    const d1 = readReportCsv(r1.out, 'deleted.csv');
    assert.deepEqual(d1.map((d) => [d.scope, d.key, d.status]), [['Contacts', '+14155552005', 'kept-merged']]);
    assert.match(d1[0].reason, /same phone or email/);
    assert.equal((s1 as { deletes?: { mergedIntoByTarget: number; deleted: number } }).deletes?.mergedIntoByTarget, 1);
    assert.equal(emu.requests('deleteContacts').length, 0, 'nothing deleted');
    // The contact is still there, under its email (Samespace keeps the phone it had: a merge never overwrites).
    const p5 = emu.contacts().filter((c) => c.email === 'p5@example.com');
    assert.equal(p5.length, 1);
    assert.equal(emu.contacts().length, 20);

    // Later nights with the same data keep it too.
    const r2 = await load(emu, state, csv([...moved].reverse()), ['--mirror']);
    assertLoaded(r2);
    assert.equal(readReportCsv(r2.out, 'deleted.csv').length, 0);
    assert.equal(emu.requests('deleteContacts').length, 0);
    assert.equal(emu.contacts().filter((c) => c.email === 'p5@example.com').length, 1);
  } finally {
    await emu.close();
  }
});
