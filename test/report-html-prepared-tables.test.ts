/**
 * report.html's tables of rows are prepared while the run writes the CSVs (html-rows.ts)
 * and copied into the page, instead of parsing failed.csv and merged.csv back (issue #11).
 * The page must hold exactly what reading the CSVs back gives, for cells that need
 * neutralizing, quoting or escaping in the page, long cells, several inputs and merges
 * across them; the side files must not stay in the report folder.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeHtmlReport } from '../pipeline/report/html.js';
import { HtmlRows } from '../pipeline/report/html-rows.js';
import { ReportWriter } from '../pipeline/report/writer.js';
import { emptyContact, type ContactRecord, type RowRef } from '../pipeline/contact.js';
import type { Summary } from '../pipeline/report/summary.js';
import { assertInvariant, reportPageData, runFileTarget, tempDir } from './helpers/cli.js';

const tmp = tempDir('report-html-prepared-');
after(() => tmp.cleanup());

const sideFiles = (dir: string) => readdirSync(dir).filter((f) => f.startsWith('.report-html-'));

// Cells a spreadsheet would run, cells that need quoting, text that could close the page's
// script block, a line separator, accents, and a cell longer than the page shows.
const TRICKY = ['=HYPERLINK("http://x")', "'=already", '+cmd', 'a "quoted", cell', 'two\nlines', '</script><b>x</b>', 'line\u2028sep', 'Zoë & Łukasz', 'L'.repeat(1500)];

test('a run\'s page holds the same tables as one built by reading its CSVs back, and leaves no side file', async () => {
  // Two inputs with the same header (a _file column); rows repeat across files by email
  // (merges), some emails are broken (failures), and the notes column holds tricky cells.
  const files = [0, 1].map((f) => {
    const lines = ['Name,Email,Notes'];
    for (let i = 0; i < 600; i++) {
      const k = i % 3 === 2 ? 3 * ((i * 7 + f) % 200) : 1000 * (f + 1) + i;
      const email = i % 11 === 5 ? `broken${k}.example.com` : `p${k}@example.com`;
      const note = TRICKY[(i + f) % TRICKY.length];
      lines.push(`Person ${k},${email},"${note.replace(/"/g, '""')}"`);
    }
    return lines;
  });
  const { out, r } = await runFileTarget(tmp.path, files, 'fields:\n  name: Name\n  emails: Email\n  custom:\n    notes: Notes\ndedupe:\n  keys: [email]\n', '\r\n');
  assert.equal(r.code, 1, r.stdout + r.stderr);
  const s = assertInvariant(out);
  assert.deepEqual(sideFiles(out), [], 'the prepared tables are removed once the page is written');

  const fromRun = reportPageData(out);
  assert.equal(fromRun.failed.total, s.counts.failed);
  assert.equal(fromRun.merged.total, s.counts.merged);
  assert.ok(s.counts.failed > 50 && s.counts.merged > 100, JSON.stringify(s.counts));
  assert.ok(fromRun.survivors.rows.length > 50, `kept contacts (${fromRun.survivors.rows.length})`);
  assert.equal(fromRun.failed.cellsTruncated, true, 'the 1,500-character cells are cut in the page');
  const cells = [...fromRun.failed.rows, ...fromRun.merged.rows].flat() as string[];
  for (const t of TRICKY.slice(0, -1)) assert.ok(cells.includes(t), `the page shows ${JSON.stringify(t)} as written`);
  assert.ok(!/<\/script><b>/.test(readFileSync(join(out, 'report.html'), 'utf8')), 'no cell closes the data block');

  // The same folder's page built without the prepared tables: failed.csv, merged.csv and
  // success.csv read back.
  await writeHtmlReport(out, JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as Summary);
  assert.deepEqual(reportPageData(out), fromRun);
});

const ref = (file: number, row: number, values: string[]): RowRef => ({ file, row, values });
/** What the page's top part needs of summary.json, for a writer driven by hand. */
const summaryOf = (w: ReportWriter) => ({ runId: 'r', command: 'run', target: 'file', status: 'completed', counts: w.counts, inputs: [], notes: [], failuresByCode: {}, mergesByKey: {},
  invariant: { formula: 'read = success + failed + merged + unchanged', holds: true }, mapping: { file: 'm.yaml', sha256: '' }, durationMs: 1, rowsPerSecond: 1, mbPerSecond: 0 }) as unknown as Summary;
function rec(r: RowRef, email: string, merged: ContactRecord['merged'] = []): ContactRecord {
  return { contact: { ...emptyContact(), name: r.values[0], emails: [email] }, ref: r, merged, conflicts: [], notes: [] };
}

