/**
 * reconcile(): Samespace's importContacts answer (counts and failed contacts by value)
 * turned back into one outcome per row sent, including answers that do not add up.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { reconcile, sameValue, type ReconcileInput } from '../pipeline/loaders/samespace/reconcile.js';
import type { ImportAnswer } from '../pipeline/loaders/samespace/client.js';

const KEYS = ['firstName', 'lastName', 'email', 'phoneNumber'];
const FILE_COLUMNS = ['firstname', 'lastname', 'email', 'phonenumber'];
const ROWS = [
  ['Ann', 'Lee', 'ann@example.com', '+14155550001'],
  ['', 'Lee', 'lee1@example.com', ''],
  ['', 'Lee', 'lee2@example.com', ''],
  ['Bob', 'Ray', 'bob@example.com', '+14155550002'],
  ['Cy', 'Ng', 'cy@example', '+14155550003'],
];

function run(answer: ImportAnswer, rows = ROWS, chunk = 3): ReturnType<typeof reconcile> {
  const input: ReconcileInput = { chunk, keys: KEYS, fileColumns: FILE_COLUMNS, rows, answer };
  return reconcile(input);
}

const failedRow = (reason: string, key: string) => ({ status: 'failed', code: 'TARGET_REJECTED', error: `Samespace: ${reason} (key: ${key})` });

describe('samespace reconcile', () => {
  test('each failed entry goes to the row its key and values name, each row at most once', () => {
    const { outcomes, notes } = run({
      success: 2,
      merged: 0,
      failed: [
        // Listed out of row order, and both "Lee" rows lack a first name: the other values decide.
        { contact: { lastName: 'Lee', email: 'lee2@example.com' }, reason: '"First Name" is required', key: 'firstName' },
        { contact: { firstName: 'Cy', lastName: 'Ng', email: 'cy@example', phoneNumber: '14155550003' }, reason: 'Invalid "Email" input', key: 'email' },
        { contact: { lastName: 'Lee', email: 'lee1@example.com' }, reason: '"First Name" is required', key: 'firstName' },
      ],
    });
    assert.deepEqual(outcomes, [
      { status: 'success', action: 'imported', notes: [] },
      failedRow('"First Name" is required', 'firstName'),
      failedRow('"First Name" is required', 'firstName'),
      { status: 'success', action: 'imported', notes: [] },
      failedRow('Invalid "Email" input', 'email'),
    ]);
    assert.deepEqual(notes, []);
  });

  test('a failed entry is matched by the answered (lower-case) column names and by phone digits', () => {
    const { outcomes } = run({
      success: 4, merged: 0,
      failed: [{ contact: { phonenumber: '1 (415) 555-0002', email: 'BOB@example.com' }, reason: 'Invalid "Contact Owner" input', key: 'email' }],
    });
    assert.deepEqual(outcomes.map((o) => o.status), ['success', 'success', 'success', 'failed', 'success']);
  });

  test('merged > 0: success then merged in row order, every unfailed row noted, one note for the run', () => {
    const { outcomes, notes } = run({ success: 2, merged: 2, failed: [{ contact: { firstName: 'Cy', email: 'cy@example' }, reason: 'Invalid "Email" input', key: 'email' }] });
    const note = 'Samespace reported 2 merged of 5 in chunk 3; which rows were merged is not reported by the API';
    assert.deepEqual(outcomes, [
      { status: 'success', action: 'imported', notes: [note] },
      { status: 'success', action: 'imported', notes: [note] },
      { status: 'merged', action: 'merged-by-target', notes: [note] },
      { status: 'merged', action: 'merged-by-target', notes: [note] },
      failedRow('Invalid "Email" input', 'email'),
    ]);
    assert.deepEqual(notes, [note]);
  });

  test('an answer short of the rows sent: the unaccounted rows fail, and the chunk is flagged', () => {
    const { outcomes, notes } = run({ success: 3, merged: 0, failed: [] });
    assert.deepEqual(notes, ['chunk 3: sent 5, Samespace accounted for 3']);
    assert.deepEqual(outcomes.map((o) => o.status), ['success', 'success', 'success', 'failed', 'failed']);
    assert.equal(outcomes[4].code, 'TARGET_REJECTED');
    assert.equal(outcomes[4].error, 'Samespace did not account for this row (chunk 3)');
  });

  test('an answer over the rows sent is noted; every row still settles once', () => {
    const { outcomes, notes } = run({ success: 7, merged: 0, failed: [] });
    assert.deepEqual(notes, ['chunk 3: sent 5, Samespace accounted for 7']);
    assert.ok(outcomes.every((o) => o.status === 'success'));
  });

  test('a failed entry that matches no row is reported, and the row left over fails with its reason', () => {
    const { outcomes, notes } = run({
      success: 4, merged: 0,
      failed: [{ contact: { firstName: 'Zed', email: 'zed@example.com' }, reason: 'Duplicate record', key: 'email' }],
    });
    assert.match(notes[0], /^chunk 3: Samespace reported 1 failure\(s\) that match no row sent: Duplicate record \(key: email\)/);
    assert.deepEqual(outcomes.map((o) => o.status), ['success', 'success', 'success', 'success', 'failed']);
    assert.match(outcomes[4].error!, /did not account for this row \(chunk 3\); it reported 1 failure\(s\) it did not tie to a row: Duplicate record/);
  });

  test('sameValue: case and spacing do not matter; phones compare by digits', () => {
    assert.ok(sameValue(' Ann  Lee ', 'ann lee'));
    assert.ok(sameValue('+1 415 555 0001', '14155550001'));
    assert.ok(!sameValue('ann@example.com', 'anne@example.com'));
    assert.ok(!sameValue('12', '+12'), 'too few digits to call two phone-like values equal');
  });
});
