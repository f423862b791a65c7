/**
 * A quote that is never closed fails the row it opens in, and the run goes on (README): the
 * reader resumes at the next physical line after that row's first line, instead of reading
 * the rest of the file as one cell. Through the reader at every chunk size and through the
 * built CLI (`check`), whose summary must still add up.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { openCsv } from '../pipeline/sources/csv.js';
import type { SourceOptions } from '../pipeline/sources/types.js';
import { assertInvariant, readReportCsv, runCli } from './helpers/cli.js';

let tmp: string;
before(() => { tmp = mkdtempSync(join(tmpdir(), 'unclosed-quote-')); });
after(() => { rmSync(tmp, { recursive: true, force: true }); });
let seq = 0;
function temp(content: string | Buffer, name = `f${seq++}.csv`): string {
  const p = join(tmp, name);
  writeFileSync(p, content);
  return p;
}

type Row = [row: number, values: string[], code?: string];
async function read(file: string, opts: SourceOptions = {}): Promise<Row[]> {
  const src = await openCsv(file, opts);
  const rows: Row[] = [];
  for await (const batch of src.rows()) for (const r of batch) rows.push(r.error ? [r.row, r.values, r.error.code] : [r.row, r.values]);
  return rows;
}
const CHUNKS = [undefined, 1, 2, 3, 7, 13, 64];

/** The user's file: six data rows, an unclosed quote on the third. */
const SIX = 'Name,Phone\nAva,+14155550100\nBob,+14155550101\n"Cy,+14155550102\nDi,+14155550103\nEd,+14155550104\nFay,+14155550105\n';
const SIX_ROWS: Row[] = [
  [2, ['Ava', '+14155550100']], [3, ['Bob', '+14155550101']], [4, ['Cy,+14155550102'], 'ROW_QUOTE'],
  [5, ['Di', '+14155550103']], [6, ['Ed', '+14155550104']], [7, ['Fay', '+14155550105']],
];

