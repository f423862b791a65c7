import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { writeHtmlReport } from '../pipeline/report/html.js';
import { jsonForScript } from '../pipeline/report/html-rows.js';
import { csvLine } from '../pipeline/report/csv-safe.js';
import type { Summary } from '../pipeline/report/summary.js';
import { tempDir } from './helpers/cli.js';

const IMG = '<img src=x onerror=alert(1)>';
const CLOSE = '</script><script>alert(1)</script>';
const COMMENT = '<!--<script>alert(1)//';
const LS = 'line\u2028sep\u2029para';
const LONG_FORMULA = '=HYPERLINK("http://x.example/a/long/path","x")';

function summary(over: Partial<Summary> = {}): Summary {
  return {
    tool: 'contact-import', runId: `run-${IMG}`, command: 'run', target: 'file', dryRun: false, status: 'completed',
    startedAt: '2026-01-01T00:00:00.000Z', finishedAt: '2026-01-01T00:00:01.000Z', durationMs: 1000,
    rowsPerSecond: 7, mbPerSecond: 0.01,
    inputs: [{ file: `/tmp/${CLOSE}.csv`, format: 'csv', bytes: 100, sha256: 'ab'.repeat(32), encoding: 'utf-8', delimiter: ',', headerRow: 1, rows: 7 }],
    mapping: { file: `/tmp/"><script>alert(1)</script>.yaml`, sha256: 'cd'.repeat(32) },
    counts: { read: 7, success: 1, failed: 5, merged: 1, unchanged: 0 },
    invariant: { formula: 'read = success + failed + merged + unchanged', holds: true },
    failuresByCode: { EMAIL_INVALID: { count: 5, hint: 'Write one address.', examples: [{ row: 2, file: 'x.csv', message: `got "${IMG}"` }] } },
    failuresByStage: { normalize: 5 }, mergesByKey: { email: 1 }, mergedBy: { pipeline: 1 },
    conflictsByField: { company: 1 }, conflictExamples: [{ row: 8, field: 'company', chosen: CLOSE, rejected: [IMG] }],
    targetActions: {}, notes: [`note ${COMMENT}`], files: {}, exitCode: 1,
    ...over,
  };
}

const FAILED_HEADER = ['Name', 'Email', '_row', '_stage', '_code', '_error', '_hint'];
const failedRows = [
  [IMG, 'a@', '2', 'normalize', 'EMAIL_INVALID', `got "${IMG}"`, 'Write one address.'],
  [CLOSE, 'b@', '3', 'normalize', 'EMAIL_INVALID', 'bad', 'Write one address.'],
  [LONG_FORMULA, '@SUM(1)', '4', 'normalize', 'EMAIL_INVALID', 'bad', 'Write one address.'],
  [COMMENT, LS, '5', 'normalize', 'EMAIL_INVALID', 'bad & worse', 'Write one address.'],
  ['x'.repeat(50), 'e@', '6', 'normalize', 'EMAIL_INVALID', 'bad', 'Write one address.'],
];

function writeReportCsvs(dir: string, withDeleted: boolean) {
  writeFileSync(join(dir, 'failed.csv'), '\uFEFF' + csvLine(FAILED_HEADER) + failedRows.map(csvLine).join(''));
  writeFileSync(join(dir, 'merged.csv'), '\uFEFF' + csvLine(['Name', 'Email', '_row', '_merged_into_row', '_merged_into_id', '_key', '_by']) +
    csvLine([IMG, 'd@x.example', '9', '8', '', 'email=d@x.example', 'pipeline']));
  writeFileSync(join(dir, 'success.csv'), '\uFEFF' + csvLine(['_row', 'target_id', 'owner', 'action', 'name', 'phone', 'email', 'merged_rows', 'conflicts', 'notes']) +
    csvLine(['8', '', '', 'would-load', CLOSE, '', 'd@x.example', '9', `company: kept "${CLOSE}"`, '']) +
    csvLine(['10', '', '', 'would-load', 'not merged into', '', 'z@x.example', '', '', '']));
  if (withDeleted) writeFileSync(join(dir, 'deleted.csv'), '\uFEFF' + csvLine(['target_id', 'name']) + csvLine(['t-1', IMG]));
}

/** The text between <script ...> and </script> for each script element, in order. */
function scripts(html: string): { open: string; body: string }[] {
  return [...html.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/gi)].map((m) => ({ open: m[1], body: m[2] }));
}

