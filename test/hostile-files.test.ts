/**
 * Hostile input through the real CLI (`check`, the built bin): every file a nightly drop
 * could bring ends in one clear error line naming the file and the problem (exit 2), or in
 * failed rows with their row numbers (exit 1), or loads as a person would expect (exit 0);
 * never in a crash, a stack trace or a hang. The large files (a runaway quote over 100,000
 * lines, a 20 MB cell, 10,000 columns) are generated into a temp folder here, not committed.
 *
 * The reader's own behaviour on these shapes is unit-tested in source-csv.test.ts and
 * source-spreadsheet.test.ts; this file checks what a user sees at the end of the chain.
 */
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, assertInvariant, readReportCsv, runCli, tempDir, type CliResult } from './helpers/cli.js';

const tmp = tempDir('hostile-files-');
after(() => tmp.cleanup());
const at = (name: string) => join(tmp.path, name);
const put = (name: string, bytes: string | Buffer) => { writeFileSync(at(name), bytes); return at(name); };
const SHEETS = join(ROOT, 'test', 'fixtures', 'spreadsheets');
const CSVS = join(ROOT, 'test', 'fixtures', 'csv');

/** Name, Phone, Email: what most hostile CSVs below carry. */
const MAPPING = put('contacts.yaml', 'fields:\n  name: Name\n  phones: Phone\n  emails: Email\nphone:\n  defaultCountry: US\n');
const HEADER = 'Name,Phone,Email';
const good = (i: number) => `Person ${i},+1 415 555 ${String(1000 + (i % 9000)).padStart(4, '0')},p${i}@example.com`;

/** A hang guard, not a timing assertion: a reader that loops forever is killed and the test fails on its exit code. */
const HANG_GUARD_MS = 90_000;

let outN = 0;
async function check(file: string, mapping = MAPPING, extra: string[] = []): Promise<CliResult & { out: string }> {
  const out = at(`out-${++outN}`);
  const res = await runCli(['check', file, '--mapping', mapping, '--out', out, '--quiet', ...extra], { timeoutMs: HANG_GUARD_MS });
  noCrash(res);
  return { ...res, out };
}

function noCrash(res: CliResult) {
  const all = res.stdout + res.stderr;
  assert.notEqual(res.code, -1, 'killed by the hang guard');
  assert.doesNotMatch(all, /internal error|This is a bug/, all);
  assert.doesNotMatch(all, /\n\s+at .+:\d+:\d+\)?/, `a stack trace: ${all}`);
}

/** Exit 2, nothing written, and the first line of stderr is `error: CODE: ` naming the file. */
function usageError(r: CliResult & { out: string }, code: string, names: string, problem: RegExp) {
  assert.equal(r.code, 2, r.stderr);
  const first = r.stderr.split('\n')[0];
  assert.ok(first.startsWith(`error: ${code}: `), first);
  assert.ok(first.includes(names), `"${first}" names ${names}`);
  assert.match(r.stderr, problem);
  assert.match(r.stderr, /^hint: /m);
  assert.equal(existsSync(join(r.out, 'summary.json')), false, 'a usage error writes no report');
}

/** The run finished: the summary adds up, and these rows failed with these codes (in row order). */
function finished(r: CliResult & { out: string }, counts: { read: number; failed: number }, failed: [row: number, code: string][]) {
  assert.equal(r.code, counts.failed ? 1 : 0, r.stderr + r.stdout);
  const s = assertInvariant(r.out);
  assert.equal(s.counts.read, counts.read);
  assert.equal(s.counts.failed, counts.failed);
  assert.equal(s.exitCode, r.code);
  const rows = readReportCsv(r.out, 'failed.csv').map((f) => [Number(f._row), f._code] as [number, string]);
  assert.deepEqual(rows, failed);
  return s;
}

const cases: string[] = [];
/** Every case is counted, so the number tried can be reported. */
function hostile(name: string, fn: () => Promise<void>) {
  cases.push(name);
  test(name, fn);
}

