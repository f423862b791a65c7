/**
 * report.html shows, beside each group of merged rows, the contact they were merged into.
 * The run prepares those rows as it writes success.csv (html-rows.ts), so the page does not
 * parse all of success.csv to find them: the page must hold the same rows as reading
 * success.csv whole would give, and the side files must not stay in the report folder.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeHtmlReport } from '../pipeline/report/html.js';
import { assertInvariant, readReportCsv, reportPageData, runFileTarget, tempDir } from './helpers/cli.js';

const tmp = tempDir('report-html-survivors-');
after(() => tmp.cleanup());

test('two inputs with duplicates: the page\'s kept contacts are the success.csv rows others merged into, and the side file is gone', async () => {
  // Two files with the same header, so the report has a _file column; every 4th row repeats
  // a contact of the first file (by email), so some merge across files.
  const files = [0, 1].map((f) => {
    const lines = ['Name,Email,Phone'];
    for (let i = 0; i < 1500; i++) {
      const k = i % 4 === 3 ? 4 * ((i * 37 + f * 11) % 375) : 10_000 * f + i; // dupes: rows 0, 4, 8... of file 0
      lines.push(`Person ${k},person${k}@example.com,+1415555${String(i % 10_000).padStart(4, '0')}`);
    }
    return lines;
  });
  const { out, r } = await runFileTarget(tmp.path, files, 'fields:\n  name: Name\n  emails: Email\n  phones: Phone\ndedupe:\n  keys: [email]\n');
  assert.ok(r.code === 0 || r.code === 1, r.stdout + r.stderr);
  const s = assertInvariant(out);
  assert.ok(s.counts.merged > 100, `enough merges to matter (${s.counts.merged})`);
  assert.deepEqual(readdirSync(out).filter((f) => f.startsWith('.report-html-')), [], 'the rows prepared for the page are removed');

  // What the page must show: the success.csv rows merged.csv names as kept (file and row).
  const mergedRows = readReportCsv(out, 'merged.csv');
  assert.ok(mergedRows.some((m) => m._file !== m._merged_into_file), 'some rows merged into a row of the other file');
  const into = new Set(mergedRows.map((m) => `${m._merged_into_file}\u0000${m._merged_into_row}`));
  const expected = readReportCsv(out, 'success.csv').filter((row) => into.has(`${row._file}\u0000${row._row}`));
  const data = reportPageData(out);
  assert.equal(data.survivors.rows.length, expected.length);
  assert.ok(expected.length > 50, `enough kept contacts (${expected.length})`);
  const cols: string[] = data.survivors.columns;
  assert.deepEqual(data.survivors.rows.map((row: string[]) => Object.fromEntries(cols.map((c, i) => [c, row[i]]))), expected);

  // The page built again without the prepared tables (success.csv read whole) holds the same data.
  await writeHtmlReport(out, JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')));
  assert.deepEqual(reportPageData(out), data);
});