describe('an unclosed quote fails its row and reading resumes at the next line', () => {
  test('the rows after an unclosed quote are read, at every chunk size, with \\n, \\r\\n or \\r line ends', async () => {
    for (const [name, text] of [['lf', SIX], ['crlf', SIX.replace(/\n/g, '\r\n')], ['cr', SIX.replace(/\n/g, '\r')], ['no final newline', SIX.slice(0, -1)]]) {
      const file = temp(text);
      for (const chunkBytes of CHUNKS) assert.deepEqual(await read(file, { chunkBytes }), SIX_ROWS, `${name}, chunkBytes ${chunkBytes}`);
    }
  });

  test('the rows after an unclosed quote are read in UTF-16 too', async () => {
    for (const bytes of [Buffer.from(SIX, 'utf16le'), Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(SIX, 'utf16le').swap16()])]) {
      const file = temp(bytes);
      for (const chunkBytes of [undefined, 1, 3]) assert.deepEqual(await read(file, { chunkBytes }), SIX_ROWS, `chunkBytes ${chunkBytes}`);
    }
  });

  test('the ROW_QUOTE message says reading goes on; a last line with an unclosed quote keeps the old message', async () => {
    const src = await openCsv(temp(SIX));
    const errors = [];
    for await (const b of src.rows()) for (const r of b) if (r.error) errors.push(r.error);
    assert.deepEqual(errors.map((e) => [e.code, e.where.row]), [['ROW_QUOTE', 4]]);
    assert.match(errors[0].message, /not closed before the end of the file.*reading goes on at the next line/);
    assert.deepEqual(await read(temp('A,B\n1,2\n3,"x\n')), [[2, ['1', '2']], [3, ['3', 'x'], 'ROW_QUOTE']]);
  });

  test('a quote closed many lines later is one valid multi-line row, not a resync', async () => {
    const note = Array.from({ length: 500 }, (_, i) => `note line ${i}, "quoted" words`).join('\n');
    const file = temp(`Name,Note\nAva,"${note.replace(/"/g, '""')}"\nBob,short\n`);
    for (const chunkBytes of [undefined, 7, 100]) {
      assert.deepEqual(await read(file, { chunkBytes }), [[2, ['Ava', note]], [3, ['Bob', 'short']]], `chunkBytes ${chunkBytes}`);
    }
  });

  test('a second unclosed quote after the resume point is recovered too, and so is one on every line', async () => {
    // No quote after the first unclosed one can close a field ("a, b" would have closed it), but "" can.
    const file = temp('A,B\n1,ok\n"2,x\n3,ok\n4,"y\n5,ok\n"6\n7,""\n');
    const expected: Row[] = [[2, ['1', 'ok']], [3, ['2,x'], 'ROW_QUOTE'], [4, ['3', 'ok']], [5, ['4', 'y'], 'ROW_QUOTE'], [6, ['5', 'ok']], [7, ['6'], 'ROW_QUOTE'], [8, ['7', '']]];
    for (const chunkBytes of CHUNKS) assert.deepEqual(await read(file, { chunkBytes }), expected, `chunkBytes ${chunkBytes}`);

    // 20,000 stray quotes: each costs its own row, in linear time (a quadratic resync would take minutes).
    const n = 20_000;
    const many = temp('A,B\n' + Array.from({ length: n }, (_, i) => (i % 2 ? `${i},ok\n` : `${i},"stray\n`)).join(''));
    const started = Date.now();
    const rows = await read(many);
    assert.equal(rows.length, n);
    assert.equal(rows.filter((r) => r[2] === 'ROW_QUOTE').length, n / 2);
    assert.deepEqual(rows.slice(0, 3), [[2, ['0', 'stray'], 'ROW_QUOTE'], [3, ['1', 'ok']], [4, ['2', 'stray'], 'ROW_QUOTE']]);
    assert.ok(Date.now() - started < 20_000, `${Date.now() - started} ms`);
  });

  test('an unclosed quote whose rest passes the row cap (skip mode) resumes at the same line, the file read again', async () => {
    const file = temp('A,B\n1,ok\n2,"unclosed\n' + 'z,z\n'.repeat(50) + 'w,"oops, again\n' + 'y,""\n'.repeat(50));
    const expected: Row[] = [
      [2, ['1', 'ok']], [3, ['2', 'unclosed'], 'ROW_QUOTE'],
      ...Array.from({ length: 50 }, (_, i): Row => [i + 4, ['z', 'z']]),
      [54, ['w', 'oops, again'], 'ROW_QUOTE'],
      ...Array.from({ length: 50 }, (_, i): Row => [i + 55, ['y', '']]),
    ];
    for (const chunkBytes of CHUNKS) {
      assert.deepEqual(await read(file, { chunkBytes }), expected, `carry, chunkBytes ${chunkBytes}`);
      assert.deepEqual(await read(file, { chunkBytes, maxCellChars: 10 }), expected, `row cap 40, chunkBytes ${chunkBytes}`);
    }
    // A first line itself longer than the row cap: dropped to its end, the next line is read.
    const long = temp('A,B\n1,ok\n2,"' + 'x'.repeat(300) + '\n3,ok\n');
    for (const chunkBytes of [undefined, 7, 64]) {
      const rows = await read(long, { chunkBytes, maxCellChars: 10 });
      assert.deepEqual(rows.map((r) => [r[0], r[2]]), [[2, undefined], [3, 'ROW_QUOTE'], [4, undefined]], `chunkBytes ${chunkBytes}`);
      assert.deepEqual(rows[2][1], ['3', 'ok']);
    }
  });

  test('an oversize row that does close is still one ROW_TOO_LARGE row, found where papaparse would end it', async () => {
    // A quote inside an unquoted cell is literal (5" wide): it must not flip the skip's idea of being in quotes.
    const file = temp('A,B,C\n1,x,y\n2,"' + 'long\n'.repeat(30) + 'end",5" wide\n3,ok,z\n');
    for (const chunkBytes of [undefined, 7, 64]) {
      const rows = await read(file, { chunkBytes, maxCellChars: 10 });
      assert.deepEqual(rows.map((r) => [r[0], r[2]]), [[2, undefined], [3, 'ROW_TOO_LARGE'], [4, undefined]], `chunkBytes ${chunkBytes}`);
    }
  });

  test('property: chunk size never changes what is read, and every line after the last stray quote is a row', async () => {
    const line = fc.oneof(
      fc.constant('a,b'), fc.constant('"q, x",y'), fc.constant('"multi\nline",z'), fc.constant('"stray,s'),
      fc.constant('s,"stray'), fc.constant('"",e'), fc.constant('x,"a ""b"" c"'), fc.constant(''), fc.constant('5" tall,t'),
    );
    await fc.assert(fc.asyncProperty(fc.array(line, { minLength: 1, maxLength: 12 }), fc.constantFrom('\n', '\r\n'), async (lines, nl) => {
      const file = temp(['H1,H2', 'first,row', ...lines].join('\n').replace(/\n/g, nl) + nl);
      const base = await read(file);
      for (const chunkBytes of [1, 5]) assert.deepEqual(await read(file, { chunkBytes }), base);
      // Lines after the last one holding a quote are plain rows: a stray quote never swallows them.
      let last = lines.length - 1;
      while (last >= 0 && !lines[last].includes('"')) last--;
      const plain = lines.slice(last + 1).filter((l) => l !== '').map((l) => l.split(','));
      assert.deepEqual(base.slice(base.length - plain.length).map((r) => r[1]), plain);
    }), { numRuns: 300 });
  });
});

describe('an unclosed quote through the CLI: the rows after it are counted and the summary adds up', () => {
  test('check on the six-row file: 6 read, 1 failed ROW_QUOTE at row 4, Di, Ed and Fay would load', async () => {
    const file = temp(SIX, 'six.csv');
    const mapping = temp('fields:\n  name: Name\n  phones: Phone\nphone:\n  defaultCountry: US\n', 'six.yaml');
    const out = join(tmp, 'out-six');
    const r = await runCli(['check', file, '--mapping', mapping, '--out', out, '--quiet']);
    assert.equal(r.code, 1, r.stderr + r.stdout);
    const s = assertInvariant(out);
    assert.deepEqual(s.counts, { ...s.counts, read: 6, failed: 1, success: 5 });
    assert.deepEqual(readReportCsv(out, 'failed.csv').map((f) => [f._row, f._code]), [['4', 'ROW_QUOTE']]);
    assert.deepEqual(readReportCsv(out, 'success.csv').length, 5);
  });
});