describe('hostile CSV files', () => {
  hostile('unterminated quote on the last line: that row fails ROW_QUOTE, the rows before it load', async () => {
    const f = put('unterminated-quote-at-eof.csv', `${HEADER}\n${good(1)}\n${good(2)}\n"Carol,+1 415 555 0101,c@example.com\n`);
    finished(await check(f), { read: 3, failed: 1 }, [[4, 'ROW_QUOTE']]);
  });

  hostile('a quote opened on line 10 and never closed across 100,000 lines: one failed row 10, the rows after it load, no buffering of the rest', async () => {
    const lines = [HEADER];
    for (let i = 2; i <= 100_000; i++) lines.push(i === 10 ? `"Runaway,+1 415 555 0100,r@example.com` : good(i));
    const f = put('quote-opened-line-10-never-closed.csv', lines.join('\n') + '\n');
    // 4.4 MB: the runaway row passes the default row cap before the end of the file (skip mode).
    const r = await check(f);
    finished(r, { read: 99_999, failed: 1 }, [[10, 'ROW_QUOTE']]);
    assert.match(readReportCsv(r.out, 'failed.csv')[0]._error, /quote.*not closed.*reading goes on at the next line/);
  });

  hostile('NUL bytes inside a cell: that row fails ENCODING_INVALID naming the column, the next row loads', async () => {
    const f = put('nul-bytes.csv', Buffer.concat([Buffer.from(`${HEADER}\nA`), Buffer.from([0, 0]), Buffer.from(`da,+1 415 555 2671,a@example.com\n${good(3)}\n`)]));
    const r = await check(f);
    finished(r, { read: 2, failed: 1 }, [[2, 'ENCODING_INVALID']]);
    assert.equal(readReportCsv(r.out, 'failed.csv')[0]._error, 'the cell contains NUL bytes (column "Name")');
  });

  hostile('a file that is mostly NUL bytes is refused as binary', async () => {
    const f = put('mostly-nul.csv', Buffer.concat([Buffer.from(`${HEADER}\n`), Buffer.alloc(4000)]));
    usageError(await check(f), 'FILE_NOT_TEXT', 'mostly-nul.csv', /looks binary/);
  });

  hostile('mixed \\r\\n, \\n and \\r line ends: every row reads, numbered as a person counts them', async () => {
    const f = put('mixed-crlf-lf-cr.csv', `${HEADER}\r\n${good(1)}\n${good(2)}\r${good(3)}\r\n${good(4)}\r`);
    finished(await check(f), { read: 4, failed: 0 }, []);
  });

  hostile('a 20 MB single cell fails its row ROW_TOO_LARGE under the default cap; the other rows load', async () => {
    const f = put('cell-20mb.csv', `Name,Phone,Email,Notes\n${good(1)},short\n${good(2)},"${'x'.repeat(20 * 1024 * 1024)}"\n${good(3)},short\n`);
    finished(await check(f), { read: 3, failed: 1 }, [[3, 'ROW_TOO_LARGE']]);
    // Raising both caps lets the same file load whole: the cap is a setting, not a limit of the reader.
    finished(await check(f, MAPPING, ['--max-cell-kb', '25000', '--max-row-kb', '25000']), { read: 3, failed: 0 }, []);
  });

  hostile('10,000 columns (a header wider than the 64 KiB head): reads, the mapped columns are found', async () => {
    const extra = Array.from({ length: 9997 }, (_, i) => `Extra column number ${i + 4}`);
    const f = put('ten-thousand-columns.csv', `${[HEADER, ...extra].join(',')}\n${[good(1), ...extra.map(() => 'v')].join(',')}\n${[good(2), ...extra.map(() => '')].join(',')}\n`);
    finished(await check(f), { read: 2, failed: 0 }, []);
  });

  hostile('a header row that never ends (an open quote in it) is HEADER_NOT_FOUND, not "empty"', async () => {
    const f = put('header-never-ends.csv', `Name,"Phone,Email\n${Array.from({ length: 2000 }, (_, i) => good(i)).join('\n')}\n`);
    usageError(await check(f, MAPPING, ['--max-cell-kb', '4']), 'HEADER_NOT_FOUND', 'header-never-ends.csv', /header row does not end/);
  });

  hostile('a header only', async () => {
    usageError(await check(join(CSVS, 'header-only.csv')), 'FILE_HEADER_ONLY', 'header-only.csv', /no data rows/);
  });

  hostile('zero bytes', async () => {
    usageError(await check(join(CSVS, 'empty.csv')), 'FILE_EMPTY', 'empty.csv', /0 bytes/);
  });

  hostile('UTF-8 with invalid byte sequences: only the rows holding them fail, with their row numbers and columns', async () => {
    const f = put('invalid-utf8.csv', Buffer.concat([
      // Enough valid accents that the file is still taken for UTF-8 (encoding.ts): a UTF-8 export with corrupt bytes.
      Buffer.from(`${HEADER}\nZoë Ängström-Müller Søren Çelik,+1 415 555 2671,z@example.com\nBad `), Buffer.from([0xc3, 0x28, 0xff]),
      Buffer.from(`,+1 415 555 2672,b@example.com\n${good(4)}\nAlso`), Buffer.from([0xe2, 0x82]), Buffer.from(`,+1 415 555 2673,c@example.com\n`),
    ]));
    const r = await check(f, MAPPING, ['--show', '0']);
    finished(r, { read: 4, failed: 2 }, [[3, 'ENCODING_INVALID'], [5, 'ENCODING_INVALID']]);
    assert.deepEqual(readReportCsv(r.out, 'failed.csv').map((x) => x._error), [
      'bytes that are not valid utf-8, shown as \uFFFD (column "Name")',
      'bytes that are not valid utf-8, shown as \uFFFD (column "Name")',
    ]);
  });

  for (const [enc, bytes] of [['utf16le', (s: string) => Buffer.from(s, 'utf16le')], ['utf16be', (s: string) => Buffer.from(s, 'utf16le').swap16()]] as const) {
    hostile(`UTF-16 (${enc === 'utf16le' ? 'LE' : 'BE'}) without a BOM is detected and reads`, async () => {
      const f = put(`${enc}-no-bom.csv`, bytes(`${HEADER}\nZoë Ängström,+1 415 555 2671,z@example.com\n${good(2)}\n`));
      const r = await check(f);
      const s = finished(r, { read: 2, failed: 0 }, []);
      assert.equal(s.inputs[0].encoding, enc === 'utf16le' ? 'utf-16le' : 'utf-16be');
      assert.match(r.stdout, /Zoë Ängström/);
    });
  }

  hostile('trailing delimiters on every row load as if they were not there', async () => {
    const f = put('trailing-delimiters.csv', `${HEADER}\n${good(1)},,\n${good(2)},\n${good(3)},,,\n`);
    finished(await check(f), { read: 3, failed: 0 }, []);
  });

  hostile('a row with 3 fields in a 12-column file fails ROW_TOO_FEW_FIELDS at its row', async () => {
    const header = [HEADER, 'Company', 'Title', 'Street', 'City', 'Zip', 'Country', 'Owner', 'Notes', 'Tag'].join(',');
    const full = (i: number) => [good(i), 'ACME', 'CEO', '1 Main St', 'Springfield', '12345', 'US', 'o@example.com', 'n', 't'].join(',');
    const f = put('three-fields-in-twelve.csv', `${header}\n${full(1)}\n${good(2)}\n${full(3)}\n`);
    const r = await check(f);
    finished(r, { read: 3, failed: 1 }, [[3, 'ROW_TOO_FEW_FIELDS']]);
    assert.match(readReportCsv(r.out, 'failed.csv')[0]._error, /expected 12 fields, got 3/);
  });

  hostile('an XLSX renamed .csv', async () => {
    usageError(await check(join(CSVS, 'xlsx-renamed.csv')), 'FILE_TYPE_MISMATCH', 'xlsx-renamed.csv', /Excel workbook/);
  });
});

