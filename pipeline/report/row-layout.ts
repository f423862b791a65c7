/**
 * How the report writes a row that merged: its merged.csv line, and its cells in report.html's
 * merged table and in the table of the contacts others were merged into ("kept"). The row's
 * original cells go in the report's column layout, built from the inputs' headers alone.
 *
 * Plain data and pure functions, so that the second phase's payload worker
 * (transforms/singleton-render.ts) builds the same layout from the same headers and writes a
 * cluster's lines byte for byte as ReportWriter (writer.ts) writes them.
 */
import type { ContactRecord, RowRef } from '../contact.js';
import { displayName } from '../contact.js';
import type { LoadOutcome } from '../loaders/types.js';
import { csvCell, REPORT_COLUMNS } from './csv-safe.js';

export interface ReportInput {
  /** Display path of each input, by RowRef.file index. */
  files: string[];
  /** Original header of each input (raw names) and normalized names, by index. */
  headers: { raw: string[]; names: string[] }[];
}

/** How a merged row joined its contact: by dedupe here, or by the target's own matching. */
export type MergedBy = 'pipeline' | 'target';

/** The cells of a success.csv row that take work to build (report.html's "kept" table repeats them). */
export interface SuccessFields { id: string; phones: string; mergedRows: string; conflicts: string; notes: string }

/** The name summary.json counts a merge key under: "phone" for "phone=+15550100". */
export function keyName(key: string): string {
  return key.split('=')[0] || key;
}

export class RowLayout {
  /** The original-columns part of failed.csv / merged.csv. */
  readonly columns: string[];
  readonly multi: boolean;
  /** Per input, per field of its rows: the column it goes in (-1: a column this tool adds, dropped). */
  private readonly placement: number[][];
  /** Per input: placement only moves forward, so a row's cells can be written in one pass. */
  private readonly inOrder: boolean[];
  /** Per input: the _file cell and its comma, encoded once. */
  private readonly fileCell: string[];

  constructor(readonly input: ReportInput) {
    this.multi = input.files.length > 1;
    const first = input.headers[0];
    const sameHeaders = input.headers.every((h) => h.names.join('\u0000') === first.names.join('\u0000'));
    // A failed.csv fed back as input brings the columns this tool added (_row, _code, ...):
    // they are dropped here so that they are not repeated in the new report.
    const added = (n: string) => (REPORT_COLUMNS as readonly string[]).includes(n);
    if (sameHeaders) {
      this.columns = first.raw.filter((_r, i) => !added(first.names[i]));
      let k = 0;
      const pos = first.names.map((n) => (added(n) ? -1 : k++));
      this.placement = input.headers.map(() => pos);
    } else {
      // Different headers across inputs: the union of column names, in order of first appearance.
      const union: string[] = [];
      for (const h of input.headers) for (const n of h.names) if (!added(n) && !union.includes(n)) union.push(n);
      this.columns = union;
      this.placement = input.headers.map((h) => h.names.map((n) => (added(n) ? -1 : union.indexOf(n))));
    }
    this.inOrder = this.placement.map((place) => {
      let last = -1;
      for (const at of place) if (at >= 0) { if (at <= last) return false; last = at; }
      return true;
    });
    this.fileCell = input.files.map((f) => csvCell(f) + ',');
  }

  /** The row's original cells in the report's column layout, missing ones empty. */
  placedCells(ref: RowRef): string[] {
    const place = this.placement[ref.file];
    const values = ref.values;
    const out = new Array<string>(this.columns.length).fill('');
    for (let i = 0; i < values.length; i++) {
      const at = place[i];
      if (at !== undefined && at >= 0) out[at] = values[i] ?? '';
    }
    return out;
  }

  /**
   * The row's original cells in the report's column layout, each followed by a comma.
   * A ragged row's extra fields are not added as columns (failed.csv stays rectangular,
   * so it can be fed back); the row's _error quotes them.
   */
  original(ref: RowRef): string {
    const place = this.placement[ref.file];
    const values = ref.values;
    const width = this.columns.length;
    let line = '';
    if (this.inOrder[ref.file]) {
      let next = 0;
      for (let i = 0; i < values.length; i++) {
        const at = place[i];
        if (at === undefined || at < 0) continue;
        for (; next < at; next++) line += ',';
        line += csvCell(values[i] ?? '') + ',';
        next = at + 1;
      }
      for (; next < width; next++) line += ',';
      return line;
    }
    for (const v of this.placedCells(ref)) line += csvCell(v) + ',';
    return line;
  }

  /** The _file cell and its comma when the run has several inputs, else nothing. */
  pre(ref: RowRef): string {
    return this.multi ? this.fileCell[ref.file] : '';
  }

  /**
   * A failed or merged row's cells as report.html embeds them: the original cells in the
   * report's column layout (what original() encodes), the _file cell with several inputs,
   * then `more`.
   */
  pageCells(ref: RowRef, ...more: string[]): string[] {
    const out = this.placedCells(ref);
    if (this.multi) out.push(this.input.files[ref.file]);
    for (const m of more) out.push(m);
    return out;
  }

  /** With several inputs, each input's _file cell and its comma, as success.csv rows start (successLine); else undefined. */
  get successFileCells(): readonly string[] | undefined {
    return this.multi ? this.fileCell : undefined;
  }

  /** The inputs' display paths when the run has several (success.csv's merged_rows names each row's file), else undefined. */
  get mergedRowFiles(): readonly string[] | undefined {
    return this.multi ? this.input.files : undefined;
  }

  /** merged.csv's row for `ref`, merged into the contact of `into` (id `intoId`) by `key`, without its line end. */
  mergedLine(ref: RowRef, into: RowRef, intoId: string, key: string, by: MergedBy): string {
    // With several inputs the kept row may be in another file than the merged one: both are named.
    return `${this.original(ref)}${this.pre(ref)}${ref.row},${this.pre(into)}${into.row},${csvCell(intoId)},${csvCell(key)},${by}`;
  }

  /** The same row's cells in report.html's merged table. */
  mergedPageCells(ref: RowRef, into: RowRef, intoId: string, key: string, by: MergedBy): string[] {
    const cells = this.pageCells(ref, String(ref.row));
    if (this.multi) cells.push(this.input.files[into.file]);
    cells.push(String(into.row), intoId, key, by);
    return cells;
  }

  /** A contact others were merged into, as report.html's "kept" table shows it (its success.csv row's cells). */
  survivorPageCells(rec: ContactRecord, o: LoadOutcome, f: SuccessFields): string[] {
    const c = rec.contact;
    const pre = this.multi ? [this.input.files[rec.ref.file]] : [];
    return [...pre, String(rec.ref.row), f.id, c.owner ?? '', o.action ?? 'loaded', displayName(c), f.phones, c.emails.join(' '), f.mergedRows, f.conflicts, f.notes];
  }
}
