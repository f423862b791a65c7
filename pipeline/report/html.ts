/**
 * report.html: one self-contained page for people who did not run the import.
 *
 * Safe by construction:
 *  - the parts rendered here (metadata, counts, chart, failures by reason) go through
 *    escape-html, attribute values included;
 *  - rows (failed, merged, deleted) are embedded once, as JSON in a non-executable
 *    <script type="application/json"> block, with < > & U+2028 U+2029 written as \u
 *    escapes, so no value can close the block or open a tag;
 *  - the page's one script (html-client.ts) builds the tables with textContent only;
 *  - a Content-Security-Policy meta tag allows that script and the page's style by
 *    their SHA-256 and nothing else (no other script, no network, no inline handlers).
 *
 * The rows never sit in memory all at once: a run's tables are copied from the side files
 * the report writer prepared as rows settled (html-rows.ts); another folder's CSVs are read
 * back streaming and the JSON is written as it is read.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { FileSink } from './file-sink.js';
import { join } from 'node:path';
import escapeHtml from 'escape-html';
import Papa from 'papaparse';
import type { Summary, Timings } from './summary.js';
import { restoreCell } from './csv-safe.js';
import { CLIENT_SCRIPT } from './html-client.js';
import { DEFAULT_MAX_ROWS, type PreparedTables } from './writer.js';
import { cutCells, DEFAULT_MAX_CELL_CHARS, jsonForScript, type PreparedTable, type TableState } from './html-rows.js';

export const REPORT_FILE = 'report.html';

export interface HtmlReportOptions {
  /** Rows embedded per table (failed, merged, deleted); the CSVs always hold all of them. */
  maxRows?: number;
  /** Longer cells are cut in the page (the CSVs have them whole). */
  maxCellChars?: number;
  /**
   * The tables of rows as the run prepared them while writing the CSVs (writer.ts,
   * html-rows.ts), used when prepared with the same maxRows and maxCellChars; else the CSVs are read.
   */
  prepared?: PreparedTables;
}

export interface HtmlReportInfo {
  path: string;
  tables: Record<string, { total: number; embedded: number }>;
}