test('the page takes its rows from the prepared tables, not from the CSVs', async () => {
  const out = join(tmp.path, 'writer');
  const w = new ReportWriter(out, { files: ['a.csv'], headers: [{ raw: ['Name', 'Email'], names: ['Name', 'Email'] }] });
  w.rowRead(4);
  w.fail(ref(0, 2, ['=bad', 'x']), 'normalize', 'EMAIL_INVALID', 'expected an email address, got "x"');
  const kept = ref(0, 3, ['Ann', 'ann@example.com']);
  w.settle(rec(kept, 'ann@example.com', [{ ref: ref(0, 5, ['ANN', 'ann@example.com']), key: 'email=ann@example.com' }]), { status: 'success', action: 'written' });
  w.settle(rec(ref(0, 4, ['Bob', 'bob@example.com']), 'bob@example.com'), { status: 'success', action: 'written' });
  w.close();
  const prepared = w.preparedTables();
  assert.ok(prepared, 'every side file was written');
  const summary = summaryOf(w);

  await writeHtmlReport(out, summary);
  const fromCsv = reportPageData(out);
  await writeHtmlReport(out, summary, { prepared });
  assert.deepEqual(reportPageData(out), fromCsv);
  assert.deepEqual(fromCsv.failed.rows, [['=bad', 'x', '2', 'normalize', 'EMAIL_INVALID', 'expected an email address, got "x"', fromCsv.failed.rows[0][6]]]);
  assert.deepEqual(fromCsv.merged.rows.map((row: string[]) => row.slice(0, 4)), [['ANN', 'ann@example.com', '5', '3']]);
  assert.deepEqual(fromCsv.survivors.rows.map((row: string[]) => row[0]), ['3'], 'only the contact others were merged into');

  // With the CSVs gone, the prepared tables still give the same page.
  for (const f of ['failed.csv', 'merged.csv', 'success.csv']) rmSync(join(out, f));
  await writeHtmlReport(out, summary, { prepared });
  assert.deepEqual(reportPageData(out), fromCsv);
  w.removePreparedTables();
  assert.deepEqual(sideFiles(out), []);
});

test('past the embedded merged rows, the prepared page keeps only the contacts its merged rows name, as the CSV page does', async () => {
  const out = join(tmp.path, 'limit');
  const w = new ReportWriter(out, { files: ['a.csv'], headers: [{ raw: ['Name', 'Email'], names: ['Name', 'Email'] }] }, 3);
  w.rowRead(12);
  // Contacts with 2, 2 and 1 merged rows: the page embeds 3 merged rows, so the first two
  // contacts are kept beside them (the second straddles the limit) and the third is not.
  let row = 2;
  for (const k of [2, 2, 1, 0]) {
    const email = `c${row}@example.com`;
    const kept = ref(0, row++, [`C${row}`, email]);
    const merged = Array.from({ length: k }, () => ({ ref: ref(0, row++, [`dup`, email]), key: `email=${email}` }));
    w.settle(rec(kept, email, merged), { status: 'success', action: 'written' });
  }
  for (let i = 0; i < 4; i++) w.fail(ref(0, row++, [`bad ${i}`, 'x']), 'normalize', 'EMAIL_INVALID', 'no');
  w.close();
  const prepared = w.preparedTables()!;
  const summary = summaryOf(w);
  await writeHtmlReport(out, summary, { maxRows: 3 });
  const fromCsv = reportPageData(out);
  assert.deepEqual([fromCsv.merged.total, fromCsv.merged.rows.length, fromCsv.failed.total, fromCsv.failed.rows.length], [5, 3, 4, 3]);
  assert.deepEqual(fromCsv.survivors.rows.map((r: string[]) => r[0]), ['2', '5']);
  await writeHtmlReport(out, summary, { maxRows: 3, prepared });
  assert.deepEqual(reportPageData(out), fromCsv);
  // Asked for other limits than it was prepared with, the page reads the CSVs.
  await writeHtmlReport(out, summary, { maxRows: 2, prepared });
  assert.equal(reportPageData(out).merged.rows.length, 2);
  w.removePreparedTables();
});

test('HtmlRows: embeds the first maxRows rows and counts the rest, cells cut and inert in a script block', () => {
  const path = join(tmp.path, 'rows.json');
  const t = new HtmlRows(path, ['a', 'b'], 3, 5);
  for (let i = 0; i < 5; i++) {
    if (t.wants) t.add([`r${i}`, i === 1 ? '</script>long' : 'ok']);
    else t.skip();
  }
  t.close();
  assert.deepEqual(t.state, { total: 5, embedded: 3, cellsTruncated: true });
  const text = readFileSync(path, 'utf8');
  assert.ok(!text.includes('<'), text);
  assert.deepEqual(JSON.parse(`[${text}]`), [['r0', 'ok'], ['r1', '</scr…'], ['r2', 'ok']]);
  assert.deepEqual(t.prepared(), { path, columns: ['a', 'b'], total: 5, embedded: 3, cellsTruncated: true });
});
