import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FingerprintTable, IntColumn, OffsetColumn } from '../pipeline/transforms/dedupe-table.js';
import { Spill } from '../pipeline/transforms/dedupe-spill.js';
import { Deduper } from '../pipeline/transforms/dedupe.js';
import { emptyContact, type Contact, type ContactRecord } from '../pipeline/contact.js';
import { appendEntries, appendEntry, spillHasKey } from './helpers/spill-entry.js';

function withDir<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'dedupe-index-'));
  try { return fn(dir); } finally { rmSync(dir, { recursive: true, force: true }); }
}

describe('dedupe index: fingerprint table', () => {
  test('every entry is still found after the table grew many times', () => {
    const t = new FingerprintTable(8);
    const n = 50_000;
    for (let i = 0; i < n; i++) assert.equal(t.findOrInsert(FingerprintTable.fingerprint(i * 2654435761), i, () => false), -1);
    assert.equal(t.entries, n);
    for (let i = 0; i < n; i++) {
      assert.equal(t.find(FingerprintTable.fingerprint(i * 2654435761), (rec) => rec === i), i);
    }
    assert.ok(t.bytes <= (n / 0.5) * 8, `no more than half empty: ${t.bytes} bytes for ${n} entries`);
  });

  test('a zero hash still gets a fingerprint that is not the empty mark', () => {
    assert.equal(FingerprintTable.fingerprint(0), 1);
    assert.equal(FingerprintTable.fingerprint(2 ** 32), 1, 'only the low 32 bits count');
  });

  test('entries sharing one fingerprint are each offered to the confirmation until one is confirmed', () => {
    const t = new FingerprintTable(4);
    for (let i = 0; i < 20; i++) t.findOrInsert(7, i, () => false);
    const offered: number[] = [];
    assert.equal(t.find(7, (rec) => { offered.push(rec); return false; }), -1, 'no confirmation: not found');
    assert.deepEqual(offered.sort((a, b) => a - b), Array.from({ length: 20 }, (_v, i) => i));
    assert.equal(t.find(7, (rec) => rec === 13), 13);
    assert.equal(t.find(8, () => true), -1, 'another fingerprint is never offered');
    assert.equal(t.findOrInsert(7, 99, (rec) => rec === 13), 13, 'a confirmed entry is answered');
    assert.equal(t.entries, 20, '... and nothing is stored');
    assert.equal(t.findOrInsert(7, 99, () => false), -1, 'no confirmation: stored');
    assert.equal(t.entries, 21);
    assert.equal(t.find(7, (rec) => rec === 99), 99);
  });
});

describe('dedupe index: columns', () => {
  test('values across chunk boundaries keep their place', () => {
    const ints = new IntColumn();
    const offs = new OffsetColumn();
    const n = 200_000;
    ints.ensure(n);
    offs.ensure(n);
    for (let i = 0; i < n; i += 997) { ints.set(i, -i - 1); offs.set(i, i * 2 ** 20); }
    for (let i = 0; i < n; i += 997) { assert.equal(ints.get(i), -i - 1); assert.equal(offs.get(i), i * 2 ** 20); }
    assert.equal(ints.bytes, Math.ceil(n / 65536) * 65536 * 4, 'grows by whole chunks, not by doubling');
  });
});

describe('dedupe index: spill', () => {
  test('keys longer than one probe read and records larger than the write buffer round-trip', () => withDir((dir) => {
    const s = new Spill(dir);
    try {
      const longKey = `i\u0002${'k'.repeat(3000)}é`;
      const big = 'x'.repeat(3 << 20);
      const n = 6000; // more than the in-memory ring of recent records
      for (let i = 0; i < n; i++) {
        const keys = i === 1 ? [longKey, 'e\u0002one@x.example'] : [`p\u0002+1415555${i}`];
        appendEntry(s, keys, JSON.stringify(i === 2 ? big : `payload ${i} ünïcode`));
      }
      assert.equal(spillHasKey(s, 1, longKey), true);
      assert.equal(spillHasKey(s, 1, 'e\u0002one@x.example'), true);
      assert.equal(spillHasKey(s, 1, `${longKey.slice(0, -1)}e`), false, 'same length, one byte differs');
      assert.equal(spillHasKey(s, 0, 'p\u0002+14155550'), true);
      assert.equal(spillHasKey(s, 0, 'p\u0002+141555500'), false);
      assert.equal(JSON.parse(s.read(2)), big);
      for (let i = 0; i < n; i++) {
        if (i === 2) continue;
        assert.equal(JSON.parse(s.read(i, true)), `payload ${i} ünïcode`);
      }
      assert.equal(JSON.parse(s.read(2, true)), big, 'a record larger than the read window');
      assert.equal(spillHasKey(s, n - 1, `p\u0002+1415555${n - 1}`), true, 'recent records answered before they reach the disk');
    } finally { s.close(); }
  }));
});

