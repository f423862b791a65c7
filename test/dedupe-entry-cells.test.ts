/**
 * A row's original cells as the dedupe spill keeps them (pipeline/transforms/dedupe-entry.ts):
 * joined by NUL when the source promises cells without one (CSV), a JSON array otherwise
 * (a workbook's cell may hold one). Either way merged.csv and failed.csv get the cells back
 * exactly; a NUL where none was promised is a bug that says so instead of a shifted row.
 */
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { decodeRecords, entryBytes, EntryEncoder, type EntryRecord } from '../pipeline/transforms/dedupe-entry.js';
import { cellsFreeOfNul } from '../pipeline/sources/types.js';
import { emptyContact } from '../pipeline/contact.js';
import { assertInvariant, readReportCsv, runFileTarget, tempDir } from './helpers/cli.js';

const SPEC = { keys: ['id', 'phone', 'email'] as const, scope: 'global' as const };

/** Cells that JSON would escape or that look like the encoding's own marks. */
const TRICKY: string[][] = [
  ['plain', '', 'Zoë Ångström', '🎉 party', 'a "quoted" word', 'line one\nline two', 'crlf\r\ninside', 'comma, inside'],
  ['["looks","like","json"]', '\\', '\\n', '{"a":1}', '\t tab ', '', '', ''],
  [''],
  ['only one cell'],
  ['\u2028\u2029', '\uFEFFbom', 'trailing space ', '\u0001control', '=1+1', '+33 1 23', '-', '@x'],
];

function records(cells: string[][], nulFree: boolean): EntryRecord[] {
  return cells.map((values, i) => ({
    contact: { ...emptyContact(), id: `C-${i}`, name: `Person ${i}` }, file: 0, row: i + 2, values, nulFree, notes: i ? [] : ['a note'],
  }));
}

function roundTrip(recs: EntryRecord[]) {
  const enc = new EntryEncoder(SPEC);
  for (const r of recs) enc.add(r);
  const batch = enc.finish();
  return { batch, back: decodeRecords(batch) };
}

describe('dedupe entry: a row\'s original cells', () => {
  test('cells a CSV source hands on are joined by NUL and come back exactly', () => {
    assert.equal(cellsFreeOfNul('csv'), true);
    const { batch, back } = roundTrip(records(TRICKY, true));
    // Stored joined, not as JSON: the separators are in the bytes, the JSON escapes are not.
    const text = entryBytes(batch).toString('utf8');
    assert.ok(text.includes('plain\u0000\u0000Zoë Ångström'), 'the cells are joined by NUL');
    assert.ok(text.includes('line one\nline two'), 'a line break in a cell is kept as it is, not escaped');
    assert.deepEqual(back.map((r) => r.ref.values), TRICKY);
    assert.deepEqual(back.map((r) => [r.ref.file, r.ref.row, r.contact.id, r.notes]), TRICKY.map((_, i) => [0, i + 2, `C-${i}`, i ? [] : ['a note']]));
  });

  test('cells of a workbook, which may hold NUL, are kept as JSON and come back exactly', () => {
    assert.equal(cellsFreeOfNul('xlsx'), false);
    assert.equal(cellsFreeOfNul('xls'), false);
    const cells = [...TRICKY, ['nul\u0000inside', '\u0000', 'x']];
    const { batch, back } = roundTrip(records(cells, false));
    assert.ok(entryBytes(batch).toString('utf8').includes('["plain","","Zoë Ångström"'), 'stored as a JSON array');
    assert.deepEqual(back.map((r) => r.ref.values), cells);
  });

  test('a NUL in cells said to be free of it fails loudly as a bug instead of shifting the row', () => {
    const { back } = roundTrip(records([['a', 'b\u0000c', 'd']], true));
    assert.throws(() => back[0].ref.values, /internal error: the cells of row 2 held a NUL character \(4 parts for 3 cells\)/);
  });

  const tmp = tempDir('entry-cells-');
  after(() => tmp.cleanup());

  test('merged.csv repeats a merged CSV row\'s cells exactly: quotes, line breaks, delimiters, accents', async () => {
    const rows = [
      'External ID,Name,Phone,Note',
      'C-1,Ada,+14155550101,first',
      'C-2,Grace,+14155550102,"she said ""hi"", then left"',
      // Duplicates of C-1 and C-2 by id: their cells are what merged.csv repeats.
      'C-1,Ada L.,+14155550101,"two\nlines"',
      'C-2,"Grâce, H.",+14155550102,"crlf\r\ninside, ""quoted"""',
      'C-1,Ada,+14155550101,',
    ];
    const { out, r } = await runFileTarget(tmp.path, [rows], 'fields:\n  id: External ID\n  name: Name\n  phones: Phone\ndedupe:\n  keys: [id]\n', '\r\n');
    assert.equal(r.code, 0, r.stderr);
    assertInvariant(out);
    // In cluster order: C-1's rows, then C-2's.
    const merged = readReportCsv(out, 'merged.csv');
    assert.deepEqual(merged.map((m) => [m._row, m['External ID'], m.Name, m.Phone, m.Note]), [
      ['4', 'C-1', 'Ada L.', '+14155550101', 'two\nlines'],
      ['6', 'C-1', 'Ada', '+14155550101', ''],
      ['5', 'C-2', 'Grâce, H.', '+14155550102', 'crlf\r\ninside, "quoted"'],
    ]);
  });
});
