/**
 * The file target encodes each Samespace upload row as it arrives instead of keeping a
 * chunk of row arrays for Papa.unparse; the chunk files must stay byte-identical to what
 * Papa.unparse writes (the network loader uploads Papa.unparse's output).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import Papa from 'papaparse';
import { samespaceChunkCsv, samespaceCsvCell, samespaceCsvLine } from '../pipeline/loaders/file/loader.js';

const cell = fc.oneof(fc.constant(''), fc.string({ maxLength: 10 }), fc.string({ unit: 'binary', maxLength: 6 }),
  fc.constantFrom(' lead', 'trail ', ' ', 'a,b', 'say "hi"', 'two\nlines', 'cr\r', '\ufeffbom', '=1+1', '+14155552671', "'q", '\t'));

test('property: a chunk equals Papa.unparse of the same rows with the header, CRLF, and a final CRLF', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 6 }).chain((w) => fc.tuple(
    fc.array(cell, { minLength: w, maxLength: w }),
    fc.array(fc.array(cell, { minLength: w, maxLength: w }), { minLength: 1, maxLength: 8 }),
  )), ([fields, rows]) => {
    const want = Papa.unparse({ fields, data: rows }, { newline: '\r\n' }) + '\r\n';
    assert.equal(samespaceChunkCsv(fields, rows.map(samespaceCsvLine)), want);
  }), { numRuns: 3000, seed: 21 });
});

test('each code unit alone, first, middle and last is quoted exactly when Papa.unparse quotes it', () => {
  for (let u = 0; u <= 0xffff; u++) {
    const ch = String.fromCharCode(u);
    for (const v of [ch, `${ch}a`, `a${ch}b`, `a${ch}`]) {
      const want = Papa.unparse([[v, 'x']], { newline: '\r\n' });
      const got = `${samespaceCsvCell(v)},x`;
      if (got !== want) assert.fail(`${JSON.stringify(v)}: got ${JSON.stringify(got)}, Papa.unparse gives ${JSON.stringify(want)}`);
    }
  }
});
