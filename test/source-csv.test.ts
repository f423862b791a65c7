import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import iconv from 'iconv-lite';
import { openCsv, guessDelimiter } from '../pipeline/sources/csv.js';
import { detectEncoding } from '../pipeline/sources/encoding.js';
import { normalizeHeaders } from '../pipeline/sources/headers.js';
import { csvLine } from '../pipeline/report/csv-safe.js';
import { ImportError } from '../pipeline/errors.js';
import type { SourceOptions } from '../pipeline/sources/types.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const FIX = join(ROOT, 'test', 'fixtures', 'csv');
const fx = (name: string) => join(FIX, name);
const sample = (name: string) => join(ROOT, 'samples', name);

let tmp: string;
before(() => { tmp = mkdtempSync(join(tmpdir(), 'source-csv-')); });
after(() => { rmSync(tmp, { recursive: true, force: true }); });
let seq = 0;
function temp(name: string, content: string | Buffer): string {
  const dir = join(tmp, String(seq++));
  mkdirSync(dir);
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}

interface PlainRow { row: number; values: string[]; error?: { code: string; row?: number; column?: string; message: string; file?: string } }

async function readAll(file: string, opts: SourceOptions = {}) {
  const src = await openCsv(file, opts);
  const rows: PlainRow[] = [];
  const batches: number[] = [];
  for await (const batch of src.rows()) {
    batches.push(batch.length);
    for (const r of batch) {
      const p: PlainRow = { row: r.row, values: r.values };
      if (r.error) {
        assert.ok(r.error instanceof ImportError);
        assert.equal(r.error.kind, 'row', `${r.error.code} is a row error`);
        p.error = { code: r.error.code, row: r.error.where.row, column: r.error.where.column, message: r.error.message, file: r.error.where.file };
      }
      rows.push(p);
    }
  }
  return { info: src.info, rows, batches, position: src.position?.() };
}
const ok = (rows: PlainRow[]) => rows.map((r) => { assert.equal(r.error, undefined, JSON.stringify(r)); return [r.row, r.values] as const; });

async function fileError(file: string, opts: SourceOptions = {}): Promise<ImportError> {
  let err: unknown;
  try {
    const src = await openCsv(file, opts);
    for await (const _ of src.rows()) { /* drain */ }
  } catch (e) { err = e; }
  assert.ok(err instanceof ImportError, `expected an ImportError, got ${String(err)}`);
  assert.equal(err.kind, 'usage');
  assert.ok(err.message.includes(file), `the message names the file: ${err.message}`);
  assert.equal(err.where.file, file);
  return err;
}

const BASIC = [
  [2, ['Ada Lovelace', '+44 20 7946 0958', 'ada@example.com']],
  [3, ['Alan Turing', '+44 161 496 0123', 'alan@example.com']],
] as const;
const CHUNKS = [1, 2, 3, 7, 13];

describe('csv: delimiters', () => {
  for (const [file, delim] of [['crlf-line-ends.csv', ','], ['semicolon-delimited.csv', ';'], ['utf16le-bom-tab.txt', '\t'], ['pipe-delimited.csv', '|']] as const) {
    test(`detects ${JSON.stringify(delim)} in ${file}`, async () => {
      const { info, rows } = await readAll(fx(file));
      assert.equal(info.delimiter, delim);
      assert.deepEqual(info.headers, ['Name', 'Phone', 'Email']);
      assert.deepEqual(ok(rows), BASIC);
    });
  }

  test('a declared delimiter is used as given', async () => {
    const { info, rows } = await readAll(fx('semicolon-delimited.csv'), { delimiter: ',' });
    assert.equal(info.delimiter, ',');
    assert.deepEqual(info.headers, ['Name;Phone;Email']);
    assert.deepEqual(rows[0].values, ['Ada Lovelace;+44 20 7946 0958;ada@example.com']);
    assert.equal((await readAll(fx('pipe-delimited.csv'), { delimiter: '|' })).info.delimiter, '|');
  });

  test('guessDelimiter: quoted delimiters and decimal commas do not mislead it', () => {
    assert.equal(guessDelimiter('Name;Amount;Rate\nA;1,5;2,25\nB;3,0;4,5\n', false), ';');
    assert.equal(guessDelimiter('Name,Notes\n"a;b;c",x\n"d;e;f",y\n', false), ',');
    assert.equal(guessDelimiter('Email\na@x.example\n', false), ',');
    assert.equal(guessDelimiter('Email\na@x.example\n', true), '\t');
    assert.equal(guessDelimiter('a|b|c\n1|2|3\n4|5|6\n', false), '|');
  });

  test('a one-column file reads as one column', async () => {
    const { rows, info } = await readAll(temp('one.csv', 'Email\na@x.example\nb@x.example\n'));
    assert.deepEqual(info.headers, ['Email']);
    assert.deepEqual(ok(rows), [[2, ['a@x.example']], [3, ['b@x.example']]]);
  });
});

