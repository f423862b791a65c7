/**
 * Nightly full exports into Genesys (issue #8), through the built CLI against the
 * Genesys emulator: the same file twice, the same data in a new file, one changed
 * contact, --mirror with its mass-delete guard, and a contact whose phone changed (same
 * name), which the loader updates in place and --mirror must not delete.
 *
 * Every request the emulator sees is counted (state.log: the GET reads of open() as
 * well as the writes): a run with nothing to send must not even read the directory.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startGenesysEmulator, type GenesysEmulator } from './emulators/genesys.js';
import { assertInvariant, readReportCsv, tempDir } from './helpers/cli.js';
import { nightly, assertSkipped, assertAllUnchanged, assertGuarded, assertDeleted, assertLoaded } from './helpers/nightly.js';

const tmp = tempDir('nightly-genesys-');
after(() => tmp.cleanup());

interface Row { name: string; phone: string }

/** Numbers from +14155552000 up: clear of the emulator's User and Queue contacts (+1415555 0100 / 0199). */
function people(n: number): Row[] {
  return Array.from({ length: n }, (_, i) => ({ name: `Person ${i}`, phone: `+1415555${String(2000 + i)}` }));
}

const n = nightly<Row>({
  dir: tmp.path, target: 'genesys', header: ['Name', 'Phone'], cells: (r) => [r.name, r.phone],
  mapping: ['fields:', '  name: Name', '  phones: Phone', 'phone:', '  defaultCountry: US'], args: ['--retry-base-ms', '5'],
});
const csv = n.csv;
const load = (emu: GenesysEmulator, state: string, file: string, args: string[] = []) => n.load(emu.env, state, file, args);

const since = (emu: GenesysEmulator, n: number) => emu.state.log.slice(n).map((r) => `${r.method} ${r.path}`);
const byPhone = (emu: GenesysEmulator, phone: string) => emu.state.customWithIds().filter((c) => c.phoneNumber === phone);
/** What open() reads before anything can be planned: the custom contacts, and the User and Queue directory. */
const OPEN_READS = ['GET /contacts?type=Custom', 'GET /contacts?type=Queue', 'GET /contacts?type=User'];

test('genesys: same file twice is skipped with zero requests; the same data in a new file is all unchanged with zero requests; one change sends one PUT', async () => {
  const emu = await startGenesysEmulator({ seed: 3 });
  const state = join(tmp.path, 'state-incremental.db');
  try {
    const rows = people(60);
    const first = csv(rows);
    const r1 = await load(emu, state, first);
    assert.equal(r1.code, 0, r1.stdout + r1.stderr);
    assert.deepEqual(assertInvariant(r1.out).counts, { read: 60, success: 60, failed: 0, merged: 0, unchanged: 0 });
    assert.equal(emu.state.custom().length, 60);
    assert.equal(emu.state.requests['POST /contacts'], 60);

    // A scheduler delivers the same file again.
    const before = emu.state.log.length;
    const r2 = await load(emu, state, first);
    assert.equal(r2.code, 0, r2.stdout + r2.stderr);
    assert.deepEqual(since(emu, before), [], 'not even the reads of open()');
    assertSkipped(r2, r1, 'genesys');

    // The same contacts in another file (reversed, so another checksum): nothing is sent.
    const r3 = await load(emu, state, csv([...rows].reverse()));
    assert.deepEqual(since(emu, before), [], 'an unchanged export makes no request');
    assertAllUnchanged(r3, 60, r1);

    // One contact is renamed. Expected requests: open() reads the custom contacts and the
    // User and Queue directory (three GETs, needed to plan the write against what exists),
    // then exactly one PUT to that contact's id.
    const [p17] = byPhone(emu, '+14155552017');
    const changed = rows.map((r) => (r.name === 'Person 17' ? { ...r, name: 'Person Seventeen' } : r));
    const r4 = await load(emu, state, csv(changed));
    assert.equal(r4.code, 0, r4.stdout + r4.stderr);
    const sent = since(emu, before);
    assert.deepEqual(sent.filter((s) => s.startsWith('GET')).sort(), OPEN_READS);
    assert.deepEqual(sent.filter((s) => !s.startsWith('GET')), [`PUT /contacts/${p17.id}`]);
    assert.deepEqual(assertInvariant(r4.out).counts, { read: 60, success: 1, failed: 0, merged: 0, unchanged: 59 });
    assert.equal(emu.state.contacts.get(p17.id)!.name, 'Person Seventeen');
    assert.equal(emu.state.custom().length, 60);

    // --force reads a loaded file again, and sends only what differs from the ledger: Person 17's old name.
    const forced = emu.state.log.length;
    const r5 = await load(emu, state, first, ['--force']);
    assert.equal(r5.code, 0, r5.stdout + r5.stderr);
    assert.deepEqual(since(emu, forced).filter((s) => !s.startsWith('GET')), [`PUT /contacts/${p17.id}`]);
    assert.deepEqual(assertInvariant(r5.out).counts, { read: 60, success: 1, failed: 0, merged: 0, unchanged: 59 });
    assert.equal(emu.state.contacts.get(p17.id)!.name, 'Person 17');
  } finally {
    await emu.close();
  }
});