describe('report.html escaping', () => {
  const tmp = tempDir('report-html-');
  let html = '';
  let info: Awaited<ReturnType<typeof writeHtmlReport>>;
  before(async () => {
    writeReportCsvs(tmp.path, true);
    info = await writeHtmlReport(tmp.path, summary(), { maxRows: 4, maxCellChars: 40 });
    html = readFileSync(info.path, 'utf8');
  });
  after(() => tmp.cleanup());

  test('exactly two script elements: the JSON data and the page\'s own script', () => {
    assert.equal((html.match(/<script/gi) ?? []).length, 2);
    assert.equal((html.match(/<\/script/gi) ?? []).length, 2);
    const s = scripts(html);
    assert.equal(s[0].open, ' type="application/json" id="report-data"');
    assert.equal(s[1].open, '');
  });

  test('no hostile value becomes markup: no <img, no comment opener, no attribute break-out', () => {
    assert.doesNotMatch(html, /<img/i);
    assert.doesNotMatch(html, /<!--/);
    assert.doesNotMatch(html, /"><script/i);
    assert.match(html, /run-&lt;img src=x onerror=alert\(1\)&gt;/, 'the run id in the header is escaped');
    assert.match(html, /&lt;\/script&gt;&lt;script&gt;alert\(1\)&lt;\/script&gt;\.csv/, 'the input name is escaped');
    assert.match(html, /&quot;&gt;&lt;script&gt;/, 'the mapping path is escaped');
  });

  test('the data block parses back to the rows, formulas restored, < > & U+2028 U+2029 as \\u escapes', () => {
    const body = scripts(html)[0].body;
    assert.doesNotMatch(body, /[<>&\u2028\u2029]/);
    const data = JSON.parse(body);
    assert.deepEqual(data.failed.columns, FAILED_HEADER);
    assert.equal(data.failed.total, 5);
    assert.equal(data.failed.rows.length, 4, 'capped at maxRows');
    assert.equal(data.failed.rows[0][0], IMG);
    assert.equal(data.failed.rows[1][0], CLOSE);
    assert.equal(data.failed.rows[2][1], '@SUM(1)', 'the CSV\'s apostrophe is removed again');
    assert.equal(data.failed.rows[2][0], LONG_FORMULA.slice(0, 40) + '…', 'cut at maxCellChars, marked');
    assert.equal(data.failed.rows[3][1], LS);
    assert.equal(data.failed.cellsTruncated, true);
    assert.equal(data.merged.rows[0][0], IMG);
    assert.equal(data.survivors.rows.length, 1, 'only rows others were merged into');
    assert.equal(data.survivors.rows[0][0], '8');
    assert.deepEqual(data.deleted.rows, [['t-1', IMG]]);
    assert.deepEqual(info.tables.failed, { total: 5, embedded: 4 });
  });

  test('the CSP allows the page\'s script and style by hash, and nothing else', () => {
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)?.[1].replace(/&#39;/g, "'");
    assert.ok(csp);
    const hash = (t: string) => `'sha256-${createHash('sha256').update(t, 'utf8').digest('base64')}'`;
    const style = /<style>([\s\S]*?)<\/style>/.exec(html)![1];
    assert.match(csp, /^default-src 'none'; /);
    assert.ok(csp.includes(`script-src ${hash(scripts(html)[1].body)};`), csp);
    assert.ok(csp.includes(`style-src ${hash(style)};`), csp);
    assert.doesNotMatch(csp, /unsafe|https?:|\*/);
  });

  test('the counts are in the page, with ids the browser test reads', () => {
    for (const [k, v] of Object.entries({ read: 7, success: 1, failed: 5, merged: 1, unchanged: 0 })) {
      assert.match(html, new RegExp(`id="count-${k}" data-count="${v}"`));
    }
    assert.match(html, /<svg id="counts-chart"/);
  });

  test('a deletes section only when deleted.csv exists', async () => {
    assert.match(html, /id="deleted-view"/);
    rmSync(join(tmp.path, 'deleted.csv'));
    const again = readFileSync((await writeHtmlReport(tmp.path, summary())).path, 'utf8');
    assert.doesNotMatch(again, /id="deleted-view"/);
    assert.equal(JSON.parse(scripts(again)[0].body).deleted, undefined);
  });
});

describe('jsonForScript', () => {
  test('property: parses back to the same value and holds none of < > & U+2028 U+2029', () => {
    const risky = fc.string({ unit: fc.constantFrom('<', '>', '&', '/', '\u2028', '\u2029', '"', '\\', 's', 'c', '!', '-') });
    fc.assert(fc.property(fc.array(fc.oneof(risky, fc.string({ unit: 'grapheme' }))), (v) => {
      const out = jsonForScript(v);
      return !/[<>&\u2028\u2029]/.test(out) && JSON.stringify(JSON.parse(out)) === JSON.stringify(v);
    }), { numRuns: 1000, seed: 9 });
  });
});
