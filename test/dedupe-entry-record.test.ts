/**
 * A record as the dedupe spill keeps it (pipeline/transforms/dedupe-entry.ts): its parts
 * joined by NUL when none of its strings holds one, JSON otherwise. Either way the contact,
 * its row, notes and date come back exactly: every field, absent and empty told apart,
 * lists and custom properties in their order. A joined entry that does not decode fails
 * as a bug instead of shifting the record's fields.
 */
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as XLSX from 'xlsx';
import { decodePayload, decodeRecords, entryBytes, EntryEncoder, payloadStart, type EntryRecord } from '../pipeline/transforms/dedupe-entry.js';
import { emptyContact, SCALAR_FIELDS, type Contact, type ContactRecord } from '../pipeline/contact.js';
import { assertInvariant, readReportCsv, runCli, tempDir } from './helpers/cli.js';

const SPEC = { keys: ['id', 'phone', 'email'] as const, scope: 'owner' as const };

function roundTrip(recs: EntryRecord[]) {
  const enc = new EntryEncoder(SPEC);
  for (const r of recs) enc.add(r);
  const batch = enc.finish();
  return { batch, back: decodeRecords(batch) };
}

/** The payload text of each entry of a batch, as the spill hands it to decodePayload. */
function payloads(recs: EntryRecord[]): string[] {
  const { batch } = roundTrip(recs);
  const b = entryBytes(batch);
  return Array.from(batch.ends, (end, i) => b.toString('utf8', payloadStart(b, i ? batch.ends[i - 1] : 0), end));
}

/** What a decoded record must equal: the contact without absent fields, its row, notes and date. */
function assertSame(got: ContactRecord, want: EntryRecord, what: string): void {
  const strip = (c: Contact) => JSON.parse(JSON.stringify(c)) as Contact;
  assert.deepEqual(got.contact, strip(want.contact), `${what}: contact`);
  assert.deepEqual(Object.keys(got.contact.custom), Object.keys(want.contact.custom), `${what}: custom properties in order`);
  assert.deepEqual([got.ref.file, got.ref.row, got.notes, got.date, got.ref.values], [want.file, want.row, want.notes, want.date, want.values], `${what}: row, notes, date, cells`);
  assert.deepEqual([got.merged, got.conflicts], [[], []], `${what}: nothing merged yet`);
}

const FULL: Contact = {
  id: 'CRM-1', name: 'Zoë "Z" Ångström', firstName: 'Zoë', lastName: 'Ångström', company: 'ACME, Inc.\nBranch 2',
  title: '', address: '1 Main St\r\nSpringfield', photoUrl: 'https://ex.example/p.png', twitter: '@zoe', url: 'https://ex.example',
  owner: 'ann@ourco.example',
  emails: ['zoe@ex.example', 'Z@EX.EXAMPLE'],
  phones: [{ e164: '+14155550101' }, { e164: '+14155550102', ext: '12' }, { e164: '+442079460958', label: 'work' }, { e164: '+33123456789', ext: '', label: '' }],
  websites: ['https://a.example', ''],
  custom: { zeta: '1', alpha: '', '12': 'numeric key', 'with space': '["json","looking"]' },
};

const rec = (contact: Contact, i: number, extra: Partial<EntryRecord> = {}): EntryRecord =>
  ({ contact, file: i % 3, row: i + 2, values: [`cell ${i}`, ''], nulFree: true, notes: [], ...extra });