describe('size caps are settings', () => {
  hostile('--max-cell-kb: a 2 KB cell fails its row naming the column under a 1 KB cap', async () => {
    const f = put('cell-2kb.csv', `Name,Phone,Email,Notes\n${good(1)},${'n'.repeat(2048)}\n${good(2)},ok\n`);
    const r = await check(f, MAPPING, ['--max-cell-kb', '1']);
    finished(r, { read: 2, failed: 1 }, [[2, 'ROW_TOO_LARGE']]);
    assert.equal(readReportCsv(r.out, 'failed.csv')[0]._error, 'cell has 2048 characters, more than the cap of 1024 (column "Notes")');
    finished(await check(f), { read: 2, failed: 0 }, []);
  });

  hostile('--max-row-kb: a row of cells each under the cell cap fails once the row is over the row cap', async () => {
    const cells = (c: string) => Array.from({ length: 4 }, () => c.repeat(600)).join(',');
    const f = put('row-over-cap.csv', `Name,Phone,Email,A,B,C,D\n${good(1)},${cells('a')}\n${good(2)},1,2,3,4\n`);
    const r = await check(f, MAPPING, ['--max-cell-kb', '1', '--max-row-kb', '2']);
    finished(r, { read: 2, failed: 1 }, [[2, 'ROW_TOO_LARGE']]);
    assert.match(readReportCsv(r.out, 'failed.csv')[0]._error, /row cap of 2048/);
    // The default row cap (4 x the cell cap) lets the same row through.
    finished(await check(f, MAPPING, ['--max-cell-kb', '1']), { read: 2, failed: 0 }, []);
  });

  hostile('a cap of zero, a negative one or a word is a usage error, not a run where every row fails', async () => {
    const f = put('caps-ok.csv', `${HEADER}\n${good(1)}\n`);
    for (const [flag, v] of [['--max-row-kb', '0'], ['--max-cell-kb', '-3'], ['--max-row-kb', 'lots']]) {
      const r = await check(f, MAPPING, [flag, v]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr.split('\n')[0], new RegExp(`^error: USAGE: ${flag} must be a positive number of KiB`));
    }
  });
});

