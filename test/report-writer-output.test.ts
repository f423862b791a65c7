/**
 * The report CSVs are written through FileSink (UTF-8 encoded into a fixed block) with
 * each row built as one string. These tests cover what that could get wrong: characters
 * split across blocks, lines larger than a block, rows whose original columns are laid
 * out in a different order (several inputs with different headers), ragged rows, and
 * --out pointing at a file.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import Papa from 'papaparse';
import fc from 'fast-check';
import { FileSink } from '../pipeline/report/file-sink.js';
import { ReportWriter } from '../pipeline/report/writer.js';
import { hintFor, isImportError } from '../pipeline/errors.js';
import { emptyContact, type ContactRecord, type RowRef } from '../pipeline/contact.js';
import { runCli, tempDir } from './helpers/cli.js';

const tmp = tempDir('report-writer-');
after(() => tmp.cleanup());
let n = 0;
const path = (name: string) => join(tmp.path, `${n++}-${name}`);

// Each write is encoded on its own (the writers always end a write with a line end, so a
// surrogate pair is never split across writes): the file is the concatenation of Buffer.from(piece).
test('FileSink: multi-byte characters, lone surrogates and writes longer than the block come out as Buffer.from would', () => {
  const piece = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'grapheme', maxLength: 20 }), fc.string({ unit: 'binary', maxLength: 30 }),
    fc.constantFrom('😀', 'é', '\ud800', '\udc00x', 'ß'.repeat(50)));
  fc.assert(fc.property(fc.array(piece, { maxLength: 40 }), fc.integer({ min: 4, max: 64 }), (pieces, block) => {
    const p = path('sink.txt');
    const sink = new FileSink(p, block);
    for (const s of pieces) sink.write(s);
    sink.close();
    const want = Buffer.concat(pieces.map((s) => Buffer.from(s)));
    assert.deepEqual(readFileSync(p), want);
    assert.equal(sink.bytes, want.length);
  }), { numRuns: 150, seed: 9 });
});

test('FileSink: flush puts what was written on disk before close', () => {
  const p = path('flush.txt');
  const sink = new FileSink(p);
  sink.write('row 1\r\n');
  assert.equal(readFileSync(p, 'utf8'), '', 'still in the block');
  sink.flush();
  assert.equal(readFileSync(p, 'utf8'), 'row 1\r\n');
  sink.close();
  sink.close();
});

const ref = (file: number, row: number, values: string[]): RowRef => ({ file, row, values });
function rec(r: RowRef, fields: Partial<ReturnType<typeof emptyContact>>, merged: ContactRecord['merged'] = []): ContactRecord {
  return { contact: { ...emptyContact(), ...fields }, ref: r, merged, conflicts: [], notes: [] };
}
const readCsv = (p: string) => Papa.parse<string[]>(readFileSync(p, 'utf8').replace(/^\uFEFF/, ''), { skipEmptyLines: true }).data;

test('failed and merged rows keep their original cells in the union layout, whatever each input\'s column order', () => {
  const out = path('out');
  const w = new ReportWriter(out, {
    files: ['a.csv', 'b,"c".csv'],
    headers: [
      { raw: ['Name', 'Phone', '_code'], names: ['name', 'phone', '_code'] },
      { raw: ['Phone', 'Email', 'Name'], names: ['phone', 'email', 'name'] },
    ],
  });
  w.rowRead(7);
  w.fail(ref(0, 2, ['=cmd()', '+1 555', 'OLD_CODE']), 'normalize', 'PHONE_INVALID', 'bad "phone"');
  w.fail(ref(1, 2, ['+14155552671', 'x@y.example', 'Zoë']), 'validate', 'EMAIL_INVALID', 'line\nbreak');
  w.fail(ref(1, 3, ['555']), 'read', 'ROW_TOO_FEW_FIELDS', 'short');
  w.fail(ref(0, 3, ['A', 'B', 'C', 'extra']), 'read', 'ROW_TOO_MANY_FIELDS', 'long');
  const into = ref(0, 4, [' Ada ', '+14155552671', '']);
  w.settle(rec(into, { id: 'id-1', name: 'Ada', phones: [{ e164: '+14155552671', ext: '7' }, { e164: '+442079460958' }], emails: ['a@x.example'] },
    [{ ref: ref(1, 4, ['+14155552671', '', 'ADA']), key: 'phone=+14155552671' }, { ref: ref(0, 5, ['Ada L', '', 'X']), key: 'email=a@x.example' }]),
  { status: 'success', action: 'written', targetId: 'id-1', notes: ['n1', 'n2'] });
  w.close();

  assert.deepEqual(readCsv(join(out, 'failed.csv')), [
    ['name', 'phone', 'email', '_file', '_row', '_stage', '_code', '_error', '_hint'],
    ["'=cmd()", "'+1 555", '', 'a.csv', '2', 'normalize', 'PHONE_INVALID', 'bad "phone"', hintFor('PHONE_INVALID')],
    ['Zoë', '+14155552671', 'x@y.example', 'b,"c".csv', '2', 'validate', 'EMAIL_INVALID', 'line\nbreak', hintFor('EMAIL_INVALID')],
    ['', '555', '', 'b,"c".csv', '3', 'read', 'ROW_TOO_FEW_FIELDS', 'short', hintFor('ROW_TOO_FEW_FIELDS')],
    ['A', 'B', '', 'a.csv', '3', 'read', 'ROW_TOO_MANY_FIELDS', 'long', hintFor('ROW_TOO_MANY_FIELDS')],
  ]);
  assert.deepEqual(readCsv(join(out, 'merged.csv')), [
    ['name', 'phone', 'email', '_file', '_row', '_merged_into_file', '_merged_into_row', '_merged_into_id', '_key', '_by'],
    // Row 4 of b,"c".csv was merged into row 4 of a.csv (the success row below): both files named.
    ['ADA', '+14155552671', '', 'b,"c".csv', '4', 'a.csv', '4', 'id-1', 'phone=+14155552671', 'pipeline'],
    ['Ada L', '', '', 'a.csv', '5', 'a.csv', '4', 'id-1', 'email=a@x.example', 'pipeline'],
  ]);
  const success = readCsv(join(out, 'success.csv'));
  // merged_rows names the file of each merged row: row 4 alone would read as a.csv's own row 4.
  assert.deepEqual(success[1], ['a.csv', '4', 'id-1', '', 'written', 'Ada', "'+14155552671 x7 +442079460958", 'a@x.example', 'b,"c".csv:4; a.csv:5', '', 'n1; n2']);
  assert.equal(w.counts.failed + w.counts.success + w.counts.merged, 7);
});

test('one input: the original columns in file order, the tool\'s own columns from a fed-back failed.csv dropped', () => {
  const out = path('out1');
  const w = new ReportWriter(out, { files: ['in.csv'], headers: [{ raw: ['_row', 'Name', '_code', 'Tel'], names: ['_row', 'name', '_code', 'tel'] }] });
  w.rowRead(2);
  w.fail(ref(0, 2, ['9', 'Bob', 'X', '-12.5']), 'validate', 'REQUIRED_MISSING', 'm');
  w.fail(ref(0, 3, ['9', ' lead']), 'read', 'ROW_TOO_FEW_FIELDS', 'm');
  w.close();
  const rows = readCsv(join(out, 'failed.csv'));
  assert.deepEqual(rows.map((r) => r.slice(0, 5)), [['Name', 'Tel', '_row', '_stage', '_code'], ['Bob', '-12.5', '2', 'validate', 'REQUIRED_MISSING'], [' lead', '', '3', 'read', 'ROW_TOO_FEW_FIELDS']]);
  assert.match(readFileSync(join(out, 'failed.csv'), 'utf8'), /\r\n" lead",,3,/, 'a cell with leading white space is quoted');
  assert.equal(existsSync(join(out, 'unchanged.csv')), false, 'unchanged.csv only when a row is unchanged');
});

test('ReportWriter on a path that is a file: a usage error naming the path', () => {
  const f = path('not-a-folder.txt');
  writeFileSync(f, 'x');
  for (const p of [f, join(f, 'sub')]) {
    assert.throws(() => new ReportWriter(p, { files: ['a.csv'], headers: [{ raw: ['A'], names: ['a'] }] }),
      (e: unknown) => isImportError(e) && e.code === 'OUT_NOT_A_FOLDER' && e.kind === 'usage' && e.message.includes(f) && /pick a folder/.test(e.message));
  }
  assert.equal(readFileSync(f, 'utf8'), 'x', 'the file is left alone');
});

test('CLI: run --out <existing file> exits 2 with one line that names the file and says to pick a folder', async () => {
  const f = path('report.txt');
  writeFileSync(f, 'keep me');
  const r = await runCli(['run', 'samples/clean.csv', '-m', 'mappings/clean.yaml', '--out', f, '--quiet']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /OUT_NOT_A_FOLDER/);
  assert.ok(r.stderr.includes(f), r.stderr);
  assert.match(r.stderr, /pick a folder/);
  assert.doesNotMatch(r.stderr, /EEXIST|internal error|^\s+at .+:\d+:\d+\)?$/m);
  assert.equal(readFileSync(f, 'utf8'), 'keep me');
});