describe('dedupe entry: the record', () => {
  test('every field, absent and empty apart, comes back from the joined form; the stored text names no field', () => {
    const recs: EntryRecord[] = [
      rec(FULL, 0, { notes: ['phone "x" dropped', ''], date: '2024-08-26' }),
      rec(emptyContact(), 1),
      rec({ ...emptyContact(), name: '', owner: '' }, 2, { date: '' }),
      rec({ ...emptyContact(), id: '-1', company: '0012', custom: { b: '2', a: '1' } }, 3, { values: ['a\u0000b'], nulFree: false }),
      rec({ ...FULL, firstName: undefined, phones: [] }, 4, { values: [] }),
    ];
    const texts = payloads(recs);
    for (const t of texts) assert.match(t, /^\d+\u0000/, 'joined, not JSON');
    assert.ok(!texts[0].includes('"firstName"') && !texts[0].includes('e164'), 'no field names');
    const { back } = roundTrip(recs);
    recs.forEach((r, i) => assertSame(back[i], r, `record ${i}`));
    // Fields come back in SCALAR_FIELDS order after the lists, whatever order the mapping set them in.
    assert.deepEqual(Object.keys(back[0].contact), ['emails', 'phones', 'websites', 'custom', ...SCALAR_FIELDS]);
    assert.equal('firstName' in back[4].contact, false, 'an absent field stays absent');
    assert.equal(back[2].contact.name, '', 'an empty field stays empty');
  });

  test('a record with a NUL in one of its strings is stored as JSON and comes back exactly, beside joined ones', () => {
    const withNul: [string, Contact, Partial<EntryRecord>][] = [
      ['a scalar', { ...FULL, company: 'nul\u0000inside' }, {}],
      ['an email', { ...FULL, emails: ['a\u0000@x.example'] }, {}],
      ['a phone label', { ...FULL, phones: [{ e164: '+14155550101', label: '\u0000' }] }, {}],
      ['a custom key', { ...FULL, custom: { 'k\u0000': 'v' } }, {}],
      ['a custom value', { ...FULL, custom: { k: 'v\u0000' } }, {}],
      ['a note', FULL, { notes: ['\u0000'] }],
      ['the date', FULL, { date: '2024\u000001' }],
      ['a website', { ...FULL, websites: ['\u0000'] }, {}],
    ];
    const recs = withNul.flatMap(([, c, extra], i) => [rec(c, 2 * i, extra), rec(FULL, 2 * i + 1)]);
    const texts = payloads(recs);
    withNul.forEach(([what], i) => {
      assert.equal(texts[2 * i][0], '[', `${what}: JSON`);
      assert.match(texts[2 * i + 1], /^\d/, `${what}: the next record is joined`);
    });
    const { back } = roundTrip(recs);
    recs.forEach((r, i) => assertSame(back[i], r, `record ${i}`));
  });

  test('random records round-trip in both forms', () => {
    // mulberry32: a seeded generator whose low bits are as random as its high ones.
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
    };
    const ALPHABET = ['a', 'Z', '0', '9', '-', ' ', '"', '\\', '\n', '\r', '[', ']', '{', ',', ':', 'é', '🎉', '\u2028', '\u0001', '\u0000'];
    const str = () => Array.from({ length: rand(6) }, () => ALPHABET[rand(ALPHABET.length - (rand(40) ? 1 : 0))]).join('');
    const list = <T>(f: () => T) => Array.from({ length: rand(4) }, f);
    const recs: EntryRecord[] = [];
    for (let i = 0; i < 3000; i++) {
      const c: Contact = { ...emptyContact(), emails: list(str), websites: list(str) };
      for (const f of SCALAR_FIELDS) if (rand(2)) c[f] = str();
      c.phones = list(() => {
        const p: Contact['phones'][number] = { e164: `+${rand(1e9)}` };
        if (rand(3) === 0) p.ext = str();
        if (rand(2)) p.label = str();
        return p;
      });
      for (const k of list(str)) c.custom[k] = str();
      const nulFree = rand(2) === 0;
      const values = list(str).map((v) => (nulFree ? v.replace(/\u0000/g, '') : v));
      recs.push({ contact: c, file: rand(4), row: i + 2, values, nulFree, notes: list(str), ...(rand(2) ? { date: str() } : {}) });
    }
    const texts = payloads(recs);
    const joined = texts.filter((t) => t[0] !== '[').length;
    assert.ok(joined > 1000 && joined < 3000, `both forms are exercised (${joined} joined of 3000)`);
    const { back } = roundTrip(recs);
    recs.forEach((r, i) => assertSame(back[i], r, `record ${i}`));
  });

  test('a joined entry with a part more than it says fails loudly as a bug instead of shifting the fields', () => {
    const [text] = payloads([rec(FULL, 0)]);
    const cut = text.indexOf('\u0000');
    const len = Number(text.slice(0, cut));
    const record = text.slice(cut + 1, cut + 1 + len);
    // A NUL inside the company: one part more than recordText wrote.
    const bad = record.replace('ACME', 'AC\u0000ME');
    const tampered = `${bad.length}\u0000${bad}${text.slice(cut + 1 + len)}`;
    assert.throws(() => decodePayload(tampered), /internal error: a dedupe entry does not decode \(\d+ parts, at part \d+\)/);
    assert.equal(decodePayload(text).contact.company, FULL.company, 'the untouched entry decodes');
    // A part more at the end, after everything the record says it holds.
    const longer = `${record}\u0000x`;
    assert.throws(() => decodePayload(`${longer.length}\u0000${longer}${text.slice(cut + 1 + len)}`), /internal error: a dedupe entry does not decode/);
    // A part fewer, wherever two parts run together.
    const rest = text.slice(cut + 1 + len);
    let tried = 0;
    for (let i = record.indexOf('\u0000'); i !== -1; i = record.indexOf('\u0000', i + 1), tried++) {
      const joined = record.slice(0, i) + record.slice(i + 1);
      assert.throws(() => decodePayload(`${joined.length}\u0000${joined}${rest}`), /internal error: a dedupe entry does not decode/, `parts ${tried} and ${tried + 1} run together`);
    }
    assert.ok(tried > 30, `${tried} places tried`);
  });

  const tmp = tempDir('entry-record-');
  after(() => tmp.cleanup());

  test('a workbook whose cells hold NUL: its contacts stored as JSON, merged, and written exactly, beside joined ones', async () => {
    const aoa = [
      ['External ID', 'Name', 'Company', 'Phone'],
      ['C-1', 'Ann', 'Nul\u0000Corp', '+14155550101'],
      ['C-2', 'Bob', 'Plain Co', '+14155550102'],
      ['C-1', 'Ann B.', '', '+14155550101'],
      ['C-2', 'Bob', 'Other\u0000Co', '+14155550109'],
    ];
    const wb = XLSX.utils.book_new();
    XLSX.utils.book_append_sheet(wb, XLSX.utils.aoa_to_sheet(aoa), 'Contacts');
    const input = join(tmp.path, 'nul-cells.xlsx');
    writeFileSync(input, XLSX.write(wb, { type: 'buffer', bookType: 'xlsx' }));
    const mapping = join(tmp.path, 'm.yaml');
    writeFileSync(mapping, 'fields:\n  id: External ID\n  name: Name\n  company: Company\n  phones: Phone\ndedupe:\n  keys: [id]\n');
    const out = join(tmp.path, 'report');
    const r = await runCli(['run', input, '-m', mapping, '--target', 'file', '--out', out, '--quiet']);
    assert.equal(r.code, 0, r.stderr);
    const summary = assertInvariant(out);
    assert.deepEqual([summary.counts.success, summary.counts.merged], [2, 2]);
    const success = readReportCsv(out, 'success.csv');
    assert.deepEqual(success.map((s) => [s._row, s.target_id, s.merged_rows]), [['2', 'C-1', '4'], ['3', 'C-2', '5']]);
    assert.equal(success[1].conflicts, 'company: kept "Plain Co" over "Other\\u0000Co"', 'the rejected value, NUL and all');
    assert.deepEqual(readReportCsv(out, 'merged.csv').map((m) => [m._row, m.Company]), [['4', ''], ['5', 'Other\u0000Co']]);
    const talkdesk = readFileSync(join(out, 'payloads', 'talkdesk.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { company?: string; phones?: unknown[] });
    assert.deepEqual(talkdesk.map((c) => c.company), ['Nul\u0000Corp', 'Plain Co']);
    assert.equal(talkdesk[1].phones?.length, 2, 'the duplicate\'s second phone is merged into C-2');
  });
});
