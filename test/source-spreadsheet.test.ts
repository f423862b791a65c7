import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as XLSX from 'xlsx';
import YAML from 'yaml';
import { ImportError, type ErrorCode } from '../pipeline/errors.js';
import { mappingSchema } from '../pipeline/mapping/schema.js';
import { openSpreadsheet, sniffFormat } from '../pipeline/sources/spreadsheet.js';
import { serialToIso } from '../pipeline/sources/spreadsheet-cells.js';
import type { SourceOptions, SourceRow } from '../pipeline/sources/types.js';

const FIX = 'test/fixtures/spreadsheets';
const fx = (name: string) => join(FIX, name);
const SAMPLE_XLSX = 'samples/title-row-phones-as-numbers.xlsx';
const SAMPLE_XLS = 'samples/legacy.xls';

async function readAll(file: string, opts: SourceOptions = {}) {
  const src = await openSpreadsheet(file, opts);
  const batches: SourceRow[][] = [];
  for await (const b of src.rows()) batches.push(b);
  return { info: src.info, batches, rows: batches.flat() };
}

/** Asserts open() fails with `code`, a one-line message naming the file, and where.file set. */
async function rejectsWith(file: string, code: ErrorCode, opts: SourceOptions = {}, pattern?: RegExp) {
  await assert.rejects(openSpreadsheet(file, opts), (e: unknown) => {
    assert.ok(e instanceof ImportError, `expected ImportError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.ok(e.message.includes(file), `message names the file: ${e.message}`);
    assert.ok(!e.message.includes('\n'), `one line: ${JSON.stringify(e.message)}`);
    assert.equal(e.where.file, file);
    if (pattern) assert.match(e.message, pattern);
    return true;
  });
}

let tmp: string;
before(() => { tmp = mkdtempSync(join(tmpdir(), 'source-spreadsheet-')); });
after(() => rmSync(tmp, { recursive: true, force: true }));

function tmpBook(name: string, sheets: [string, unknown[][]][], props?: { date1904?: boolean }): string {
  const wb = XLSX.utils.book_new();
  for (const [n, aoa] of sheets) XLSX.utils.book_append_sheet(wb, XLSX.utils.aoa_to_sheet(aoa), n);
  if (props) wb.Workbook = { ...(wb.Workbook ?? {}), WBProps: props };
  const path = join(tmp, name);
  writeFileSync(path, XLSX.write(wb, { type: 'buffer', bookType: name.endsWith('.xls') ? 'biff8' : 'xlsx' }));
  return path;
}

describe('cells read as the text a person sees', () => {
  test('phones stored as numbers keep all digits and their leading zeros', async () => {
    const { info, rows } = await readAll(fx('leading-zero-text-and-number.xlsx'));
    const at = (h: string) => rows[0].values[info.headers.indexOf(h)];
    assert.equal(at('Phone as text'), '07700900123');
    assert.equal(at('Phone as number'), '07700900123', 'number format "00000000000" restores the zero');
    assert.equal(at('Zip'), '02134');
    assert.equal(at('General 11 digits'), '14155552671');
    assert.equal(at('General 15 digits'), '123456789012345', 'not 1.23457E+14');
    assert.equal(at('Decimal'), '0.5');
    assert.equal(at('Thousands'), '4,155,552,671');
    assert.equal(at('Percent'), '25%');
  });

  test('dates become ISO 8601, with a time part only when there is one; booleans TRUE/FALSE', async () => {
    const { rows } = await readAll(fx('dates-and-booleans.xlsx'));
    assert.deepEqual(rows.map((r) => r.values), [
      ['Ada Lovelace', '2024-03-01', '2024-03-01T13:45:10', '1999-12-31', '12:00:00', 'TRUE'],
      ['Alan Turing', '1912-06-23', '2024-02-29T23:59:59', '2000-01-01', '18:00:00', 'FALSE'],
    ]);
  });

  test('dates in a 1904-based workbook (old Mac Excel) land on the right day', async () => {
    const path = tmpBook('date1904.xlsx', [['S', [['Name', 'Born'], ['Ada', { t: 'n', v: 0, z: 'yyyy-mm-dd' }], ['Alan', { t: 'n', v: 366, z: 'yyyy-mm-dd' }]]]], { date1904: true });
    const { rows } = await readAll(path);
    assert.deepEqual(rows.map((r) => r.values[1]), ['1904-01-01', '1905-01-01']);
  });

  test('serial dates follow Excel, including its phantom 1900-02-29', () => {
    assert.equal(serialToIso(1), '1900-01-01');
    assert.equal(serialToIso(59), '1900-02-28');
    assert.equal(serialToIso(60), '1900-02-29');
    assert.equal(serialToIso(61), '1900-03-01');
    assert.equal(serialToIso(45352), '2024-03-01');
    assert.equal(serialToIso(45352.99999999), '2024-03-02', 'rounds to the second like Excel');
    assert.equal(serialToIso(-1), undefined);
  });

  test('formula cells give their cached value, and an error result is empty', async () => {
    const { info, rows } = await readAll(fx('formulas-cached-values.xlsx'));
    assert.deepEqual(info.headers, ['Name', 'Company', 'Phone', 'Total', 'Active', 'Lookup', 'Created']);
    assert.deepEqual(rows[0].values, ['Ada Lovelace', 'ACME Ltd', '4155552671', '6', 'TRUE', '', '2024-03-01']);
  });
});

describe('the sample workbooks', () => {
  test('title rows are skipped: the header is found on row 3 and rows keep their sheet numbers', async () => {
    const { info, rows } = await readAll(SAMPLE_XLSX);
    assert.equal(info.format, 'xlsx');
    assert.equal(info.sheet, 'Contacts');
    assert.deepEqual(info.sheets, ['Contacts']);
    assert.equal(info.headerRow, 3);
    assert.deepEqual(info.headers, ['Full Name', 'Company', 'Mobile', 'Office', 'Email', 'Owner Email', 'Country', 'Created']);
    assert.equal(info.bytes, readFileSync(SAMPLE_XLSX).length);
    assert.equal(rows.length, 15);
    assert.equal(rows[0].row, 4);
    const byName = new Map(rows.map((r) => [r.values[0], r]));
    assert.equal(byName.get('David Brown')!.values[2], '07700900123');
    assert.equal(byName.get('Alice Johnson')!.values[2], '4155552671');
    assert.equal(byName.get('Grace Lee')!.values[2], '14155550123');
    assert.equal(byName.get('Bob Smith')!.values[1], 'ACME Ltd', 'formula cached value');
    assert.equal(byName.get('Bob Smith')!.values[7], '2023-02-02T09:30:00');
    assert.equal(byName.get('Alice Johnson')!.values[7], '2023-01-15');
    assert.ok(rows.every((r) => !r.error));
  });

  test('an empty row in the middle is skipped, not a row and not a failure', async () => {
    const { rows } = await readAll(SAMPLE_XLSX);
    const numbers = rows.map((r) => r.row);
    assert.ok(!numbers.includes(10), 'row 10 is blank in the sheet');
    assert.deepEqual(numbers.slice(5, 8), [9, 11, 12]);
  });

  test('an explicit header row gives the same result as detection', async () => {
    const detected = await readAll(SAMPLE_XLSX);
    const given = await readAll(SAMPLE_XLSX, { headerRow: 3, sheet: 'Contacts' });
    assert.deepEqual(given.info.headers, detected.info.headers);
    assert.deepEqual(given.rows, detected.rows);
  });

  test('a legacy BIFF8 .xls reads with its accents and a number phone intact', async () => {
    const { info, rows } = await readAll(SAMPLE_XLS);
    assert.equal(info.format, 'xls');
    assert.deepEqual(info.headers, ['First Name', 'Last Name', 'Phone', 'E-mail', 'Company']);
    assert.equal(rows.length, 10);
    assert.deepEqual(rows[0].values, ['José', 'Núñez', '+34 912 34 56 78', 'jose.nunez@example.es', 'Señor Café S.L.']);
    assert.ok(rows.some((r) => r.values[0] === 'Jürgen' && r.values[1] === 'Müller'));
    assert.ok(rows.some((r) => r.values[2] === '2125550143'));
  });

  for (const [mapping, sample] of [['mappings/title-row-phones-as-numbers.yaml', SAMPLE_XLSX], ['mappings/legacy.yaml', SAMPLE_XLS]] as const) {
    test(`${mapping} is valid and names only columns that ${sample} has`, async () => {
      const m = mappingSchema.parse(YAML.parse(readFileSync(mapping, 'utf8')));
      const { info } = await readAll(sample, { sheet: m.source.sheet, headerRow: m.source.headerRow });
      const columns: string[] = [];
      const collect = (spec: unknown): void => {
        if (typeof spec === 'string') columns.push(spec);
        else if (Array.isArray(spec)) spec.forEach(collect);
        else if (spec && typeof spec === 'object') {
          const o = spec as { column?: string; columns?: string[] };
          if (o.column) columns.push(o.column);
          if (o.columns) columns.push(...o.columns);
        }
      };
      Object.values(m.fields).forEach(collect);
      if (m.phone.countryColumn) columns.push(m.phone.countryColumn);
      assert.ok(columns.length >= 4);
      for (const c of columns) assert.ok(info.headers.includes(c), `column "${c}" is in ${info.headers.join(', ')}`);
    });
  }
});

describe('choosing the sheet', () => {
  test('by default, the first sheet with data (the first is empty)', async () => {
    const { info, rows } = await readAll(fx('first-sheet-empty.xlsx'));
    assert.equal(info.sheet, 'Contacts');
    assert.deepEqual(info.sheets, ['Cover', 'Contacts', 'Archive']);
    assert.equal(rows.length, 2);
  });

  test('by exact name, then ignoring case', async () => {
    assert.equal((await readAll(fx('first-sheet-empty.xlsx'), { sheet: 'Archive' })).rows[0].values[0], 'Grace Hopper');
    const loose = await readAll(fx('first-sheet-empty.xlsx'), { sheet: 'ARCHIVE' });
    assert.equal(loose.info.sheet, 'Archive');
  });

  test('by 1-based index, also when the index comes as text from a command line', async () => {
    assert.equal((await readAll(fx('first-sheet-empty.xlsx'), { sheet: 3 })).info.sheet, 'Archive');
    assert.equal((await readAll(fx('first-sheet-empty.xlsx'), { sheet: '2' })).info.sheet, 'Contacts');
  });

  test('an unknown sheet is SHEET_NOT_FOUND listing the sheet names', async () => {
    await rejectsWith(fx('first-sheet-empty.xlsx'), 'SHEET_NOT_FOUND', { sheet: 'Customers' }, /"Cover", "Contacts", "Archive"/);
    await rejectsWith(fx('first-sheet-empty.xlsx'), 'SHEET_NOT_FOUND', { sheet: 4 }, /there are 3/);
  });

  test('choosing the empty sheet is FILE_EMPTY naming it', async () => {
    await rejectsWith(fx('first-sheet-empty.xlsx'), 'FILE_EMPTY', { sheet: 'Cover' }, /sheet "Cover" is empty/);
  });

  test('a workbook with no data on any sheet is FILE_EMPTY', async () => {
    const path = tmpBook('all-sheets-empty.xlsx', [['One', []], ['Two', [[null, '   ']]]]);
    await rejectsWith(path, 'FILE_EMPTY', {}, /"One", "Two"/);
  });
});

describe('the header row', () => {
  test('merged header cells name their first column; the rest, blanks and duplicates follow the header rule', async () => {
    const { info, rows } = await readAll(fx('merged-header-cells.xlsx'));
    assert.deepEqual(info.headers, ['Name', 'Phones', 'Column 3', 'Email', 'Email (2)', 'Column 6', 'Notes']);
    assert.deepEqual(rows[0].values, ['Ada Lovelace', '+44 20 7946 0958', '+44 7700 900123', 'ada@example.com', 'ada@work.example', 'x', 'first']);
    assert.deepEqual(rows[1].values, ['Alan Turing', '+44 161 496 0123', '', 'alan@example.com', '', '', 'second']);
  });

  test('a two-cell title ("Exported:", date) above a wider header is not taken for the header', async () => {
    const path = tmpBook('two-cell-title.xlsx', [['S', [
      ['Exported:', '2024-03-01'], [], ['Name', 'Phone', 'Email', 'Company'], ['Ada', '+44 20 7946 0958', 'ada@example.com', 'ACME'],
    ]]]);
    const { info, rows } = await readAll(path);
    assert.equal(info.headerRow, 3);
    assert.deepEqual(rows.map((r) => r.row), [4]);
  });

  test('a row of numbers is not a header; the text row below it is', async () => {
    const path = tmpBook('numbers-above-header.xlsx', [['S', [
      [2023, 2024, 2025], ['Name', 'Phone', 'Email'], ['Ada', 4155552671, 'ada@example.com'],
    ]]]);
    const { info, rows } = await readAll(path);
    assert.equal(info.headerRow, 2);
    assert.deepEqual(rows[0].values, ['Ada', '4155552671', 'ada@example.com']);
  });

  test('a table set in from column A reads from its first column', async () => {
    const path = tmpBook('table-in-column-c.xlsx', [['S', [[null, null, 'Name', 'Phone'], [null, null, 'Ada', '+1 415 555 2671']]]]);
    const { info, rows } = await readAll(path);
    assert.deepEqual(info.headers, ['Name', 'Phone']);
    assert.deepEqual(rows[0].values, ['Ada', '+1 415 555 2671']);
  });

  test('a header row with no data below is FILE_HEADER_ONLY', async () => {
    await rejectsWith(fx('header-only.xlsx'), 'FILE_HEADER_ONLY', {}, /row 2/);
  });

  test('an explicit header row that is empty or past the end is HEADER_NOT_FOUND', async () => {
    await rejectsWith(SAMPLE_XLSX, 'HEADER_NOT_FOUND', { headerRow: 10 }, /row 10 \(the header row\) is empty/);
    await rejectsWith(SAMPLE_XLSX, 'HEADER_NOT_FOUND', { headerRow: 500 }, /ends at row 19/);
  });
});

describe('rows', () => {
  test('cells right of the header fail their row with ROW_TOO_MANY_FIELDS only when filled', async () => {
    const { rows } = await readAll(fx('cells-beyond-header.xlsx'));
    assert.deepEqual(rows.map((r) => r.row), [2, 3, 4, 7], 'blank rows 5 and 6 (one holds an empty string) are skipped');
    const [ok, extra, emptyExtra, last] = rows;
    assert.equal(ok.error, undefined);
    assert.equal(extra.error?.code, 'ROW_TOO_MANY_FIELDS');
    assert.equal(extra.error?.where.row, 3);
    assert.deepEqual(extra.values, ['Alan Turing', '+44 161 496 0123', 'stray note'], 'the extra cell is kept for the report');
    assert.equal(emptyExtra.error, undefined);
    assert.deepEqual(emptyExtra.values, ['Grace Hopper', '+1 212 555 0100']);
    assert.deepEqual(last.values, ['Edsger Dijkstra', '+31 20 555 0100']);
  });

  test('rows come in batches of batchSize, in sheet order', async () => {
    const aoa: unknown[][] = [['Name', 'Phone']];
    for (let i = 1; i <= 25; i++) aoa.push([`Person ${i}`, 4155550100 + i]);
    const path = tmpBook('twenty-five-rows.xlsx', [['S', aoa]]);
    const { batches, rows } = await readAll(path, { batchSize: 10 });
    assert.deepEqual(batches.map((b) => b.length), [10, 10, 5]);
    assert.deepEqual(rows.map((r) => r.row), Array.from({ length: 25 }, (_, i) => i + 2));
    assert.equal(rows[24].values[1], '4155550125');
  });

  test('a cell over maxCellChars fails its row with ROW_TOO_LARGE naming the column', async () => {
    const path = tmpBook('long-cell.xlsx', [['S', [['Name', 'Notes'], ['Ada', 'x'.repeat(500)], ['Alan', 'short']]]]);
    const { rows } = await readAll(path, { maxCellChars: 100 });
    assert.equal(rows[0].error?.code, 'ROW_TOO_LARGE');
    assert.equal(rows[0].error?.where.column, 'Notes');
    assert.ok(rows[0].values[1].length < 500);
    assert.equal(rows[1].error, undefined);
  });

  test('close() stops the rows early, and rows() cannot be read twice', async () => {
    const aoa: unknown[][] = [['Name']];
    for (let i = 1; i <= 30; i++) aoa.push([`P${i}`, null]);
    const src = await openSpreadsheet(tmpBook('close-early.xlsx', [['S', aoa]]), { batchSize: 10 });
    const it = src.rows()[Symbol.asyncIterator]();
    assert.equal((await it.next()).value?.length, 10);
    src.close();
    assert.equal((await it.next()).done, true);
    assert.throws(() => src.rows());
  });

  test('a sheet declaring A1:XFD1048576 with five cells reads only its real cells', async () => {
    const declared = XLSX.read(readFileSync(fx('huge-declared-dimension.xlsx')), { type: 'buffer', dense: true });
    assert.equal(declared.Sheets.Sheet1['!ref'], 'A1:XFD1048576', 'the fixture declares the whole grid');
    const { info, rows } = await readAll(fx('huge-declared-dimension.xlsx'));
    assert.deepEqual(info.headers, ['Name', 'Phone']);
    assert.deepEqual(rows, [
      { row: 2, values: ['Ada Lovelace', '+44 20 7946 0958'] },
      { row: 3, values: ['Alan Turing', ''] },
    ]);
  });
});

describe('files that are not readable workbooks', () => {
  test('a truncated XLSX is WORKBOOK_CORRUPT', async () => {
    await rejectsWith(fx('truncated.xlsx'), 'WORKBOOK_CORRUPT', {}, /cut short/);
  });

  test('a truncated XLS is WORKBOOK_CORRUPT, in words, not the reader\'s JavaScript error', async () => {
    const whole = readFileSync(SAMPLE_XLS);
    for (const size of [600, 1500, 5000]) {
      const path = join(tmp, `truncated-${size}.xls`);
      writeFileSync(path, whole.subarray(0, size));
      await rejectsWith(path, 'WORKBOOK_CORRUPT', {}, new RegExp(`cut short \\(the reader found parts missing; ${size} bytes\\)$`));
    }
  });

  test('an XLS that lists a sheet whose cells cannot be found is WORKBOOK_CORRUPT naming the sheet', async () => {
    await rejectsWith(fx('sheet-cells-missing.xls'), 'WORKBOOK_CORRUPT', {}, /it lists sheet "Sheet1" but its cells cannot be found/);
  });

  test('random bytes are FILE_TYPE_MISMATCH, showing the first bytes', async () => {
    await rejectsWith(fx('random-bytes.xlsx'), 'FILE_TYPE_MISMATCH', {}, /not an Excel workbook \(starts with bytes [0-9a-f ]+; it looks like unrecognized binary data\)/);
  });

  test('a CSV renamed to .xlsx is FILE_TYPE_MISMATCH saying it looks like CSV', async () => {
    await rejectsWith(fx('csv-renamed.xlsx'), 'FILE_TYPE_MISMATCH', {}, /starts with "Name,Phone,Email.*looks like CSV/);
  });

  test('a PDF and an HTML table saved as .xls are FILE_TYPE_MISMATCH naming what they are', async () => {
    const pdf = join(tmp, 'report.xlsx');
    writeFileSync(pdf, Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.from([0xe2, 0xe3, 0xcf, 0xd3, 0, 1, 2])]));
    await rejectsWith(pdf, 'FILE_TYPE_MISMATCH', {}, /a PDF document/);
    const html = join(tmp, 'export.xls');
    writeFileSync(html, '<html><body><table><tr><td>Name</td></tr></table></body></html>');
    await rejectsWith(html, 'FILE_TYPE_MISMATCH', {}, /an HTML page/);
  });

  test('a Word document renamed to .xlsx is FILE_TYPE_MISMATCH', async () => {
    const zip = XLSX.CFB.utils.cfb_new();
    XLSX.CFB.utils.cfb_add(zip, '/[Content_Types].xml', Buffer.from('<Types/>'));
    XLSX.CFB.utils.cfb_add(zip, '/word/document.xml', Buffer.from('<w:document/>'));
    const path = join(tmp, 'letter.xlsx');
    writeFileSync(path, XLSX.CFB.write(zip, { type: 'buffer', fileType: 'zip' }));
    await rejectsWith(path, 'FILE_TYPE_MISMATCH', {}, /a Word document/);
  });

  test('a password-protected workbook (OLE2 with EncryptedPackage) is WORKBOOK_ENCRYPTED', async () => {
    await rejectsWith(fx('password-protected.xlsx'), 'WORKBOOK_ENCRYPTED', {}, /password-protected/);
  });

  test('a zero-byte file is FILE_EMPTY and a missing one FILE_NOT_FOUND', async () => {
    const empty = join(tmp, 'empty.xlsx');
    writeFileSync(empty, '');
    await rejectsWith(empty, 'FILE_EMPTY', {}, /0 bytes/);
    await rejectsWith(join(tmp, 'nope.xlsx'), 'FILE_NOT_FOUND');
  });

  test('a workbook over maxWorkbookBytes is FILE_TOO_LARGE before it is read', async () => {
    await rejectsWith(SAMPLE_XLSX, 'FILE_TOO_LARGE', { maxWorkbookBytes: 4096 }, /more than the/);
  });

  test('an XLSX whose directory declares parts unzipping to gigabytes is FILE_TOO_LARGE before inflating', async () => {
    const buf = Buffer.from(readFileSync(fx('leading-zero-text-and-number.xlsx')));
    // Rewrite the declared uncompressed size of every part in the central directory to 3 GB.
    let patched = 0;
    for (let p = buf.indexOf(Buffer.from('504b0102', 'hex')); p >= 0; p = buf.indexOf(Buffer.from('504b0102', 'hex'), p + 4)) {
      buf.writeUInt32LE(3_000_000_000, p + 24);
      patched++;
    }
    assert.ok(patched > 3);
    const path = join(tmp, 'zip-bomb-shaped.xlsx');
    writeFileSync(path, buf);
    await rejectsWith(path, 'FILE_TOO_LARGE', {}, /unzips to more than/);
  });
});

describe('sniffFormat', () => {
  test('tells workbooks, encrypted packages, text and other binaries apart by their bytes', () => {
    const head = (f: string, n = 512) => readFileSync(f).subarray(0, n);
    assert.equal(sniffFormat(head(SAMPLE_XLSX)), 'xlsx');
    assert.equal(sniffFormat(head(SAMPLE_XLS)), 'xls');
    assert.equal(sniffFormat(readFileSync(fx('password-protected.xlsx'))), 'ole-encrypted');
    assert.equal(sniffFormat(head(fx('csv-renamed.xlsx'))), 'text');
    assert.equal(sniffFormat(head('samples/windows-1252.csv')), 'text');
    assert.equal(sniffFormat(head('samples/unicode-text.txt')), 'text', 'UTF-16 with BOM');
    assert.equal(sniffFormat(Buffer.from('Name\tPhone\n', 'utf16le')), 'text', 'UTF-16 without BOM');
    assert.equal(sniffFormat(head(fx('random-bytes.xlsx'))), 'unknown');
    assert.equal(sniffFormat(Buffer.from('%PDF-1.7\n')), 'unknown');
  });
});
