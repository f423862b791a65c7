import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Deduper, type DedupeOptions } from '../pipeline/transforms/dedupe.js';
import { cyrb53, foldText, type KeyKind } from '../pipeline/transforms/dedupe-entry.js';
import { emptyContact, type Contact, type ContactRecord } from '../pipeline/contact.js';

let row = 1;
function rec(c: Partial<Contact>, extra: Partial<ContactRecord> = {}): ContactRecord {
  row++;
  return {
    contact: { ...emptyContact(), ...c },
    ref: { file: 0, row, values: [`cell-${row}`, c.name ?? ''] },
    merged: [], conflicts: [], notes: [], ...extra,
  };
}
const phone = (e164: string, ext?: string) => ({ e164, ...(ext ? { ext } : {}) });

async function run(records: ContactRecord[], keys: KeyKind[], extra: Partial<DedupeOptions> = {}) {
  const d = new Deduper({ keys, scope: 'global', rules: {}, idFrom: 'first', ...extra });
  try {
    for (const r of records) d.add(r);
    const out: ContactRecord[] = [];
    for await (const b of d.results()) out.push(...b);
    return { out, stats: d.stats };
  } finally { d.close(); }
}
const rowsOf = (r: ContactRecord) => [r.ref.row, ...r.merged.map((m) => m.ref.row)];