describe('csv: quoting', () => {
  test('quoted fields keep delimiters, doubled quotes and embedded new lines', async () => {
    const { rows } = await readAll(fx('quoted-newlines-and-doubled-quotes.csv'));
    assert.deepEqual(ok(rows), [
      [2, ['Smith, John', 'He said "call me"\nafter 5pm', '415-555-2671']],
      [3, ['Doe, Jane', 'line1\r\nline2\r\nline3', '415-555-2672']],
    ]);
  });

  test('CR and CRLF inside quoted cells are kept as written; outside they end rows', async () => {
    const { rows } = await readAll(fx('cr-inside-quoted-cells.csv'));
    assert.deepEqual(ok(rows), [[2, ['A', 'one\rtwo']], [3, ['B', 'three\r\nfour']], [4, ['C', 'five']]]);
  });

  test('a quote inside an unquoted field is literal', async () => {
    const { rows } = await readAll(temp('inch.csv', 'Name,Height\r\nA,5" tall\r\nB,"6"" tall"\r\n'));
    assert.deepEqual(ok(rows), [[2, ['A', '5" tall']], [3, ['B', '6" tall']]]);
  });

  test('an unterminated quote fails that row with ROW_QUOTE; the rows before and after it load', async () => {
    const { rows } = await readAll(fx('unterminated-quote.csv'));
    assert.deepEqual(rows[0], { row: 2, values: ['A', '1'] });
    assert.equal(rows.length, 3);
    assert.equal(rows[1].row, 3);
    assert.equal(rows[1].error?.code, 'ROW_QUOTE');
    assert.equal(rows[1].error?.row, 3);
    assert.deepEqual(rows[2], { row: 4, values: ['C', '3'] });
  });
});

