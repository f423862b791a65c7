/**
 * A binary file given as CSV (a program, random bytes, an image renamed .csv) is refused in one
 * line, FILE_NOT_TEXT (usage, exit 2), naming the file, instead of being read as a header of
 * NUL garbage. Text that holds NUL bytes legitimately (UTF-16, with or without a BOM) still
 * reads, a stray NUL still fails only its row, and a real workbook is still found by content.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSource } from '../pipeline/sources/index.js';
import { ImportError, ERROR_CODES } from '../pipeline/errors.js';
import { ROOT, runCli } from './helpers/cli.js';

let tmp: string;
before(() => { tmp = mkdtempSync(join(tmpdir(), 'binary-file-')); });
after(() => { rmSync(tmp, { recursive: true, force: true }); });
const put = (name: string, bytes: string | Buffer) => { const p = join(tmp, name); writeFileSync(p, bytes); return p; };

/** Deterministic "random" bytes (xorshift), so a failure can be replayed. */
function noise(n: number, seed = 0x9e3779b9): Buffer {
  const b = Buffer.alloc(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; b[i] = x & 0xff; }
  return b;
}
/** What an executable looks like to the reader: an ELF header, then code (noise) and padding (NULs). */
const fakeProgram = () => Buffer.concat([Buffer.from('7f454c46020101000000000000000000', 'hex'), noise(3000), Buffer.alloc(4000), noise(3000, 7)]);

async function openError(file: string): Promise<ImportError> {
  try {
    const src = await openSource(file, {});
    for await (const _ of src.rows()) { /* drain */ }
  } catch (e) {
    assert.ok(e instanceof ImportError, String(e));
    return e;
  }
  assert.fail(`${file} opened`);
}

async function rows(file: string, opts = {}) {
  const src = await openSource(file, opts);
  const out: [number, string[], string?][] = [];
  for await (const b of src.rows()) for (const r of b) out.push(r.error ? [r.row, r.values, r.error.code] : [r.row, r.values]);
  return { info: src.info, rows: out };
}

describe('binary files are refused as not text', () => {
  test('a program, random bytes, a NUL-padded file or an image named .csv/.tsv/.txt: FILE_NOT_TEXT naming the file, never a header of NULs', async () => {
    const files = [
      put('program.csv', fakeProgram()),
      put('random.csv', noise(100_000)),
      put('random.tsv', noise(5000, 42)),
      put('random.txt', noise(700, 3)),
      put('nul-padded.csv', Buffer.concat([Buffer.from('Name,Phone\n'), Buffer.alloc(2000)])),
      put('photo.csv', Buffer.concat([Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'), noise(4000, 5)])),
    ];
    if (existsSync('/bin/true')) { copyFileSync('/bin/true', join(tmp, 'true.csv')); files.push(join(tmp, 'true.csv')); }
    for (const f of files) {
      const e = await openError(f);
      assert.equal(e.code, 'FILE_NOT_TEXT', `${f}: ${e.code} ${e.message}`);
      assert.equal(e.kind, 'usage');
      assert.equal(e.where.file, f);
      assert.match(e.message, /is not a text file, it looks binary: \d+ NUL and \d+ other control characters/);
      assert.doesNotMatch(e.message, /\u0000/);
    }
    assert.match((await openError(files[0])).message, /ELF executable/);
    assert.match(ERROR_CODES.FILE_NOT_TEXT.hint, /export .* as CSV, or give the \.xlsx or \.xls workbook/);
  });

  test('UTF-16 LE and BE, with and without a BOM, are text: they read', async () => {
    const text = 'Name,Phone\nZoë Ängström,+14155552671\nAda,+442079460958\n';
    const expected = [[2, ['Zoë Ängström', '+14155552671']], [3, ['Ada', '+442079460958']]];
    const le = Buffer.from(text, 'utf16le');
    const be = Buffer.from(text, 'utf16le').swap16();
    for (const [name, bytes, enc] of [
      ['le.csv', le, 'utf-16le'], ['le-bom.csv', Buffer.concat([Buffer.from([0xff, 0xfe]), le]), 'utf-16le'],
      ['be.csv', be, 'utf-16be'], ['be-bom.csv', Buffer.concat([Buffer.from([0xfe, 0xff]), be]), 'utf-16be'],
    ] as const) {
      const r = await rows(put(name, bytes));
      assert.equal(r.info.encoding, enc, name);
      assert.deepEqual(r.rows, expected, name);
    }
    // Excel's "Unicode Text" sample (UTF-16 LE, tabs) and the UTF-16 fixtures still read.
    assert.ok((await rows(join(ROOT, 'samples', 'unicode-text.txt'))).rows.length > 0);
    assert.ok((await rows(join(ROOT, 'test', 'fixtures', 'csv', 'utf16be-bom.csv'))).rows.length > 0);
  });

  test('a few NUL bytes in a cell fail that row only; control characters a text export holds (tab, vertical tab, form feed) read', async () => {
    const nul = await rows(put('nul-cell.csv', Buffer.concat([Buffer.from('Name,Phone\nA'), Buffer.from([0, 0]), Buffer.from('da,+14155552671\nBob,+14155552672\n')])));
    assert.deepEqual(nul.rows.map((r) => [r[0], r[2]]), [[2, 'ENCODING_INVALID'], [3, undefined]]);
    const fm = await rows(put('filemaker.tab', 'Name\tNote\nAda\tline one\vline two\fpage\nBob\tx\n'));
    assert.deepEqual(fm.rows, [[2, ['Ada', 'line one\vline two\fpage']], [3, ['Bob', 'x']]]);
  });

  test('a workbook is still recognized by its content first: renamed .csv it is FILE_TYPE_MISMATCH, without an extension it opens', async () => {
    const renamed = await openError(join(ROOT, 'test', 'fixtures', 'csv', 'xlsx-renamed.csv'));
    assert.equal(renamed.code, 'FILE_TYPE_MISMATCH');
    assert.match(renamed.message, /Excel workbook/);
    const bare = join(tmp, 'workbook-without-extension');
    copyFileSync(join(ROOT, 'samples', 'title-row-phones-as-numbers.xlsx'), bare);
    assert.equal((await openSource(bare, {})).info.format, 'xlsx');
    const xls = join(tmp, 'legacy-without-extension');
    copyFileSync(join(ROOT, 'samples', 'legacy.xls'), xls);
    assert.equal((await openSource(xls, {})).info.format, 'xls');
  });

  test('check on a program copied to x.csv: exit 2, one error line naming the file, the hint, no column list of garbage', async () => {
    const f = put('x.csv', fakeProgram());
    const m = put('m.yaml', 'fields:\n  name: Name\n  phones: Phone\nphone:\n  defaultCountry: US\n');
    const r = await runCli(['check', f, '--mapping', m, '--out', join(tmp, 'out')]);
    assert.equal(r.code, 2, r.stderr + r.stdout);
    const first = r.stderr.split('\n')[0];
    assert.ok(first.startsWith('error: FILE_NOT_TEXT: ') && first.includes(f), first);
    assert.match(r.stderr, /^hint: .*as CSV/m);
    assert.doesNotMatch(r.stderr, /columns are|\\u0000|internal error/);
    assert.ok(r.stderr.length < 2000, `a short message, not KB of garbage: ${r.stderr.length} characters`);
  });
});
