import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { lineEnds } from '../pipeline/sources/csv.js';
import { referenceLineEnds, STATES } from './helpers/line-ends-reference.js';

// The CSV reader turns line ends outside quotes into \n before papaparse sees the text
// (lineEnds). It jumps from quote to quote; the reference reads every character. Both must
// give the same text, the same state at the end (a chunk's unfinished row is rescanned with
// it) and the same "ended with a CR" flag, from any state, for any delimiter.

const DELIMS = [',', ';', '\t', '|'];
const ALPHABET = ['a', 'b', ' ', '\t', ',', ';', '|', '"', '"', '\r', '\n', '\r\n', '\u00a0', 'é', '😀'];
const textArb = fc.array(fc.constantFrom(...ALPHABET), { maxLength: 40 }).map((p) => p.join(''));

test('property: lineEnds gives what the character-by-character scan gives, from any state, with any delimiter', () => {
  fc.assert(fc.property(textArb, fc.constantFrom(...DELIMS), fc.constantFrom(...Object.values(STATES)), fc.boolean(), (text, d, state, write) => {
    const delim = d.charCodeAt(0);
    assert.deepEqual(lineEnds(text, delim, state, write), referenceLineEnds(text, delim, state, write));
  }), { numRuns: 20000 });
});

test('lineEnds keeps a CR inside quotes and turns CRLF, CR and LF rows into \\n rows (spreadsheet exports)', () => {
  const cases: [string, number][] = [
    // CRLF rows, a quoted cell with CRLF and another with LF in it (Excel writes LF in a cell).
    ['id,notes\r\n1,"two\r\nlines"\r\n2,"a\nb"\r\n3,plain\r\n', 0],
    // An unquoted quote is a literal: it does not open a field, so the CR after it is a line end.
    ['5" floppy,x\r\n"q",y\r', 0],
    // A closing quote followed by spaces, then the line end; a doubled quote inside.
    ['"a""b"  \r\n"c"d\r\ne"\r\n', 0],
    // Starting inside a quoted field (a chunk boundary), and ending in one.
    ['still quoted\r\n",x\r\n"open\r', 2],
    ['', 0],
    ['\r', 2],
  ];
  for (const [text, state] of cases) {
    for (const write of [true, false]) {
      assert.deepEqual(lineEnds(text, 44, state, write), referenceLineEnds(text, 44, state, write), JSON.stringify(text));
    }
  }
  assert.deepEqual(lineEnds('id,notes\r\n1,"two\r\nlines"\r\n2,"a\nb"\r\n3,plain\r\n', 44, 0, true),
    { text: 'id,notes\n1,"two\r\nlines"\n2,"a\nb"\n3,plain\n', state: 0, endCR: false });
  assert.deepEqual(lineEnds('a,b\r', 44, 0, true), { text: 'a,b\n', state: 0, endCR: true });
});