describe('dedupe: match keys', () => {
  test('exact repeated rows merge into the first, with the key that matched', async () => {
    row = 1;
    const a = rec({ id: 'C-1', name: 'Ada', phones: [phone('+14155552671')], emails: ['ada@x.example'] });
    const b = rec({ id: 'C-1', name: 'Ada', phones: [phone('+14155552671')], emails: ['ada@x.example'] });
    const { out, stats } = await run([a, b], ['id', 'phone', 'email']);
    assert.equal(out.length, 1);
    assert.deepEqual(rowsOf(out[0]), [2, 3]);
    assert.equal(out[0].merged[0].key, 'id=C-1');
    assert.deepEqual(out[0].merged[0].ref.values, b.ref.values, 'the merged row keeps its original cells');
    assert.equal(stats.merged, 1);
  });

  test('the same phone, already normalized to E.164 from different spellings, matches', async () => {
    row = 1;
    // "(415) 555-2671" and "+1 415 555 2671" both normalize to +14155552671 before dedupe.
    const out = (await run([rec({ name: 'A', phones: [phone('+14155552671')] }), rec({ name: 'B', phones: [phone('+14155552671')] })], ['phone'])).out;
    assert.equal(out.length, 1);
    assert.equal(out[0].merged[0].key, 'phone=+14155552671');
  });

  test('emails match whatever their case', async () => {
    row = 1;
    const out = (await run([rec({ emails: ['Jane.Doe@Example.com'] }), rec({ emails: ['jane.doe@example.com'] })], ['email'])).out;
    assert.equal(out.length, 1);
    assert.equal(out[0].merged[0].key, 'email=jane.doe@example.com');
  });

  test('matches are transitive: A~B by phone and B~C by email make one contact', async () => {
    row = 1;
    const a = rec({ name: 'A', phones: [phone('+14155552671')] });
    const x = rec({ name: 'X', phones: [phone('+12025550199')] });
    const b = rec({ name: 'B', phones: [phone('+14155552671')], emails: ['b@x.example'] });
    const c = rec({ name: 'C', emails: ['B@X.example'] });
    const { out } = await run([a, x, b, c], ['phone', 'email']);
    assert.equal(out.length, 2);
    assert.deepEqual(rowsOf(out[0]), [2, 4, 5]);
    assert.deepEqual(out[0].merged.map((m) => m.key), ['phone=+14155552671', 'email=b@x.example']);
    assert.deepEqual(rowsOf(out[1]), [3]);
  });

  test('a later row that links two existing clusters joins them under the earliest row', async () => {
    row = 1;
    const a = rec({ phones: [phone('+14155552671')] });
    const c = rec({ emails: ['c@x.example'] });
    const c2 = rec({ emails: ['c@x.example'] });
    const bridge = rec({ phones: [phone('+14155552671')], emails: ['c@x.example'] });
    const { out } = await run([a, c, c2, bridge], ['phone', 'email']);
    assert.equal(out.length, 1);
    assert.deepEqual(rowsOf(out[0]).sort((p, q) => p - q), [2, 3, 4, 5]);
    assert.equal(out[0].ref.row, 2);
    const byRow = Object.fromEntries(out[0].merged.map((m) => [m.ref.row, m.key]));
    assert.equal(byRow[3], 'email=c@x.example', 'row 3 joined row 2 through the bridge row\'s email');
    assert.equal(byRow[4], 'email=c@x.example');
    assert.equal(byRow[5], 'phone=+14155552671');
  });

  test('output order follows each cluster\'s first row', async () => {
    row = 1;
    const recs = [
      rec({ emails: ['a@x.example'] }), rec({ emails: ['b@x.example'] }), rec({ emails: ['a@x.example'] }), rec({ emails: ['c@x.example'] }),
    ];
    const { out } = await run(recs, ['email'], { batchSize: 1 });
    assert.deepEqual(out.map((r) => r.ref.row), [2, 3, 5]);
  });

  test('owner scope: the same customer under two owners stays two contacts', async () => {
    row = 1;
    const recs = [
      rec({ name: 'Cust', owner: 'maria@ourco.example', phones: [phone('+14155552671')] }),
      rec({ name: 'Cust', owner: 'james@ourco.example', phones: [phone('+14155552671')] }),
      rec({ name: 'Cust', owner: 'maria@ourco.example', phones: [phone('+14155552671')] }),
    ];
    const owner = await run(recs, ['phone'], { scope: 'owner' });
    assert.equal(owner.out.length, 2);
    assert.deepEqual(rowsOf(owner.out[0]), [2, 4]);
    assert.deepEqual(rowsOf(owner.out[1]), [3]);
    const global = await run(recs, ['phone'], { scope: 'global' });
    assert.equal(global.out.length, 1, 'in global scope they are one contact');
  });

  test('a phone extension is part of the key: two people behind one switchboard stay apart', async () => {
    row = 1;
    const { out } = await run([rec({ phones: [phone('+14155552671', '12')] }), rec({ phones: [phone('+14155552671', '13')] })], ['phone']);
    assert.equal(out.length, 2);
  });

  test('name + company matches with accents, case and punctuation folded', async () => {
    row = 1;
    assert.equal(foldText('  Zoë  O\'Brien-Smith '), 'zoe o brien smith');
    const { out } = await run([
      rec({ name: 'Zoë O\'Brien', company: 'ACME, Inc.' }),
      rec({ name: 'zoe obrien', company: 'ACME Inc' }),
      rec({ name: 'ZOE O BRIEN', company: 'acme inc' }),
      rec({ name: 'Zoë O\'Brien' }),
    ], ['nameCompany']);
    assert.equal(out.length, 3, '"zoe obrien" is a different fold from "zoe o brien"; no company: no key');
    assert.deepEqual(rowsOf(out[0]), [2, 4]);
    assert.equal(out[0].merged[0].key, 'nameCompany=zoe o brien|acme inc');
  });

  test('without match keys nothing merges', async () => {
    row = 1;
    const { out } = await run([rec({ id: '1', emails: ['a@x.example'] }), rec({ id: '1', emails: ['a@x.example'] })], []);
    assert.equal(out.length, 2);
  });

  test('only the declared keys count: same email does not merge when only phone is a key', async () => {
    row = 1;
    const { out } = await run([rec({ emails: ['a@x.example'], phones: [phone('+14155552671')] }), rec({ emails: ['a@x.example'], phones: [phone('+12025550199')] })], ['phone']);
    assert.equal(out.length, 2);
  });

  test('a forced hash collision is confirmed against the real key and does not merge', async () => {
    row = 1;
    const recs = [
      rec({ name: 'A', emails: ['a@x.example'] }),
      rec({ name: 'B', emails: ['b@x.example'] }),
      rec({ name: 'C', emails: ['c@x.example'] }),
      rec({ name: 'B again', emails: ['B@x.example'] }),
    ];
    // Every key hashes to the same value: only the real key comparison can tell them apart.
    const { out, stats } = await run(recs, ['email'], { hash: () => 42 });
    assert.deepEqual(out.map(rowsOf), [[2], [3, 5], [4]]);
    assert.ok(stats.hashCollisions >= 3, `collisions counted: ${stats.hashCollisions}`);
  });

  test('partial collisions: some keys share a hash, the real duplicates still merge', async () => {
    row = 1;
    const recs = Array.from({ length: 200 }, (_v, i) => rec({ emails: [`user${i % 150}@x.example`] }));
    const { out, stats } = await run(recs, ['email'], { hash: (s) => cyrb53(s) % 7 });
    assert.equal(out.length, 150);
    assert.equal(stats.merged, 50);
    for (const r of out) for (const m of r.merged) assert.equal(m.key, `email=${r.contact.emails[0]}`);
  });

  test('collisions confirmed from disk: a row matching an early record on several keys merges once, near-misses do not', async () => {
    row = 1;
    // Past the spill's in-memory ring (4,096 records) and its 1 MiB write buffer, keys are
    // confirmed by reading the earlier record's keys from disk, and the record last read is kept
    // for the row's next key. Every key hashes into one of 50 values, so most confirmations
    // compare different keys.
    const n = 5_000;
    const note = 'n'.repeat(400); // 5,000 entries of about 500 bytes: the first ones are on disk
    const recs = Array.from({ length: n }, (_v, i) => rec({ id: `id-${i}`, name: `${note} ${i}`, emails: [`u${i}@x.example`] }));
    for (let i = 0; i < 300; i++) {
      recs.push(rec({ id: `id-${i}`, emails: [`U${i}@x.example`] })); // same id and email: one merge
      recs.push(rec({ id: `id-${i}-b`, emails: [`u${i}@y.example`] })); // shares neither
    }
    const { out, stats } = await run(recs, ['id', 'email'], { hash: (s) => cyrb53(s) % 50 });
    assert.equal(stats.merged, 300);
    assert.equal(out.length, n + 300);
    for (let i = 0; i < 300; i++) assert.deepEqual(rowsOf(out[i]), [i + 2, n + 2 + 2 * i]);
    assert.ok(stats.hashCollisions > 1000, `collisions counted: ${stats.hashCollisions}`);
  });

  test('records spill to a temp file that is removed on close', async () => {
    row = 1;
    const dir = mkdtempSync(join(tmpdir(), 'dedupe-spill-'));
    try {
      const d = new Deduper({ keys: ['email'], scope: 'global', rules: {}, idFrom: 'first', tmpDir: dir });
      d.add(rec({ emails: ['a@x.example'] }));
      assert.equal(readdirSync(dir).length, 1);
      d.close();
      assert.equal(readdirSync(dir).length, 0);
    } finally { rmSync(dir, { recursive: true, force: true }); }
  });

  test('many records: spilled, read back beyond the in-memory window, accounted once each', async () => {
    row = 1;
    const n = 12_000;
    const recs = Array.from({ length: n }, (_v, i) => rec({ id: `id-${i % 10_000}`, name: `Person ${i}`, phones: [phone(`+1415555${String(i % 10_000).padStart(4, '0')}`)] }));
    const { out, stats } = await run(recs, ['id', 'phone']);
    assert.equal(out.length, 10_000);
    assert.equal(stats.merged, 2_000);
    const all = out.flatMap(rowsOf).sort((a, b) => a - b);
    assert.deepEqual(all, Array.from({ length: n }, (_v, i) => i + 2));
    const r0 = out[0];
    assert.deepEqual(rowsOf(r0), [2, 10_002]);
    assert.equal(r0.contact.name, 'Person 0', 'first non-empty wins by default');
    assert.deepEqual(r0.conflicts, [{ field: 'name', chosen: 'Person 0', rejected: ['Person 10000'] }]);
  });

  test('unsent(): after an abort, every record not emitted is returned once', async () => {
    row = 1;
    const d = new Deduper({ keys: ['email'], scope: 'global', rules: {}, idFrom: 'first', batchSize: 2 });
    try {
      for (let i = 0; i < 7; i++) d.add(rec({ emails: [`u${i % 5}@x.example`] }));
      const it = d.results();
      const first = await it.next();
      assert.ok(!first.done);
      const emittedRows = first.value.flatMap(rowsOf);
      const rest = [...d.unsent()].map((r) => r.ref.row);
      assert.deepEqual([...emittedRows, ...rest].sort((a, b) => a - b), [2, 3, 4, 5, 6, 7, 8]);
    } finally { d.close(); }
  });
});
