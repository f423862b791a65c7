/**
 * CSV cells for the reports: RFC 4180 quoting, and formula neutralization so that a
 * spreadsheet opening failed.csv never runs a cell (OWASP "CSV injection").
 *
 * A cell starting with = + - @ TAB or CR is prefixed with an apostrophe, unless it is
 * a plain number: an E.164 phone such as +14155552671, or a negative number such as -12.5. A cell that already starts
 * with an apostrophe followed by one of those characters (or another apostrophe) gets
 * one more, so that `restoreCell` is an exact inverse: reading the tool's own report
 * back gives the original values.
 */
const ESCAPED = /^'[=+\-@\t\r']/;
const PLAIN_NUMBER = /^(\+\d{1,15}|-\d+(\.\d+)?)$/;

// The checks below run on every cell of every report row, so they look at character
// codes where they can (the first and last characters) and run one regex over the
// cell: most cells need neither quoting nor neutralizing and then cost no allocation.
// test/report-writer-csv-cells.test.ts pins them to the regex definitions they replace
// (/^[=+\-@\t\r]/, ESCAPED, /[",\r\n]|^\s|\s$/) on every code unit.

/** = + - @ TAB CR */
function isTrigger(c: number): boolean {
  return c === 61 || c === 43 || c === 45 || c === 64 || c === 9 || c === 13;
}

export function neutralizeCell(v: string): string {
  if (v === '') return v;
  const c = v.charCodeAt(0);
  if (isTrigger(c)) return PLAIN_NUMBER.test(v) ? v : `'${v}`;
  if (c === 39 && v.length > 1) {
    const d = v.charCodeAt(1);
    if (d === 39 || isTrigger(d)) return `'${v}`;
  }
  return v;
}

export function restoreCell(v: string): string {
  return ESCAPED.test(v) ? v.slice(1) : v;
}

const QUOTE_CHARS = /[",\r\n]/;
const SPACE = /\s/;

/** White space as the regex class \s defines it; printable ASCII and C1 controls answer without a regex. */
function isSpaceAt(v: string, i: number): boolean {
  const c = v.charCodeAt(i);
  return (c <= 32 || c >= 0xa0) && SPACE.test(v[i]);
}

/** A quote, comma, CR or LF anywhere, or white space at either end. */
function needsQuotes(v: string): boolean {
  const n = v.length;
  return n > 0 && (isSpaceAt(v, 0) || isSpaceAt(v, n - 1) || QUOTE_CHARS.test(v));
}

export function csvCell(v: string): string {
  const safe = neutralizeCell(v);
  return needsQuotes(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function csvLine(cells: readonly string[]): string {
  let out = '';
  for (let i = 0; i < cells.length; i++) {
    if (i) out += ',';
    out += csvCell(cells[i] ?? '');
  }
  return out + '\r\n';
}

/** Columns the tool adds to the CSVs it writes; a reader of those files ignores them. */
export const REPORT_COLUMNS = ['_file', '_row', '_stage', '_code', '_error', '_hint', '_merged_into_file', '_merged_into_row', '_merged_into_id', '_key', '_by'] as const;

/** True when a header is one of the tool's own reports (failed.csv, merged.csv). */
export function isToolReport(headers: readonly string[]): boolean {
  return headers.includes('_row') && (headers.includes('_code') || headers.includes('_key'));
}
