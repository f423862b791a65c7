/**
 * The run's register of contacts handed on and not yet settled (pipeline/in-flight.ts): it
 * replaced a Set for the garbage collector's sake, and must still behave as that Set did.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InFlightRecords } from '../pipeline/in-flight.js';
import { emptyContact, type ContactRecord } from '../pipeline/contact.js';

const rec = (row: number): ContactRecord =>
  ({ contact: { ...emptyContact(), id: `C${row}` }, ref: { file: 0, row, values: [] }, merged: [], conflicts: [], notes: [] });

test('in-flight records: add, has, delete and size behave as a Set of the records', () => {
  const f = new InFlightRecords();
  const [a, b] = [rec(2), rec(3)];
  f.add(a);
  f.add(a); // again: no second entry
  f.add(b);
  assert.equal(f.size, 2);
  assert.ok(f.has(a) && f.has(b));
  assert.equal(f.delete(a), true);
  assert.equal(f.delete(a), false, 'settled twice is caught');
  assert.equal(f.has(a), false);
  assert.equal(f.delete(rec(9)), false, 'a record never added is not in flight');
  assert.equal(f.size, 1);
  assert.deepEqual(f.values(), [b]);
});

test('in-flight records: values() keeps the order records were added in, across reused slots', () => {
  const f = new InFlightRecords();
  const rs = Array.from({ length: 6 }, (_, i) => rec(i + 2));
  for (const r of rs.slice(0, 4)) f.add(r);
  f.delete(rs[0]);
  f.delete(rs[2]);
  f.add(rs[4]); // takes a freed slot
  f.add(rs[5]); // and the other
  assert.deepEqual(f.values().map((r) => r.ref.row), [3, 5, 6, 7]);
  // A record deleted and added again counts as added last.
  f.delete(rs[1]);
  f.add(rs[1]);
  assert.deepEqual(f.values().map((r) => r.ref.row), [5, 6, 7, 3]);
});

test('in-flight records: a freed slot taken by another record does not make the first one look in flight', () => {
  const f = new InFlightRecords();
  const [a, b] = [rec(2), rec(3)];
  f.add(a);
  f.delete(a);
  f.add(b); // same slot as a had
  assert.equal(f.has(a), false);
  assert.equal(f.delete(a), false);
  assert.equal(f.has(b), true);
  assert.equal(f.size, 1);
});

test('in-flight records: many records in and out keep the count and order right', () => {
  const f = new InFlightRecords();
  const live: ContactRecord[] = [];
  let row = 2;
  for (let round = 0; round < 50; round++) {
    for (let i = 0; i < 37; i++) { const r = rec(row++); f.add(r); live.push(r); }
    // Settle every third record still in flight, newest first.
    for (let i = live.length - 1; i >= 0; i -= 3) { assert.equal(f.delete(live[i]), true); live.splice(i, 1); }
  }
  assert.equal(f.size, live.length);
  assert.deepEqual(f.values(), live);
});