describe('csv: encodings', () => {
  test('a UTF-8 BOM is stripped from the header (names and raw names)', async () => {
    const { info, rows } = await readAll(fx('utf8-bom.csv'));
    assert.equal(info.encoding, 'utf-8');
    assert.deepEqual(info.headers, ['Name', 'Phone', 'Email']);
    assert.deepEqual(info.rawHeaders, ['Name', 'Phone', 'Email']);
    assert.deepEqual(ok(rows), BASIC);
  });

  test('UTF-8 without a BOM, multi-byte characters and emoji', async () => {
    const text = 'Name,City\nJosé Núñez,Málaga\n山田 太郎,東京\nZoë 😀 👩‍👩‍👧,Zürich\n';
    const { info, rows } = await readAll(temp('utf8.csv', text));
    assert.equal(info.encoding, 'utf-8');
    assert.deepEqual(ok(rows), [[2, ['José Núñez', 'Málaga']], [3, ['山田 太郎', '東京']], [4, ['Zoë 😀 👩‍👩‍👧', 'Zürich']]]);
  });

  test('UTF-16 LE and BE with a BOM', async () => {
    const le = await readAll(fx('utf16le-bom-tab.txt'));
    assert.equal(le.info.encoding, 'utf-16le');
    const be = await readAll(fx('utf16be-bom.csv'));
    assert.equal(be.info.encoding, 'utf-16be');
    assert.deepEqual(ok(be.rows), BASIC);
    assert.deepEqual(be.info.headers, ['Name', 'Phone', 'Email']);
  });

  test('samples/unicode-text.txt: Excel "Unicode Text" (UTF-16 LE, tabs, CRLF), every script intact', async () => {
    const { info, rows } = await readAll(sample('unicode-text.txt'));
    assert.equal(info.encoding, 'utf-16le');
    assert.equal(info.delimiter, '\t');
    assert.deepEqual(info.headers, ['Name', 'Company', 'Mobile', 'Email', 'Country']);
    assert.deepEqual(ok(rows).map(([r, v]) => [r, v[0]]), [
      [2, '山田 太郎'], [3, 'Zoë Ångström'], [4, 'Ольга Иванова'], [5, 'محمد علي'], [6, 'José Álvarez'], [7, 'Emoji 😀 Person'],
    ]);
    assert.deepEqual(rows[0].values, ['山田 太郎', '株式会社サンプル', '090-1234-5678', 'taro.yamada@sample.example', 'JP']);
  });

  test('Windows-1252 without a BOM is detected', async () => {
    const { info, rows } = await readAll(fx('latin1-accents-no-bom.csv'));
    assert.equal(info.encoding, 'windows-1252');
    assert.deepEqual(ok(rows), [[2, ['José Núñez', 'Málaga']], [3, ['Renée Côté', 'Québec']]]);
  });

  test('samples/windows-1252.csv: detected, and declared as windows-1252 or latin1', async () => {
    const auto = await readAll(sample('windows-1252.csv'));
    assert.equal(auto.info.encoding, 'windows-1252');
    assert.equal(auto.info.delimiter, ';');
    assert.deepEqual(auto.info.headers, ['Nom', 'Prénom', 'Société', 'Téléphone', 'Courriel', 'Pays']);
    assert.deepEqual(auto.rows.at(-1)?.values, ['Dürr', 'Zoë', 'Café Noël – Straße 5', '+33 1 42 68 53 00', 'zoe@noel.example', 'France']);
    assert.equal(auto.rows.length, 6);
    for (const encoding of ['windows-1252', 'latin1'] as const) {
      const declared = await readAll(sample('windows-1252.csv'), { encoding, delimiter: ';' });
      assert.equal(declared.info.encoding, 'windows-1252');
      assert.deepEqual(declared.rows, auto.rows);
    }
  });

  test('declared UTF-8 on a Windows-1252 file fails the rows with bad bytes, not the file', async () => {
    const { rows } = await readAll(fx('latin1-accents-no-bom.csv'), { encoding: 'utf-8' });
    assert.deepEqual(rows.map((r) => [r.row, r.error?.code, r.error?.column]), [[2, 'ENCODING_INVALID', 'Name'], [3, 'ENCODING_INVALID', 'Name']]);
  });

  test('invalid UTF-8 bytes fail that row only (ENCODING_INVALID), declared', async () => {
    const { rows } = await readAll(fx('invalid-utf8-bytes.csv'), { encoding: 'utf-8' });
    assert.deepEqual(rows.map((r) => [r.row, r.values[0].replace('\uFFFD', '?'), r.error?.code]), [
      [2, 'Good', undefined], [3, 'Bad?(', 'ENCODING_INVALID'], [4, 'After', undefined],
    ]);
    assert.equal(rows[1].error?.row, 3);
    assert.equal(rows[1].error?.column, 'Name');
  });

  test('a UTF-8 file with one corrupt byte stays UTF-8: only that row fails, the accents elsewhere are intact', async () => {
    const { info, rows } = await readAll(fx('utf8-accents-one-invalid-byte.csv'));
    assert.equal(info.encoding, 'utf-8');
    assert.deepEqual(rows.map((r) => [r.row, r.error?.code ?? r.values.join('|')]), [
      [2, 'José Núñez|Málaga'], [3, 'Renée Côté|Québec'], [4, 'ENCODING_INVALID'], [5, 'Zoë Dürr|Köln'],
    ]);
  });

  // The sample (64 KiB) decides the encoding; one that is all ASCII reads the same in UTF-8
  // and Windows-1252, so the first bytes over 0x7F further on decide instead.
  const asciiHead = (rows: number) => Array.from({ length: rows }, (_, i) => `Person ${i},Town ${i}`).join('\r\n');
  for (const chunkBytes of [256 * 1024, 1000, 7]) {
    test(`Windows-1252 accents first met past an all-ASCII sample are Windows-1252, not bad UTF-8 (read in chunks of ${chunkBytes} bytes)`, async () => {
      const text = `Name,City\r\n${asciiHead(5000)}\r\nJosé Núñez,Málaga\r\nRenée Côté,Québec\r\n`;
      const file = temp('late-latin1.csv', iconv.encode(text, 'windows-1252'));
      const { info, rows } = await readAll(file, { chunkBytes });
      assert.equal(info.encoding, 'windows-1252');
      assert.equal(rows.length, 5002);
      assert.deepEqual(rows.filter((r) => r.error), []);
      assert.deepEqual(rows.slice(-2).map((r) => r.values), [['José Núñez', 'Málaga'], ['Renée Côté', 'Québec']]);
      assert.deepEqual(rows[0].values, ['Person 0', 'Town 0']);
    });
  }

  test('UTF-8 accents first met past an all-ASCII sample stay UTF-8, even split across reads; a corrupt byte among them fails its row only', async () => {
    const text = `Name,City\n${asciiHead(5000)}\nJosé Núñez,Málaga\nBad \uFFFD,X\nZoë Dürr,Köln 😀\n`;
    const bytes = Buffer.from(text.replace('\uFFFD', '\u0000'));
    bytes[bytes.indexOf(0)] = 0xe9; // a lone Windows-1252 é in a UTF-8 file
    const file = temp('late-utf8.csv', bytes);
    for (const chunkBytes of [256 * 1024, 1000, 7]) {
      const { info, rows } = await readAll(file, { chunkBytes });
      assert.equal(info.encoding, 'utf-8');
      assert.deepEqual(rows.slice(-3).map((r) => [r.error?.code ?? r.values.join('|')]), [['José Núñez|Málaga'], ['ENCODING_INVALID'], ['Zoë Dürr|Köln 😀']]);
      assert.equal(rows.filter((r) => r.error).length, 1);
    }
  });

  test('declared UTF-8 stays UTF-8 past an all-ASCII sample: the Windows-1252 rows fail, and the hint names windows-1252', async () => {
    const text = `Name,City\r\n${asciiHead(5000)}\r\nJosé Núñez,Málaga\r\n`;
    const file = temp('late-latin1-declared.csv', iconv.encode(text, 'windows-1252'));
    const { info, rows } = await readAll(file, { encoding: 'utf-8' });
    assert.equal(info.encoding, 'utf-8');
    assert.deepEqual(rows.filter((r) => r.error).map((r) => [r.row, r.error!.code, r.error!.column]), [[5002, 'ENCODING_INVALID', 'Name']]);
    assert.match(new ImportError('ENCODING_INVALID', 'x').hint!, /windows-1252/);
  });

  test('detectEncoding: BOMs, declared, sniffed', () => {
    assert.deepEqual(detectEncoding(Buffer.from([0xef, 0xbb, 0xbf, 0x41]), 'windows-1252'), { encoding: 'utf-8', bomLength: 3, how: 'bom' });
    assert.deepEqual(detectEncoding(Buffer.from([0xff, 0xfe, 0x41, 0]), undefined), { encoding: 'utf-16le', bomLength: 2, how: 'bom' });
    assert.deepEqual(detectEncoding(Buffer.from([0xfe, 0xff, 0, 0x41]), undefined), { encoding: 'utf-16be', bomLength: 2, how: 'bom' });
    assert.deepEqual(detectEncoding(Buffer.from('abc'), 'latin1'), { encoding: 'windows-1252', bomLength: 0, how: 'declared' });
    assert.equal(detectEncoding(Buffer.from('Name,Phone\nA,1\n', 'utf16le'), 'auto').encoding, 'utf-16le');
    const be = Buffer.from('Name,Phone\nA,1\n', 'utf16le').swap16();
    assert.equal(detectEncoding(be, 'auto').encoding, 'utf-16be');
    assert.equal(detectEncoding(Buffer.from('José'), 'auto').encoding, 'utf-8');
    assert.equal(detectEncoding(iconv.encode('José Müller', 'windows-1252'), 'auto').encoding, 'windows-1252');
    // A sample cut in the middle of a multi-byte character is still UTF-8.
    assert.equal(detectEncoding(Buffer.from('Zoë 😀').subarray(0, -2), 'auto').encoding, 'utf-8');
  });
});

