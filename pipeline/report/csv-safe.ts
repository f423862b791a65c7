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
const TRIGGER = /^[=+\-@\t\r]/;
const ESCAPED = /^'[=+\-@\t\r']/;
const PLAIN_NUMBER = /^(\+\d{1,15}|-\d+(\.\d+)?)$/;

export function neutralizeCell(v: string): string {
  if (v === '') return v;
  if (TRIGGER.test(v)) return PLAIN_NUMBER.test(v) ? v : `'${v}`;
  if (ESCAPED.test(v)) return `'${v}`;
  return v;
}

export function restoreCell(v: string): string {
  return ESCAPED.test(v) ? v.slice(1) : v;
}

const NEEDS_QUOTES = /[",\r\n]|^\s|\s$/;

export function csvCell(v: string): string {
  const safe = neutralizeCell(v);
  return NEEDS_QUOTES.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
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
export const REPORT_COLUMNS = ['_file', '_row', '_stage', '_code', '_error', '_hint', '_merged_into_row', '_merged_into_id', '_key', '_by'] as const;

/** True when a header is one of the tool's own reports (failed.csv, merged.csv). */
export function isToolReport(headers: readonly string[]): boolean {
  return headers.includes('_row') && (headers.includes('_code') || headers.includes('_key'));
}
