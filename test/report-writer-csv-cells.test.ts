/**
 * csvCell and neutralizeCell check character codes instead of running the regexes that
 * define them (they run on every report cell). These tests pin the fast versions to the
 * regex definitions on every UTF-16 code unit in every position that matters, and on
 * random strings.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { csvCell, csvLine, neutralizeCell } from '../pipeline/report/csv-safe.js';

// The definitions as they were written before the fast paths.
const TRIGGER = /^[=+\-@\t\r]/;
const ESCAPED = /^'[=+\-@\t\r']/;
const PLAIN_NUMBER = /^(\+\d{1,15}|-\d+(\.\d+)?)$/;
const NEEDS_QUOTES = /[",\r\n]|^\s|\s$/;
function neutralizeRef(v: string): string {
  if (v === '') return v;
  if (TRIGGER.test(v)) return PLAIN_NUMBER.test(v) ? v : `'${v}`;
  if (ESCAPED.test(v)) return `'${v}`;
  return v;
}
function csvCellRef(v: string): string {
  const safe = neutralizeRef(v);
  return NEEDS_QUOTES.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

test('every code unit alone, first, second, middle and last gives the regex definition', () => {
  let checked = 0;
  for (let u = 0; u <= 0xffff; u++) {
    const ch = String.fromCharCode(u);
    for (const v of [ch, `${ch}x`, `'${ch}x`, `a${ch}b`, `ab${ch}`, `${ch}12`, `-1${ch}`]) {
      const want = csvCellRef(v);
      const got = csvCell(v);
      if (got !== want) assert.fail(`csvCell(${JSON.stringify(v)}) = ${JSON.stringify(got)}, the definition gives ${JSON.stringify(want)}`);
      if (neutralizeCell(v) !== neutralizeRef(v)) assert.fail(`neutralizeCell(${JSON.stringify(v)}) differs from the definition`);
      checked++;
    }
  }
  assert.equal(checked, 0x10000 * 7);
});

test('white space at either end is quoted exactly where \\s matches (Unicode spaces, BOM, line separators)', () => {
  for (const s of ['\u00a0', '\u1680', '\u2000', '\u200a', '\u2028', '\u2029', '\u202f', '\u205f', '\u3000', '\ufeff', '\v', '\f']) {
    assert.equal(csvCell(`${s}Ada`), `"${s}Ada"`);
    assert.equal(csvCell(`Ada${s}`), `"Ada${s}"`);
    assert.equal(csvCell(`A${s}da`), `A${s}da`, 'white space inside a cell needs no quotes');
  }
  for (const s of ['\u0085', '\u200b', '\u180e']) assert.equal(csvCell(`${s}Ada`), `${s}Ada`, 'not \\s in JavaScript');
});

test('property: random cells and lines match the regex definition', () => {
  const trig = fc.constantFrom('', '=', '+', '-', '@', '\t', '\r', "'", "'=", "''", ' ', '"', '\n', '\u00a0', '+1', '-1.5');
  const cell = fc.tuple(trig, fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.stringMatching(/^[0-9.]{0,16}$/)), trig)
    .map(([a, b, c]) => a + b + c);
  fc.assert(fc.property(cell, (v) => csvCell(v) === csvCellRef(v)), { numRuns: 5000, seed: 3 });
  fc.assert(fc.property(fc.array(cell, { maxLength: 8 }), (cells) =>
    csvLine(cells) === cells.map(csvCellRef).join(',') + '\r\n'), { numRuns: 1000, seed: 5 });
});