describe('csv: line ends, blank lines, rows', () => {
  test('CRLF, LF, CR and a mix of them read the same rows', async () => {
    for (const f of ['crlf-line-ends.csv', 'cr-only-line-ends.csv', 'utf8-bom.csv']) {
      assert.deepEqual(ok((await readAll(fx(f))).rows), BASIC, f);
    }
    const mixed = await readAll(fx('mixed-line-ends.csv'));
    assert.deepEqual(ok(mixed.rows), [[2, ['A', '1']], [3, ['B', '2']], [4, ['C', '3']], [5, ['D', '4']]]);
  });

  test('blank lines are skipped but counted in row numbers', async () => {
    const { rows } = await readAll(fx('blank-lines-between-rows.csv'));
    assert.deepEqual(ok(rows), [[3, ['A', '1']], [6, ['B', '2']]]);
    const spaces = await readAll(temp('spaces.csv', 'Name,Phone\r\nA,1\r\n , \r\n,\r\n\r\nB,2\r\n'));
    assert.deepEqual(ok(spaces.rows), [[2, ['A', '1']], [6, ['B', '2']]]);
  });

  test('a multi-line quoted cell is one row, as in a spreadsheet', async () => {
    const { rows } = await readAll(temp('ml.csv', 'Name,Address\n"A","1 Main St\nSpringfield"\nB,x\n'));
    assert.deepEqual(ok(rows), [[2, ['A', '1 Main St\nSpringfield']], [3, ['B', 'x']]]);
  });

  test('ragged rows: too few and too many fields fail with the row number; trailing empty delimiters are fine', async () => {
    const { rows } = await readAll(fx('ragged-rows.csv'));
    assert.deepEqual(rows.map((r) => [r.row, r.error?.code, r.error?.row]), [
      [2, undefined, undefined], [3, 'ROW_TOO_FEW_FIELDS', 3], [4, 'ROW_TOO_MANY_FIELDS', 4], [5, undefined, undefined],
    ]);
    assert.deepEqual(rows[1].values, ['B', '2'], 'the original cells travel with the failed row');
    assert.match(rows[1].error!.message, /expected 3 fields, got 2/);
    assert.match(rows[2].error!.message, /expected 3 fields, got 4/);
    assert.equal(rows[2].error!.file, fx('ragged-rows.csv'));
    assert.deepEqual(rows[3].values, ['D', '4', 'd@x.example'], 'trailing empty cells are dropped');
    const many = await readAll(temp('trail.csv', 'A,B\n1,2,,,\n3,4,,x\n'));
    assert.deepEqual(many.rows.map((r) => [r.row, r.values, r.error?.code]), [[2, ['1', '2'], undefined], [3, ['3', '4', '', 'x'], 'ROW_TOO_MANY_FIELDS']]);
  });

  test('samples/messy.csv: the one ragged row fails, the multi-line addresses read', async () => {
    const { rows } = await readAll(sample('messy.csv'));
    const failed = rows.filter((r) => r.error);
    assert.deepEqual(failed.map((r) => [r.row, r.error!.code]), [[19, 'ROW_TOO_MANY_FIELDS']]);
    assert.equal(rows[0].values[7], '1 Market St\nSan Francisco, CA');
  });

  test('samples/clean.csv reads 20 rows of 10 fields', async () => {
    const { rows, info } = await readAll(sample('clean.csv'));
    assert.equal(info.headers.length, 10);
    assert.equal(rows.length, 20);
    assert.ok(rows.every((r, i) => r.row === i + 2 && r.values.length === 10 && !r.error));
  });

  test('headerRow: title rows above the header are skipped and counted', async () => {
    const { info, rows } = await readAll(temp('titled.csv', 'Contacts export\nGenerated today\nName,Phone\nA,1\n'), { headerRow: 3 });
    assert.equal(info.headerRow, 3);
    assert.deepEqual(info.headers, ['Name', 'Phone']);
    assert.deepEqual(ok(rows), [[4, ['A', '1']]]);
  });

  test('rows come in batches of batchSize; position() reports the bytes read; rows() cannot be read twice', async () => {
    const body = Array.from({ length: 25 }, (_, i) => `n${i},${i}`).join('\n');
    const file = temp('batches.csv', `Name,N\n${body}\n`);
    const r = await readAll(file, { batchSize: 10 });
    assert.deepEqual(r.batches, [10, 10, 5]);
    assert.deepEqual(r.rows.map((x) => x.row), Array.from({ length: 25 }, (_, i) => i + 2));
    assert.equal(r.position, r.info.bytes);
    const src = await openCsv(file);
    src.rows();
    assert.throws(() => src.rows());
    src.close();
  });
});

