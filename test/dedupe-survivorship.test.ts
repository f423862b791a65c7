import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mergeMembers, completeness, type Member } from '../pipeline/transforms/merge.js';
import { emptyContact, type Contact } from '../pipeline/contact.js';
import type { Mapping } from '../pipeline/mapping/schema.js';

function member(row: number, c: Partial<Contact>, opts: { key?: string; date?: string; notes?: string[] } = {}): Member {
  return {
    rec: { contact: { ...emptyContact(), ...c }, ref: { file: 0, row, values: [String(row)] }, merged: [], conflicts: [], notes: opts.notes ?? [], date: opts.date },
    key: opts.key,
  };
}
const merge = (ms: Member[], rules: Mapping['dedupe']['rules'] = {}, idFrom: 'first' | 'rule' = 'first') => mergeMembers(ms, { rules, idFrom });

describe('dedupe: survivorship rules', () => {
  const cluster = () => [
    member(2, { company: '', title: 'Rep' }, { date: '2024-01-05' }),
    member(3, { company: 'Acme', title: 'Senior Sales Representative', address: '1 Main St' }, { key: 'phone=+1', date: '2024-03-01' }),
    member(4, { company: 'Acme Corporation', title: 'VP' }, { key: 'email=a@x', date: '2023-12-31' }),
  ];

  test('first non-empty is the default', () => {
    assert.equal(merge(cluster()).contact.company, 'Acme');
    assert.equal(merge(cluster()).contact.title, 'Rep');
  });
  test('last non-empty', () => {
    assert.equal(merge(cluster(), { company: 'last', title: 'last' }).contact.company, 'Acme Corporation');
    assert.equal(merge(cluster(), { title: 'last' }).contact.title, 'VP');
  });
  test('longest', () => {
    assert.equal(merge(cluster(), { title: 'longest' }).contact.title, 'Senior Sales Representative');
    assert.equal(merge(cluster(), { company: 'longest' }).contact.company, 'Acme Corporation');
  });
  test('from the most complete record', () => {
    const c = cluster();
    assert.ok(completeness(c[1].rec.contact) > completeness(c[2].rec.contact));
    assert.equal(merge(c, { title: 'mostComplete' }).contact.title, 'Senior Sales Representative');
  });
  test('newest by the date column; rows without a readable date count as oldest', () => {
    assert.equal(merge(cluster(), { title: 'newest' }).contact.title, 'Senior Sales Representative');
    const ms = [member(2, { title: 'A' }, { date: 'not a date' }), member(3, { title: 'B' }, { date: '2020-01-01' }), member(4, { title: 'C' })];
    assert.equal(merge(ms, { title: 'newest' }).contact.title, 'B');
    const tie = [member(2, { title: 'A' }, { date: '2024-01-01' }), member(3, { title: 'B' }, { date: '2024-01-01' })];
    assert.equal(merge(tie, { title: 'newest' }).contact.title, 'B', 'a tie goes to the later row');
  });
  test('name, firstName and lastName come together from the one row rules.name picks, so every target names the same person', () => {
    const ava = () => [
      member(2, { name: 'Ava', firstName: 'Ava' }),
      member(3, { name: 'Ava Thompson', firstName: 'Ava', lastName: 'Thompson' }, { key: 'k' }),
    ];
    const first = merge(ava());
    assert.deepEqual([first.contact.name, first.contact.firstName, first.contact.lastName], ['Ava', 'Ava', undefined],
      'not name "Ava" with the other row\'s last name');
    assert.deepEqual(first.conflicts, [
      { field: 'name', chosen: 'Ava', rejected: ['Ava Thompson'] },
      { field: 'lastName', chosen: '', rejected: ['Thompson'] },
    ], 'the last name left behind is a conflict, kept "" over it');
    const longest = merge(ava(), { name: 'longest' }).contact;
    assert.deepEqual([longest.name, longest.firstName, longest.lastName], ['Ava Thompson', 'Ava', 'Thompson']);
    // Without a name (joinFirstLast: false), the rule compares first and last name joined.
    const parts = merge([member(2, { firstName: 'Ava' }), member(3, { firstName: 'Ava', lastName: 'Thompson' }, { key: 'k' })], { name: 'longest' }).contact;
    assert.deepEqual([parts.name, parts.firstName, parts.lastName], [undefined, 'Ava', 'Thompson']);
    // A row with no name part at all is never picked over one with a name.
    const none = merge([member(2, { company: 'Acme' }), member(3, { name: 'Bo Li', firstName: 'Bo', lastName: 'Li' }, { key: 'k' })]).contact;
    assert.deepEqual([none.name, none.firstName, none.lastName], ['Bo Li', 'Bo', 'Li']);
    const nobody = merge([member(2, { company: 'Acme' }), member(3, { company: 'Acme' }, { key: 'k' })]).contact;
    assert.deepEqual([nobody.name, nobody.firstName, nobody.lastName], [undefined, undefined, undefined]);
  });
  test('a rule never picks an empty value over a non-empty one', () => {
    const ms = [member(2, { company: 'Acme' }), member(3, { company: '' })];
    assert.equal(merge(ms, { company: 'last' }).contact.company, 'Acme');
  });

  test('phones, emails and websites are unioned in row order without repeats', () => {
    const ms = [
      member(2, { phones: [{ e164: '+14155552671', label: 'mobile' }], emails: ['A@x.example'], websites: ['https://a.example'] }),
      member(3, { phones: [{ e164: '+12025550199' }, { e164: '+14155552671', label: 'work' }], emails: ['a@x.example', 'b@x.example'] }, { key: 'phone=+14155552671' }),
      member(4, { phones: [{ e164: '+14155552671', ext: '9' }], websites: ['https://a.example', 'https://b.example'] }, { key: 'k' }),
    ];
    const c = merge(ms).contact;
    assert.deepEqual(c.phones, [{ e164: '+14155552671', label: 'mobile' }, { e164: '+12025550199' }, { e164: '+14155552671', ext: '9' }]);
    assert.deepEqual(c.emails, ['A@x.example', 'b@x.example']);
    assert.deepEqual(c.websites, ['https://a.example', 'https://b.example']);
  });

  test('the id is the first row\'s id unless the mapping says idFrom: rule', () => {
    const ms = [member(2, { id: 'C-1' }), member(3, { id: 'C-22' }, { key: 'k' })];
    assert.equal(merge(ms, { id: 'longest' }).contact.id, 'C-1');
    assert.equal(merge(ms, { id: 'longest' }, 'rule').contact.id, 'C-22');
    const noFirst = [member(2, {}), member(3, { id: 'C-3' }, { key: 'k' })];
    assert.equal(merge(noFirst).contact.id, 'C-3', 'the first row that has an id');
  });

  test('the merged record keeps the first row and the rows merged into it, with their keys', () => {
    const r = merge(cluster());
    assert.equal(r.ref.row, 2);
    assert.deepEqual(r.merged.map((m) => [m.ref.row, m.key]), [[3, 'phone=+1'], [4, 'email=a@x']]);
  });

  test('custom properties follow rules too (by "custom.<key>" or the key itself)', () => {
    const ms = [member(2, { custom: { tier: 'gold' } }), member(3, { custom: { tier: 'platinum', region: 'EU' } }, { key: 'k' })];
    const r = merge(ms, { 'custom.tier': 'last' });
    assert.deepEqual(r.contact.custom, { tier: 'platinum', region: 'EU' });
    assert.deepEqual(r.conflicts, [{ field: 'custom.tier', chosen: 'platinum', rejected: ['gold'] }]);
  });

  test('notes of every member are kept once', () => {
    const ms = [member(2, {}, { notes: ['n1'] }), member(3, {}, { key: 'k', notes: ['n1', 'n2'] })];
    assert.deepEqual(merge(ms).notes, ['n1', 'n2']);
  });
});

describe('dedupe: conflicts', () => {
  test('disagreeing rows record the chosen and the rejected values', () => {
    const r = merge([
      member(2, { company: 'Acme', title: 'CEO' }),
      member(3, { company: 'Globex', title: 'ceo' }, { key: 'k' }),
      member(4, { company: 'Initech' }, { key: 'k' }),
      member(5, { company: 'GLOBEX' }, { key: 'k' }),
    ]);
    assert.deepEqual(r.conflicts, [{ field: 'company', chosen: 'Acme', rejected: ['Globex', 'Initech'] }],
      'case and spacing differences are not conflicts; each rejected value is listed once');
  });
  test('agreeing rows and empty values are not conflicts', () => {
    const r = merge([member(2, { company: 'Acme' }), member(3, { company: ' acme ' }, { key: 'k' }), member(4, {}, { key: 'k' })]);
    assert.deepEqual(r.conflicts, []);
  });
  test('a single record passes through untouched', () => {
    const m = member(2, { company: 'Acme' });
    assert.equal(merge([m]), m.rec);
  });
});