describe('dedupe index: spill batches', () => {
  test('batches that fill the write buffer, straddle it or outgrow it keep every entry at its number', () => withDir((dir) => {
    const s = new Spill(dir);
    try {
      // Entries of about 40 KB: a batch of 10 is 400 KB (the 1 MiB buffer takes two, the third
      // flushes it first), a batch of 40 is 1.6 MB (written from where it is).
      const payload = (i: number) => `${i}:${'ü'.repeat(20_000)}`;
      const sizes = [10, 10, 10, 40, 1, 10, 40, 40, 3];
      let next = 0;
      for (const size of sizes) {
        const entries = Array.from({ length: size }, (_, k) => ({ keys: [`p\u0002${next + k}`, `e\u0002${next + k}@x.example`], payload: payload(next + k) }));
        assert.equal(appendEntries(s, entries), next);
        next += size;
      }
      // More records than the ring of recent ones: the big ones are read back from the file.
      const big = next;
      assert.equal(appendEntries(s, Array.from({ length: 5000 }, (_, k) => ({ keys: [`p\u0002small-${k}`], payload: `small ${k}` }))), big);
      next += 5000;
      assert.equal(s.size, next);
      for (let i = 0; i < big; i++) {
        assert.equal(s.read(i, true), payload(i), `record ${i}, read in order`);
        assert.equal(spillHasKey(s, i, `e\u0002${i}@x.example`), true);
        assert.equal(spillHasKey(s, i, `e\u0002${i + 1}@x.example`), false);
      }
      for (const i of [0, 29, 30, 69, 70, big - 1]) assert.equal(s.read(i), payload(i), `record ${i}, read aside`);
      assert.equal(s.read(next - 1, true), 'small 4999');
      assert.deepEqual(appendEntries(s, []), next, 'an empty batch takes nothing');
    } finally { s.close(); }
  }));
});

describe('dedupe index: deduper', () => {
  let row = 1;
  const rec = (c: Partial<Contact>): ContactRecord => {
    row++;
    return { contact: { ...emptyContact(), ...c }, ref: { file: 0, row, values: [String(row)] }, merged: [], conflicts: [], notes: [] };
  };

  test('a long id key far back in the spill is confirmed from disk and merges', async () => {
    const id = `ID-${'7'.repeat(2000)}`;
    const d = new Deduper({ keys: ['id'], scope: 'global', rules: {}, idFrom: 'first' });
    try {
      d.add(rec({ id, name: 'First' }));
      for (let i = 0; i < 5000; i++) d.add(rec({ id: `other-${i}` }));
      d.add(rec({ id, name: 'Again' }));
      const out: ContactRecord[] = [];
      for await (const b of d.results()) out.push(...b);
      assert.equal(out.length, 5001);
      assert.equal(out[0].merged.length, 1);
      assert.equal(out[0].merged[0].key, `id=${id}`);
      assert.equal(d.stats.merged, 1);
      assert.equal(d.stats.clusters, 5001);
    } finally { d.close(); }
  });

  test('stats stay right when results() stops part-way (abort) and when it never ran', async () => {
    const make = () => {
      const d = new Deduper({ keys: ['email'], scope: 'global', rules: {}, idFrom: 'first', batchSize: 1 });
      for (let i = 0; i < 9; i++) d.add(rec({ emails: [`u${i % 4}@x.example`] }));
      return d;
    };
    const before = make();
    try {
      assert.deepEqual([before.stats.clusters, before.stats.merged], [4, 5]);
    } finally { before.close(); }
    const d = make();
    try {
      const it = d.results();
      await it.next();
      assert.deepEqual([d.stats.clusters, d.stats.merged, d.stats.records], [4, 5, 9]);
      assert.ok(d.stats.indexBytes > 0 && d.stats.keys === 4, 'the key table is reported as it was at the last add');
      assert.equal([...d.unsent()].length, 9 - 3, 'the first cluster (rows u0: 3 records) was emitted');
    } finally { d.close(); }
  });
});