describe('csv: headers', () => {
  test('duplicate and blank header names follow the rule', async () => {
    const { info, rows } = await readAll(fx('duplicate-and-blank-headers.csv'));
    assert.deepEqual(info.rawHeaders, ['Name', 'Phone', '', 'Phone', ' Name ']);
    assert.deepEqual(info.headers, ['Name', 'Phone', 'Column 3', 'Phone (2)', 'Name (2)']);
    assert.deepEqual(ok(rows), [[2, ['A', '1', 'x', '2', 'y']]]);
  });

  test('normalizeHeaders', () => {
    assert.deepEqual(normalizeHeaders(['Phone', 'Phone', 'Phone']), ['Phone', 'Phone (2)', 'Phone (3)']);
    assert.deepEqual(normalizeHeaders(['Phone', 'Phone', 'Phone (2)']), ['Phone', 'Phone (3)', 'Phone (2)'], 'a suffix already taken is skipped');
    assert.deepEqual(normalizeHeaders(['', ' ', 'Column 1']), ['Column 1', 'Column 2', 'Column 1 (2)']);
    assert.deepEqual(normalizeHeaders(['\uFEFFName', 'name']), ['Name', 'name'], 'case-sensitive; a stray BOM is removed');
  });
});

describe('csv: size caps', () => {
  test('a cell over maxCellChars fails its row (ROW_TOO_LARGE, naming the column); the next rows still read', async () => {
    const file = temp('big.csv', `A,B\n1,${'x'.repeat(30)}\n2,ok\n3,"${'y'.repeat(25)}"\n4,ok\n`);
    const { rows } = await readAll(file, { maxCellChars: 20 });
    assert.deepEqual(rows.map((r) => [r.row, r.error?.code, r.error?.column]), [
      [2, 'ROW_TOO_LARGE', 'B'], [3, undefined, undefined], [4, 'ROW_TOO_LARGE', 'B'], [5, undefined, undefined],
    ]);
    assert.match(rows[0].error!.message, /30 characters.*cap of 20/);
    assert.deepEqual(rows[1].values, ['2', 'ok']);
  });

  test('a row longer than the row cap is dropped with ROW_TOO_LARGE, whatever the chunk size; the next rows read', async () => {
    const file = temp('bigrow.csv', `A,B\n1,ok\n3,"${'y'.repeat(100)}"\n4,ok\n5,"${'z\n'.repeat(60)}"\n6,ok\n`);
    for (const chunkBytes of [undefined, 1, 7, 13, 64]) {
      const { rows } = await readAll(file, { maxCellChars: 20, chunkBytes });
      assert.deepEqual(rows.map((r) => [r.row, r.error?.code]), [
        [2, undefined], [3, 'ROW_TOO_LARGE'], [4, undefined], [5, 'ROW_TOO_LARGE'], [6, undefined],
      ], `chunkBytes ${chunkBytes}`);
      assert.deepEqual(rows[2].values, ['4', 'ok']);
      assert.deepEqual(rows[4].values, ['6', 'ok']);
    }
  });

  test('a runaway quote is ROW_QUOTE at its row, without buffering the rest of the file; the rows after it load', async () => {
    const file = temp('runaway.csv', 'A,B\n1,ok\n2,"unclosed\n' + 'z,z\n'.repeat(200));
    const after = Array.from({ length: 200 }, (_, i) => [i + 4, undefined]);
    for (const chunkBytes of [undefined, 3, 64]) {
      const { rows } = await readAll(file, { maxCellChars: 10, chunkBytes });
      assert.deepEqual(rows.map((r) => [r.row, r.error?.code]), [[2, undefined], [3, 'ROW_QUOTE'], ...after], `chunkBytes ${chunkBytes}`);
      assert.deepEqual(rows[1].values, ['2', 'unclosed']);
    }
  });
});