test('genesys --mirror: a truncated file deletes nothing and says why; --allow-mass-delete deletes exactly the absent; a contact made in Genesys survives', async () => {
  const emu = await startGenesysEmulator({ seed: 9 });
  const state = join(tmp.path, 'state-mirror.db');
  try {
    const rows = people(100);
    const r0 = await load(emu, state, csv(rows));
    assertLoaded(r0);
    const byHand = emu.state.seed({ name: 'Made In Genesys', type: 'Custom', phoneNumber: '+14155559999' });
    const idOf = new Map(emu.state.customWithIds().map((c) => [c.phoneNumber, c.id]));

    // Two contacts left the export (2%): deleted by the ids the ledger recorded.
    const fewer = rows.filter((r) => r.name !== 'Person 0' && r.name !== 'Person 2');
    const r1 = await load(emu, state, csv(fewer), ['--mirror']);
    assertLoaded(r1);
    assert.deepEqual(readReportCsv(r1.out, 'deleted.csv').map((d) => [d.scope, d.key, d.status]).sort(), [
      ['custom', '+14155552000', 'deleted'], ['custom', '+14155552002', 'deleted']]);
    assert.deepEqual(emu.state.log.filter((r) => r.method === 'DELETE').map((r) => r.path).sort(),
      [`/contacts/${idOf.get('+14155552000')}`, `/contacts/${idOf.get('+14155552002')}`].sort());
    assert.equal(emu.state.custom().length, 99);

    // A truncated file: 50 of the 98 are absent. Nothing is deleted, exit 1, and it says why.
    const truncated = fewer.slice(0, 48);
    const before = emu.state.log.length;
    const r2 = await load(emu, state, csv(truncated), ['--mirror']);
    assertGuarded(r2, { scope: 'custom', absent: 50, contacts: 98, counts: { read: 48, success: 0, failed: 0, merged: 0, unchanged: 48 } });
    assert.deepEqual(since(emu, before), [], 'nothing to send and nothing to delete: no request at all');
    assert.equal(emu.state.requests['DELETE /contacts/{id}'], 2, 'no new DELETE');
    assert.equal(emu.state.custom().length, 99);

    // The user checked: the deletes are right. The same file is not skipped (its deletes were held back).
    const r3 = await load(emu, state, csv(truncated), ['--mirror', '--allow-mass-delete']);
    assertDeleted(r3, 50);
    assert.equal(emu.state.requests['DELETE /contacts/{id}'], 52);
    assert.deepEqual(emu.state.custom().map((c) => c.phoneNumber).sort(), [...truncated.map((r) => r.phone), '+14155559999'].sort(),
      'exactly the absent ones were deleted');
    assert.equal(emu.state.contacts.get(byHand)?.name, 'Made In Genesys', 'a contact the tool did not create is never deleted');
    assert.equal(emu.state.contacts.size - emu.state.custom().length, 2, 'the User and Queue contacts are untouched');

    // Deleted contacts are gone from the state store: the same data again deletes nothing more.
    const r4 = await load(emu, state, csv([...truncated].reverse()), ['--mirror']);
    assertLoaded(r4);
    assert.equal(emu.state.requests['DELETE /contacts/{id}'], 52);
    assert.equal(readReportCsv(r4.out, 'deleted.csv').length, 0);
  } finally {
    await emu.close();
  }
});

test('genesys --mirror: a contact whose phone changed (same name) is updated in place by name and not deleted', async () => {
  const emu = await startGenesysEmulator({ seed: 13 });
  const state = join(tmp.path, 'state-moved.db');
  try {
    const rows = people(20);
    const r0 = await load(emu, state, csv(rows));
    assertLoaded(r0);
    const [p5] = byPhone(emu, '+14155552005');

    const moved = rows.map((r) => (r.name === 'Person 5' ? { ...r, phone: '+14155553005' } : r));
    const before = emu.state.log.length;
    const r1 = await load(emu, state, csv(moved), ['--mirror']);
    const s1 = assertLoaded(r1);
    assert.deepEqual(s1.counts, { read: 20, success: 1, failed: 0, merged: 0, unchanged: 19 });
    // No contact holds the new number, so the loader matches by name and moves the old contact to it.
    assert.deepEqual(since(emu, before).filter((s) => !s.startsWith('GET')), [`PUT /contacts/${p5.id}`]);
    assert.deepEqual(emu.state.contacts.get(p5.id), { id: p5.id, name: 'Person 5', type: 'Custom', phoneNumber: '+14155553005' });
    // The old number is absent from the file, but the contact recorded under it now holds
    // the new number: it is reported gone (nothing to delete under that number), with no DELETE.
    const d1 = readReportCsv(r1.out, 'deleted.csv');
    assert.deepEqual(d1.map((d) => [d.scope, d.key, d.target_id, d.status]), [['custom', '+14155552005', p5.id, 'gone']]);
    assert.equal(emu.state.requests['DELETE /contacts/{id}'] ?? 0, 0);
    assert.equal(emu.state.custom().length, 20);

    // Later nights with the same data keep it too.
    const r2 = await load(emu, state, csv([...moved].reverse()), ['--mirror']);
    assertLoaded(r2);
    assert.equal(readReportCsv(r2.out, 'deleted.csv').length, 0);
    assert.equal(emu.state.requests['DELETE /contacts/{id}'] ?? 0, 0);
    assert.equal(emu.state.contacts.get(p5.id)?.phoneNumber, '+14155553005');

    // The moved contact is still the tool's own: when it leaves the file, it is deleted.
    const r3 = await load(emu, state, csv(moved.filter((r) => r.name !== 'Person 5')), ['--mirror']);
    assertLoaded(r3);
    assert.deepEqual(readReportCsv(r3.out, 'deleted.csv').map((d) => [d.key, d.target_id, d.status]), [['+14155553005', p5.id, 'deleted']]);
    assert.equal(emu.state.requests['DELETE /contacts/{id}'], 1);
    assert.equal(emu.state.contacts.get(p5.id), undefined);
  } finally {
    await emu.close();
  }
});