function sha256Source(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

const h = (v: unknown): string => escapeHtml(String(v ?? ''));
const n = (x: number): string => x.toLocaleString('en-US');

const STYLE = `
:root { --ok: #2e7d32; --bad: #c62828; --merge: #1565c0; --same: #757575; --line: #ddd; font-family: system-ui, sans-serif; }
body { margin: 0 auto; max-width: 1200px; padding: 1rem 1.5rem 4rem; color: #222; }
h1 { font-size: 1.5rem; margin-bottom: .25rem; }
h2 { font-size: 1.2rem; border-bottom: 1px solid var(--line); padding-bottom: .25rem; margin-top: 2rem; }
h3 { font-size: 1rem; margin: .25rem 0 .5rem; }
.sub { color: #555; margin-top: 0; }
.status-completed { color: var(--ok); } .status-aborted, .status-interrupted { color: var(--bad); }
.counts { display: flex; flex-wrap: wrap; gap: 1.5rem; align-items: center; }
.counts table td:last-child { text-align: right; font-variant-numeric: tabular-nums; padding-left: 1rem; }
table { border-collapse: collapse; font-size: .875rem; }
th, td { border: 1px solid var(--line); padding: .25rem .5rem; text-align: left; vertical-align: top; white-space: pre-wrap; overflow-wrap: break-word; max-width: 32rem; }
th { background: #f5f5f5; position: sticky; top: 0; }
.scroll { overflow: auto; max-height: 70vh; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; margin: .5rem 0; }
dt { color: #555; } dd { margin: 0; word-break: break-all; }
.controls { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; margin: .5rem 0; }
.controls input { min-width: 18rem; padding: .3rem; }
.pager { margin-left: auto; display: flex; gap: .5rem; align-items: center; }
.info { color: #555; margin: .25rem 0; }
.note { background: #fff8e1; border-left: 4px solid #f9a825; padding: .4rem .6rem; }
.group { border: 1px solid var(--line); border-radius: 4px; padding: .5rem .75rem; margin: .75rem 0; }
.hint { color: #333; }
.examples { color: #555; font-size: .875rem; margin: .25rem 0 0 1rem; padding: 0; }
.bar-success { fill: var(--ok); } .bar-failed { fill: var(--bad); } .bar-merged { fill: var(--merge); } .bar-unchanged { fill: var(--same); }
svg text { font-size: 12px; fill: #222; }
noscript p { color: var(--bad); }
`;

/** The counts as horizontal bars: widths are computed here, labels are fixed words and numbers. */
function chart(s: Summary): string {
  const c = s.counts;
  const bars: [keyof typeof c, string][] = [
    ['success', s.command === 'check' ? 'would load' : 'success'], ['failed', 'failed'], ['merged', 'merged'], ['unchanged', 'unchanged'],
  ];
  const max = Math.max(1, ...bars.map(([k]) => c[k]));
  const rowH = 26;
  const width = 420;
  const barMax = 260;
  const parts = bars.map(([k, label], i) => {
    const w = c[k] ? Math.max(2, Math.round((c[k] / max) * barMax)) : 0;
    const y = i * rowH;
    return `<text x="0" y="${y + 17}">${h(label)}</text>` +
      `<rect class="bar-${k}" x="80" y="${y + 4}" width="${w}" height="${rowH - 8}"></rect>` +
      `<text x="${86 + w}" y="${y + 17}">${h(n(c[k]))}</text>`;
  });
  const desc = bars.map(([k, label]) => `${label} ${n(c[k])}`).join(', ');
  return `<svg id="counts-chart" xmlns="http://www.w3.org/2000/svg" role="img" aria-label="${h(desc)}" width="${width}" height="${bars.length * rowH}" viewBox="0 0 ${width} ${bars.length * rowH}">${parts.join('')}</svg>`;
}

function secondsText(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(2)} s` : `${(ms / 1000).toFixed(1)} s`;
}

function timeSpent(t: Timings): string {
  return `opening ${secondsText(t.openMs)}, reading ${secondsText(t.readMs)}, after reading ${secondsText(t.loadMs)}, finishing ${secondsText(t.finishMs)}`;
}

/** Everything above the tables, as escaped HTML. */
export function renderStatic(s: Summary): string {
  const c = s.counts;
  const out: string[] = [];
  const what = s.command === 'check' ? 'check (nothing sent)' : `run, target ${s.target}${s.dryRun ? ' (dry run)' : ''}`;
  out.push(`<header><h1>Contact import report</h1>`,
    `<p class="sub">${h(what)} · <span class="status-${h(s.status)}" id="run-status">${h(s.status)}</span> · run ${h(s.runId)}</p></header>`);
  if (s.abort) out.push(`<p class="note" id="abort">Aborted: ${h(s.abort.code)}: ${h(s.abort.message)}<br>${h(s.abort.hint)}</p>`);

  out.push('<section id="counts"><h2>Outcome</h2><div class="counts"><table>');
  const rows: [string, string, number][] = [
    ['read', 'rows read', c.read], ['success', s.command === 'check' ? 'would load' : 'success', c.success],
    ['failed', 'failed', c.failed], ['merged', 'merged', c.merged], ['unchanged', 'unchanged', c.unchanged],
  ];
  for (const [id, label, v] of rows) out.push(`<tr><td>${h(label)}</td><td id="count-${id}" data-count="${v}">${h(n(v))}</td></tr>`);
  out.push(`</table>${chart(s)}</div>`);
  out.push(`<p class="info">${h(s.invariant.formula)}: ${s.invariant.holds ? 'holds' : 'DOES NOT HOLD'}</p></section>`);

  out.push('<section id="run"><h2>Run</h2><dl>');
  const meta: [string, string][] = [
    ['started', s.startedAt], ['finished', s.finishedAt], ['duration', secondsText(s.durationMs)],
    ...(s.timings ? [['time spent', timeSpent(s.timings)] as [string, string]] : []),
    ['throughput', `${n(s.rowsPerSecond)} rows/s, ${s.mbPerSecond} MB/s`],
    ['target', `${s.target}${s.dryRun ? ' (dry run)' : ''}`], ['mapping', `${s.mapping.file}`], ['mapping sha256', s.mapping.sha256],
  ];
  if (s.exitCode !== undefined) meta.push(['exit code', String(s.exitCode)]);
  for (const [k, v] of meta) out.push(`<dt>${h(k)}</dt><dd>${h(v)}</dd>`);
  out.push('</dl><table id="inputs"><thead><tr><th>input</th><th>format</th><th>bytes</th><th>rows</th><th>encoding</th><th>sha256</th></tr></thead><tbody>');
  for (const i of s.inputs) {
    const fmt = [i.format, i.delimiter ? `delimiter ${JSON.stringify(i.delimiter)}` : '', i.sheet ? `sheet ${i.sheet}` : '', i.headerRow > 1 ? `header row ${i.headerRow}` : '']
      .filter(Boolean).join(', ');
    out.push(`<tr><td>${h(i.file)}</td><td>${h(fmt)}</td><td>${h(n(i.bytes))}</td><td>${h(n(i.rows))}</td><td>${h(i.encoding ?? '')}</td><td>${h(i.sha256 ?? 'not taken: the run stopped before reading it whole')}</td></tr>`);
  }
  out.push('</tbody></table>');
  if (s.notes.length) {
    out.push('<h3>Notes</h3><ul id="notes">');
    for (const note of s.notes) out.push(`<li>${h(note)}</li>`);
    out.push('</ul>');
  }
  out.push('</section>');

  out.push('<section id="failures"><h2>Failures by reason</h2>');
  const codes = Object.entries(s.failuresByCode);
  if (!codes.length) out.push('<p>No row failed.</p>');
  else {
    out.push('<table><thead><tr><th>reason</th><th>rows</th><th>what to do</th></tr></thead><tbody>');
    for (const [code, f] of codes) {
      const ex = f.examples.map((e) => `<li>row ${h(e.row)}${s.inputs.length > 1 ? ` of ${h(e.file)}` : ''}: ${h(e.message)}</li>`).join('');
      out.push(`<tr id="code-${h(code)}"><td>${h(code)}</td><td data-count="${f.count}">${h(n(f.count))}</td>` +
        `<td><span class="hint">${h(f.hint)}</span>${ex ? `<ul class="examples">${ex}</ul>` : ''}</td></tr>`);
    }
    out.push('</tbody></table>');
  }
  out.push('</section>');

  out.push(`<section id="failed"><h2>Failed rows</h2><p class="info">The original columns as read, then the stage, reason and message. ` +
    `Fix the rows in failed.csv and run it again with the same mapping: the columns starting with _ are ignored.</p>` +
    `<div id="failed-view"></div></section>`);

  out.push('<section id="merged"><h2>Merged rows</h2>');
  const keys = Object.entries(s.mergesByKey);
  if (keys.length) out.push(`<p class="info">By key: ${h(keys.map(([k, v]) => `${k} × ${n(v)}`).join(', '))}</p>`);
  const conflicts = Object.entries(s.conflictsByField ?? {});
  if (conflicts.length) {
    out.push('<h3>Field conflicts</h3><table id="conflicts"><thead><tr><th>field</th><th>groups</th></tr></thead><tbody>');
    for (const [f, v] of conflicts) out.push(`<tr><td>${h(f)}</td><td>${h(n(v))}</td></tr>`);
    out.push('</tbody></table>');
    if (s.conflictExamples?.length) {
      out.push('<table id="conflict-examples"><thead><tr><th>kept row</th><th>field</th><th>chosen</th><th>rejected</th></tr></thead><tbody>');
      for (const e of s.conflictExamples) out.push(`<tr><td>${h(e.row)}</td><td>${h(e.field)}</td><td>${h(e.chosen)}</td><td>${h(e.rejected.join(' | '))}</td></tr>`);
      out.push('</tbody></table>');
    }
  }
  out.push('<div id="merged-view"></div></section>');
  return out.join('\n');
}

/** Streams a CSV the tool wrote, with its formula protection undone, row by row. */
function readCsv(path: string, onRow: (cells: string[], index: number) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const stream = createReadStream(path, { encoding: 'utf8' });
    let i = 0;
    Papa.parse<string[]>(stream as unknown as File, {
      header: false,
      skipEmptyLines: true,
      step: (r) => {
        const cells = r.data.map((v, k) => restoreCell(i === 0 && k === 0 ? v.replace(/^\uFEFF/, '') : v));
        onRow(cells, i++);
      },
      complete: () => resolve(),
      error: (e: Error) => reject(e),
    });
    stream.on('error', reject);
  });
}


/**
 * Writes `"name":{"columns":[...],"rows":[...],"total":N,...}` for one CSV, embedding at
 * most maxRows rows; `keep` may skip rows (and then they are not counted).
 */
async function embedCsv(out: FileSink, name: string, path: string, o: { maxRows: number; maxCellChars: number },
  onRow?: (cells: string[], columns: string[]) => boolean): Promise<TableState> {
  const st: TableState = { total: 0, embedded: 0, cellsTruncated: false };
  let columns: string[] = [];
  out.write(`${jsonForScript(name)}:{"rows":[`);
  // A run stopped before its report opened has no CSVs: an empty table, not a crash.
  if (existsSync(path)) await readCsv(path, (cells, i) => {
    if (i === 0) { columns = cells; return; }
    if (onRow && !onRow(cells, columns)) return;
    st.total++;
    if (st.embedded >= o.maxRows) return;
    out.write((st.embedded ? ',' : '') + jsonForScript(cutCells(cells, o.maxCellChars, st)));
    st.embedded++;
  });
  out.write(`],"columns":${jsonForScript(columns)},"total":${st.total},"cellsTruncated":${st.cellsTruncated}}`);
  return st;
}

const NO_ROWS: PreparedTable = { path: '', columns: [], total: 0, embedded: 0, cellsTruncated: false };

/** The same text as embedCsv for a table the run prepared: its rows are copied from the side file. */
function embedPrepared(out: FileSink, name: string, t: PreparedTable): TableState {
  out.write(`${jsonForScript(name)}:{"rows":[`);
  if (t.embedded) out.copyFrom(t.path);
  out.write(`],"columns":${jsonForScript(t.columns)},"total":${t.total},"cellsTruncated":${t.cellsTruncated}}`);
  return t;
}

/**
 * Writes <outDir>/report.html from summary.json's content and the tables of rows: the ones
 * the run prepared (opts.prepared), else read from the CSVs beside it.
 */
export async function writeHtmlReport(outDir: string, summary: Summary, opts: HtmlReportOptions = {}): Promise<HtmlReportInfo> {
  const o = {
    maxRows: opts.maxRows ?? DEFAULT_MAX_ROWS,
    maxCellChars: opts.maxCellChars ?? DEFAULT_MAX_CELL_CHARS,
  };
  const path = join(outDir, REPORT_FILE);
  const csp = [
    "default-src 'none'", `script-src ${sha256Source(CLIENT_SCRIPT)}`, `style-src ${sha256Source(STYLE)}`,
    "img-src 'none'", "base-uri 'none'", "form-action 'none'",
  ].join('; ');
  // FileSink writes every byte or throws WRITE_FAILED (a bare writeSync may write part of a
  // block on a full disk and say nothing).
  const out = new FileSink(path);
  const tables: HtmlReportInfo['tables'] = {};
  try {
    out.write(`<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n` +
      `<meta http-equiv="Content-Security-Policy" content="${h(csp)}">\n` +
      `<meta name="referrer" content="no-referrer"><meta name="viewport" content="width=device-width, initial-scale=1">\n` +
      `<title>${h(`Import report ${summary.runId}`)}</title>\n<style>${STYLE}</style>\n</head><body>\n`);
    out.write(renderStatic(summary));
    const deleted = join(outDir, 'deleted.csv');
    const hasDeleted = existsSync(deleted);
    if (hasDeleted) out.write('\n<section id="deleted"><h2>Deleted contacts</h2><div id="deleted-view"></div></section>');
    out.write('\n<noscript><p>The tables of rows need JavaScript; the same rows are in failed.csv and merged.csv.</p></noscript>\n');

    out.write(`<script type="application/json" id="report-data">{"maxCellChars":${o.maxCellChars},`);
    // The run's own tables (prepared for these limits) are copied; any other folder's are read from its CSVs.
    const p = opts.prepared;
    const prepared = p && p.maxRows === o.maxRows && p.maxCellChars === o.maxCellChars ? p : undefined;
    if (prepared) {
      tables.failed = embedPrepared(out, 'failed', prepared.failed);
      out.write(',');
      tables.merged = embedPrepared(out, 'merged', prepared.merged);
      out.write(',');
      tables.survivors = embedPrepared(out, 'survivors', prepared.survivors);
    } else {
      tables.failed = await embedCsv(out, 'failed', join(outDir, 'failed.csv'), o);
      // Remember which rows others were merged into, to embed only those rows of success.csv.
      const into = new Set<string>();
      let mergedSeen = 0;
      let intoRowAt = -1;
      let intoFileAt = -1;
      out.write(',');
      tables.merged = await embedCsv(out, 'merged', join(outDir, 'merged.csv'), o, (cells, cols) => {
        // Only groups of embedded rows need their kept contact.
        if (mergedSeen++ >= o.maxRows) return true;
        if (intoRowAt < 0) {
          intoRowAt = cols.indexOf('_merged_into_row');
          // The kept row's file: _merged_into_file with several inputs (reports before it had only _file).
          intoFileAt = cols.includes('_merged_into_file') ? cols.indexOf('_merged_into_file') : cols.indexOf('_file');
        }
        into.add(`${cells[intoFileAt] ?? ''}\u0000${cells[intoRowAt]}`);
        return true;
      });
      out.write(',');
      // Nothing merged: no kept contacts, and success.csv is not read.
      tables.survivors = into.size === 0 ? embedPrepared(out, 'survivors', NO_ROWS)
        : await embedCsv(out, 'survivors', join(outDir, 'success.csv'), { ...o, maxRows: Number.MAX_SAFE_INTEGER },
          (cells, cols) => into.has(`${cells[cols.indexOf('_file')] ?? ''}\u0000${cells[cols.indexOf('_row')]}`));
    }
    if (hasDeleted) {
      out.write(',');
      tables.deleted = await embedCsv(out, 'deleted', deleted, o);
    }
    out.write(`}</script>\n<script>${CLIENT_SCRIPT}</script>\n</body></html>\n`);
  } finally {
    out.close();
  }
  return { path, tables: Object.fromEntries(Object.entries(tables).map(([k, v]) => [k, { total: v.total, embedded: v.embedded }])) };
}