describe('csv: file-level errors name the file', () => {
  test('empty file: FILE_EMPTY', async () => {
    const e = await fileError(fx('empty.csv'));
    assert.equal(e.code, 'FILE_EMPTY');
    assert.equal((await fileError(temp('bom.csv', '\uFEFF'))).code, 'FILE_EMPTY');
  });

  test('header only: FILE_HEADER_ONLY, also with blank lines after it, no final newline, or small chunks', async () => {
    assert.equal((await fileError(fx('header-only.csv'))).code, 'FILE_HEADER_ONLY');
    assert.equal((await fileError(fx('header-only.csv'), { chunkBytes: 1 })).code, 'FILE_HEADER_ONLY');
    assert.equal((await fileError(temp('h1.csv', 'Name,Phone\n\n\r\n'))).code, 'FILE_HEADER_ONLY');
    assert.equal((await fileError(temp('h2.csv', 'Name,Phone'))).code, 'FILE_HEADER_ONLY');
  });

  test('an XLSX renamed .csv: FILE_TYPE_MISMATCH', async () => {
    const e = await fileError(fx('xlsx-renamed.csv'));
    assert.equal(e.code, 'FILE_TYPE_MISMATCH');
    assert.match(e.message, /xlsx/i);
  });

  test('a PDF is FILE_TYPE_MISMATCH; a binary file is FILE_NOT_TEXT', async () => {
    assert.equal((await fileError(temp('doc.csv', '%PDF-1.4\n...'))).code, 'FILE_TYPE_MISMATCH');
    assert.equal((await fileError(temp('bin.csv', Buffer.from([0x41, 0, 0, 0, 0x42, 0, 0, 0, 0x43, 0, 0, 0, 0, 0, 0, 0, 0x44, 0x45])))).code, 'FILE_NOT_TEXT');
  });

  test('a missing file: FILE_NOT_FOUND; a folder: FILE_IS_FOLDER', async () => {
    assert.equal((await fileError(join(tmp, 'no-such-file.csv'))).code, 'FILE_NOT_FOUND');
    assert.equal((await fileError(tmp)).code, 'FILE_IS_FOLDER');
  });
});