describe('hostile workbooks', () => {
  const mapping = put('sheet.yaml', 'fields:\n  name: Name\n  phones: Phone\nphone:\n  defaultCountry: US\n');

  hostile('a truncated XLSX', async () => {
    usageError(await check(join(SHEETS, 'truncated.xlsx'), mapping), 'WORKBOOK_CORRUPT', 'truncated.xlsx', /./);
  });

  hostile('an XLSX whose sheet\'s deflate stream never ends (one bit): refused before the reader, which would never return', async () => {
    usageError(await check(join(SHEETS, 'deflate-stream-never-ends.xlsx'), mapping), 'WORKBOOK_CORRUPT', 'deflate-stream-never-ends.xlsx',
      /the workbook is damaged \(its part "xl\/worksheets\/sheet1\.xml" does not unzip: /);
  });

  hostile('an XLS listing a sheet whose cells are not where it says: WORKBOOK_CORRUPT, not an internal error', async () => {
    usageError(await check(join(SHEETS, 'sheet-cells-missing.xls'), mapping), 'WORKBOOK_CORRUPT', 'sheet-cells-missing.xls',
      /it lists sheet "Sheet1" but its cells cannot be found/);
  });

  hostile('an XLS with a record the reader does not know reads as it is, and the reader\'s console chatter stays out of the output', async () => {
    const r = await check(join(SHEETS, 'unknown-record.xls'), mapping);
    finished(r, { read: 2, failed: 0 }, []);
    assert.doesNotMatch(r.stdout + r.stderr, /Missing Info for XLS Record/);
  });

  hostile('workbooks with bytes overwritten at random (seeded): each ends in a clear error or a finished check, never a crash or a hang', async () => {
    // A linear congruential generator: the same damaged files on every run.
    let x = 20261125;
    const next = (n: number) => { x = (Math.imul(x, 1103515245) + 12345) >>> 0; return x % n; };
    for (const [name, whole] of [['xlsx', readFileSync(join(ROOT, 'samples', 'title-row-phones-as-numbers.xlsx'))], ['xls', readFileSync(join(ROOT, 'samples', 'legacy.xls'))]] as const) {
      for (let k = 0; k < 12; k++) {
        const b = Buffer.from(whole);
        for (let n = 1 + next(12); n > 0; n--) b[next(b.length)] = next(256);
        const r = await check(put(`damaged-${k}.${name}`, b), mapping); // noCrash: no hang, no internal error, no stack trace
        assert.ok([0, 1, 2].includes(r.code), `damaged-${k}.${name}: exit ${r.code}\n${r.stderr}`);
        assert.doesNotMatch(r.stdout + r.stderr, /Missing Info for XLS Record/, 'the reader\'s console chatter');
      }
    }
  });

  hostile('random bytes named .xlsx', async () => {
    usageError(await check(join(SHEETS, 'random-bytes.xlsx'), mapping), 'FILE_TYPE_MISMATCH', 'random-bytes.xlsx', /./);
  });

  hostile('a zip bomb shaped XLSX (parts declaring 3 GB each) is refused before inflating', async () => {
    const buf = Buffer.from(readFileSync(join(SHEETS, 'leading-zero-text-and-number.xlsx')));
    const sig = Buffer.from('504b0102', 'hex');
    for (let p = buf.indexOf(sig); p >= 0; p = buf.indexOf(sig, p + 4)) buf.writeUInt32LE(3_000_000_000, p + 24);
    usageError(await check(put('zip-bomb-shaped.xlsx', buf), mapping), 'FILE_TOO_LARGE', 'zip-bomb-shaped.xlsx', /unzips to more than/);
  });

  hostile('a sheet declaring A1:XFD1048576 with five cells reads its two rows, not the declared grid', async () => {
    finished(await check(join(SHEETS, 'huge-declared-dimension.xlsx'), mapping), { read: 2, failed: 0 }, []);
  });

  hostile('a password-protected workbook', async () => {
    usageError(await check(join(SHEETS, 'password-protected.xlsx'), mapping), 'WORKBOOK_ENCRYPTED', 'password-protected.xlsx', /password/);
  });

  hostile('first sheet empty, data on the second: the second is read', async () => {
    const s = finished(await check(join(SHEETS, 'first-sheet-empty.xlsx'), mapping), { read: 2, failed: 0 }, []);
    assert.equal((s.inputs[0] as { sheet?: string }).sheet, 'Contacts');
  });

  hostile('formulas: their cached values are read, never evaluated', async () => {
    const m = put('formulas.yaml', 'fields:\n  name: Name\n  company: Company\n  phones: Phone\nphone:\n  defaultCountry: US\n');
    const r = await check(join(SHEETS, 'formulas-cached-values.xlsx'), m);
    finished(r, { read: 1, failed: 0 }, []);
    // Phone is =4155550000+2671 with its cached 4155552671; Company ="ACME"&" Ltd".
    assert.match(r.stdout, /\+14155552671/);
    assert.match(r.stdout, /ACME Ltd/);
    assert.doesNotMatch(r.stdout, /4155550000|"ACME"&/);
  });

  hostile('merged cells in the header: the merged name sits on its first column, the rest follow the header rule', async () => {
    const m = put('merged.yaml', 'fields:\n  name: Name\n  phones: Phones\n  emails: [Email, Email (2)]\nphone:\n  defaultCountry: US\n');
    const r = await check(join(SHEETS, 'merged-header-cells.xlsx'), m);
    finished(r, { read: 2, failed: 0 }, []);
    assert.match(r.stdout, /\+442079460958/);
    assert.match(r.stdout, /ada@work\.example/);
  });
});

describe('hostile mappings', () => {
  const csv = put('ok.csv', `${HEADER}\n${good(1)}\n`);

  hostile('YAML that is a list, not a mapping', async () => {
    const m = put('a-list.yaml', '- name\n- phone\n');
    usageError(await check(csv, m), 'MAPPING_INVALID', 'a-list.yaml', /expected a mapping .* got a list/);
  });

  hostile('YAML that is a plain string, not a mapping', async () => {
    const m = put('a-string.yaml', 'just some text\n');
    usageError(await check(csv, m), 'MAPPING_INVALID', 'a-string.yaml', /expected a mapping/);
  });

  hostile('a mapping that maps nothing', async () => {
    const m = put('maps-nothing.yaml', 'fields: {}\nphone:\n  defaultCountry: US\n');
    usageError(await check(csv, m), 'MAPPING_INVALID', 'maps-nothing.yaml', /maps nothing/);
  });

  hostile('a mapping without a fields section', async () => {
    const m = put('no-fields.yaml', 'description: nothing here\n');
    usageError(await check(csv, m), 'MAPPING_INVALID', 'no-fields.yaml', /"fields" is missing/);
  });

  hostile('a template naming an unknown column lists the file\'s columns', async () => {
    const m = put('template-unknown.yaml', 'fields:\n  name: { template: "{Name} {Surname}" }\n  phones: Phone\n');
    usageError(await check(csv, m), 'MAPPING_COLUMN_MISSING', 'ok.csv', /no column "Surname"[\s\S]*"Name", "Phone", "Email"/);
  });

  hostile('a default country that does not exist', async () => {
    const m = put('country-xx.yaml', 'fields:\n  name: Name\n  phones: Phone\nphone:\n  defaultCountry: XX\n');
    usageError(await check(csv, m), 'MAPPING_INVALID', 'country-xx.yaml', /phone\.defaultCountry: "XX" is not a country/);
  });
});

after(() => {
  // The count of hostile cases tried, for the note.
  process.stdout.write(`# hostile cases: ${cases.length}\n`);
});
