import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import Papa from 'papaparse';
import { csvCell, csvLine, isToolReport, neutralizeCell, restoreCell } from '../pipeline/report/csv-safe.js';

const TRIGGERS = ['=', '+', '-', '@', '\t', '\r'];
/** Strings that often start with a trigger or an apostrophe. */
const tricky = fc.tuple(
  fc.constantFrom('', '', "'", "''", ...TRIGGERS, ...TRIGGERS.map((t) => `'${t}`)),
  fc.string({ maxLength: 12 }),
).map(([a, b]) => a + b);
const anyCell = fc.oneof(tricky, fc.string(), fc.string({ unit: 'grapheme' }));

describe('formula neutralization', () => {
  test('cells a spreadsheet would run get an apostrophe', () => {
    assert.equal(neutralizeCell('=SUM(1)'), "'=SUM(1)");
    assert.equal(neutralizeCell('=HYPERLINK("http://x.example","click")'), `'=HYPERLINK("http://x.example","click")`);
    assert.equal(neutralizeCell('+SUM(1)'), "'+SUM(1)");
    assert.equal(neutralizeCell('-2+3'), "'-2+3");
    assert.equal(neutralizeCell('@SUM(1)'), "'@SUM(1)");
    assert.equal(neutralizeCell('\t=1'), "'\t=1");
    assert.equal(neutralizeCell('\r=1'), "'\r=1");
    assert.equal(neutralizeCell('-'), "'-");
    assert.equal(neutralizeCell('+'), "'+");
  });

  test('plain numbers stay as they are: E.164 phones and negative numbers', () => {
    for (const v of ['+14155552671', '+442079460958', '-12', '-12.5', '-0.5']) assert.equal(neutralizeCell(v), v);
    assert.equal(neutralizeCell('+1 415 555 2671'), "'+1 415 555 2671", 'not a plain number once it has spaces');
    assert.equal(neutralizeCell('+1234567890123456'), "'+1234567890123456", 'more than 15 digits is not E.164');
  });

  test('harmless cells are unchanged; an apostrophe before a trigger gets one more', () => {
    for (const v of ['', 'Ada', "O'Brien", "'quoted'", "'", 'a=b', ' =SUM(1)', '12']) assert.equal(neutralizeCell(v), v);
    assert.equal(neutralizeCell("'=x"), "''=x");
    assert.equal(neutralizeCell("''"), "'''");
    assert.equal(neutralizeCell("'+1"), "''+1");
  });

  test('restoreCell undoes neutralizeCell', () => {
    assert.equal(restoreCell("'=SUM(1)"), '=SUM(1)');
    assert.equal(restoreCell("''=x"), "'=x");
    assert.equal(restoreCell("'''"), "''");
    assert.equal(restoreCell("O'Brien"), "O'Brien");
    assert.equal(restoreCell("'plain"), "'plain");
    assert.equal(restoreCell('+14155552671'), '+14155552671');
  });

  test('property: restoreCell(neutralizeCell(v)) === v for every string', () => {
    fc.assert(fc.property(anyCell, (v) => restoreCell(neutralizeCell(v)) === v), { numRuns: 2000, seed: 7 });
  });

  test('property: a neutralized cell never starts with a trigger, unless it is a plain number', () => {
    fc.assert(fc.property(anyCell, (v) => {
      const n = neutralizeCell(v);
      if (/^[=+\-@\t\r]/.test(n)) return /^(\+\d{1,15}|-\d+(\.\d+)?)$/.test(n) && n === v;
      return true;
    }), { numRuns: 2000, seed: 11 });
  });

  test('property: neutralizing is injective (two different cells never look the same in the report)', () => {
    fc.assert(fc.property(anyCell, anyCell, (a, b) => a === b || neutralizeCell(a) !== neutralizeCell(b)), { numRuns: 2000, seed: 13 });
  });
});

describe('CSV quoting', () => {
  test('csvCell quotes only when needed (RFC 4180)', () => {
    assert.equal(csvCell('Ada'), 'Ada');
    assert.equal(csvCell('a,b'), '"a,b"');
    assert.equal(csvCell('say "hi"'), '"say ""hi"""');
    assert.equal(csvCell('a\nb'), '"a\nb"');
    assert.equal(csvCell(' padded '), '" padded "');
    assert.equal(csvCell('=1,2'), `"'=1,2"`);
    assert.equal(csvLine(['a', 'b,c', '']), 'a,"b,c",\r\n');
    assert.equal(csvLine([]), '\r\n');
  });

  test('property: a line of cells parses back (papaparse) to the neutralized cells, and restores to the originals', () => {
    fc.assert(fc.property(fc.array(anyCell, { minLength: 2, maxLength: 6 }), (cells) => {
      const parsed = Papa.parse<string[]>(csvLine(cells), { newline: '\r\n', delimiter: ',' }).data[0];
      assert.deepEqual(parsed, cells.map(neutralizeCell));
      assert.deepEqual(parsed.map(restoreCell), cells);
    }), { numRuns: 1000, seed: 17 });
  });

  test('isToolReport: _row with _code (failed.csv) or _key (merged.csv)', () => {
    assert.equal(isToolReport(['_row', '_stage', '_code', '_error', 'Name']), true);
    assert.equal(isToolReport(['Name', '_row', '_key', '_by']), true);
    assert.equal(isToolReport(['Name', '_row']), false);
    assert.equal(isToolReport(['Name', 'Code']), false);
  });
});