describe('csv: reading the tool\'s own report back', () => {
  test('a failed.csv gets its neutralized cells restored; an ordinary CSV does not', async () => {
    const original = [
      ['Ann', '=SUM(1)', '+14155552671', "'=already quoted", '@handle', '-12.5', '-', "''"],
      ['Bob', '=HYPERLINK("http://x.example")', '+1 (415) 555', "'plain", 'a,b', '\tTab', 'line\r\nbreak', ''],
    ];
    const header = ['_row', '_stage', '_code', '_error', 'Name', 'Formula', 'Phone', 'Quoted', 'At', 'Neg', 'Dash', 'Apos'];
    const text = csvLine(header) + original.map((r, i) => csvLine([String(i + 2), 'normalize', 'PHONE_INVALID', '=bad', ...r])).join('');
    assert.ok(text.includes("'=SUM(1)"), 'the report neutralized the formula');
    const { rows } = await readAll(temp('failed.csv', text));
    assert.deepEqual(rows.map((r) => r.values.slice(4)), original);
    assert.deepEqual(rows.map((r) => r.values[3]), ['=bad', '=bad']);

    const plain = await readAll(temp('plain.csv', "Name,Formula\nAnn,'=SUM(1)\n"));
    assert.deepEqual(plain.rows[0].values, ['Ann', "'=SUM(1)"]);
  });
});

describe('csv: chunk sizes do not change what is read', () => {
  const files = [
    ...readdirSync(FIX).filter((f) => !['empty.csv', 'header-only.csv', 'xlsx-renamed.csv'].includes(f)).map(fx),
    ...['clean.csv', 'messy.csv', 'windows-1252.csv', 'unicode-text.txt'].map(sample),
  ];
  for (const file of files) {
    test(relative(ROOT, file), async () => {
      const base = await readAll(file);
      assert.ok(base.rows.length > 0);
      for (const chunkBytes of CHUNKS) {
        const r = await readAll(file, { chunkBytes });
        assert.deepEqual(r.info, base.info, `info, chunkBytes ${chunkBytes}`);
        assert.deepEqual(r.rows, base.rows, `rows, chunkBytes ${chunkBytes}`);
      }
    });
  }

  test('UTF-8 multi-byte characters, UTF-16 pairs and CRLF split at every byte', async () => {
    const text = 'Name,Note\r\n"Zoë 😀","a\r\nb"\r\n山田,👩‍👩‍👧\r\nß€,x\r\n';
    const expected = [[2, ['Zoë 😀', 'a\r\nb']], [3, ['山田', '👩‍👩‍👧']], [4, ['ß€', 'x']]];
    const encodings: [string, Buffer][] = [
      ['utf8.csv', Buffer.from(text)],
      ['utf8bom.csv', Buffer.from('\uFEFF' + text)],
      ['le.csv', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')])],
      ['be.csv', Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(text, 'utf16le').swap16()])],
    ];
    for (const [name, bytes] of encodings) {
      const file = temp(name, bytes);
      for (const chunkBytes of [undefined, ...CHUNKS]) {
        assert.deepEqual(ok((await readAll(file, { chunkBytes })).rows), expected, `${name} chunkBytes ${chunkBytes}`);
      }
    }
  });
});

// ------------------------------------------------------------------ property

const DELIMS = [',', ';', '\t', '|'] as const;
const SPECIAL = ['"', ',', ';', '\t', '|', '\n', '\r', '\r\n', ' ', "'", '=', '+'];
const UNICODE = ['é', 'ß', 'Ω', '中', '山田', '😀', '👩‍👩‍👧', '\u00a0', 'ё', 'ع'];
const CP1252 = ['é', 'ß', '€', 'ñ', 'Ü', '–', '’', 'œ', '\u00a0'];

const cellArb = (alphabet: readonly string[]) => fc.array(
  fc.oneof(
    { weight: 3, arbitrary: fc.string({ unit: fc.constantFrom(...'abcXYZ019@.-_ '.split('')), maxLength: 6 }) },
    { weight: 2, arbitrary: fc.constantFrom(...SPECIAL) },
    { weight: 2, arbitrary: fc.constantFrom(...alphabet) },
  ),
  { maxLength: 5 },
).map((parts) => parts.join(''));

interface Case {
  table: string[][]; // data rows
  width: number;
  delim: (typeof DELIMS)[number];
  lineEnds: string[]; // one per line written (header + rows)
  finalNewline: boolean;
  encoding: 'utf-8' | 'utf-8-bom' | 'utf-16le' | 'utf-16be' | 'windows-1252';
  quoteAll: boolean[];
  chunkBytes: number;
}

const caseArb: fc.Arbitrary<Case> = fc.constantFrom('utf-8', 'utf-8-bom', 'utf-16le', 'utf-16be', 'windows-1252' as const)
  .chain((encoding) => fc.integer({ min: 1, max: 4 }).chain((width) => fc.record({
    table: fc.array(fc.array(cellArb(encoding === 'windows-1252' ? CP1252 : UNICODE), { minLength: width, maxLength: width }), { minLength: 1, maxLength: 6 }),
    width: fc.constant(width),
    delim: fc.constantFrom(...DELIMS),
    lineEnds: fc.oneof(
      fc.constantFrom('\n', '\r\n', '\r').map((e) => Array(8).fill(e) as string[]),
      fc.array(fc.constantFrom('\n', '\r\n', '\r'), { minLength: 8, maxLength: 8 }),
    ),
    finalNewline: fc.boolean(),
    encoding: fc.constant(encoding as Case['encoding']),
    quoteAll: fc.array(fc.boolean(), { minLength: 40, maxLength: 40 }),
    chunkBytes: fc.integer({ min: 1, max: 40 }),
  })));

function writeCsv(c: Case): Buffer {
  const header = Array.from({ length: c.width }, (_, i) => `col${i}`);
  let q = 0;
  const cell = (v: string) => {
    const must = v.includes('"') || v.includes(c.delim) || v.includes('\n') || v.includes('\r');
    return must || c.quoteAll[q++ % c.quoteAll.length] ? `"${v.replaceAll('"', '""')}"` : v;
  };
  const lines = [header, ...c.table].map((r) => r.map(cell).join(c.delim));
  let text = '';
  let prev = '';
  lines.forEach((l, i) => {
    let end = i < lines.length - 1 || c.finalNewline ? c.lineEnds[i % c.lineEnds.length] : '';
    // An empty line ended by \n right after a line ended by \r would be one CRLF: a file cannot say otherwise.
    if (prev === '\r' && l === '' && end === '\n') end = '\r\n';
    text += l + end;
    prev = end;
  });
  switch (c.encoding) {
    case 'utf-8': return Buffer.from(text);
    case 'utf-8-bom': return Buffer.from('\uFEFF' + text);
    case 'utf-16le': return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
    case 'utf-16be': return Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(text, 'utf16le').swap16()]);
    case 'windows-1252': return iconv.encode(text, 'windows-1252');
  }
}

/** What a reader must return: rows that are not blank, numbered as a spreadsheet shows them. */
function expectedRows(c: Case): [number, string[]][] {
  const out: [number, string[]][] = [];
  c.table.forEach((r, i) => {
    // A one-column row whose only cell is empty is a blank line; a row of blank cells is skipped too.
    if (r.every((v) => v.trim() === '')) return;
    out.push([i + 2, r]);
  });
  return out;
}

test('property: any table written as CSV (any delimiter, line ends, encoding) reads back equal, at any chunk size', async () => {
  let n = 0;
  await fc.assert(fc.asyncProperty(caseArb, async (c) => {
    const file = temp(`p${n++}.csv`, writeCsv(c));
    const opts: SourceOptions = { delimiter: c.delim, encoding: c.encoding === 'windows-1252' ? 'windows-1252' : 'auto' };
    const want = expectedRows(c);
    if (!want.length) {
      const e = await fileError(file, opts);
      assert.equal(e.code, 'FILE_HEADER_ONLY');
      return;
    }
    const base = await readAll(file, opts);
    assert.deepEqual(base.info.headers, Array.from({ length: c.width }, (_, i) => `col${i}`));
    assert.deepEqual(ok(base.rows), want);
    const chunked = await readAll(file, { ...opts, chunkBytes: c.chunkBytes });
    assert.deepEqual(chunked.rows, base.rows);
  }), { numRuns: 300, seed: 20240601, endOnFailure: true });
});
