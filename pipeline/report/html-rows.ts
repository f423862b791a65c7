/**
 * report.html's tables of rows (failed, merged, the contacts they were merged into),
 * prepared while the run writes the CSVs: each row the page will embed is written as
 * JSON to a side file in the report folder as it settles, so that the page is put
 * together by copying those files instead of parsing failed.csv and merged.csv back
 * (issue #11: at 1M rows that parse was 2.2 s, all of it after the last row).
 *
 * A row is embedded exactly as reading the tool's own CSV back gives it: the original
 * cells (restoreCell undoes csvCell exactly), cells longer than maxCellChars cut.
 * html.ts still builds the page from the CSVs when it has no prepared tables.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { FileSink } from './file-sink.js';

/** JSON that is inert inside <script>: `</script>`, `<!--` and line separators cannot survive. */
export function jsonForScript(value: unknown): string {
  const json = JSON.stringify(value);
  // Most rows hold none of these: one scan instead of five replacements.
  if (!SCRIPT_UNSAFE.test(json)) return json;
  return json
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}
const SCRIPT_UNSAFE = /[<>&\u2028\u2029]/;

export const DEFAULT_MAX_CELL_CHARS = 1_000;

/** The side files' write block: three are open for a whole run, and they take few rows. */
const SIDE_BLOCK = 64 * 1024;

/** What a table of the page says about its rows. */
export interface TableState { total: number; embedded: number; cellsTruncated: boolean }

/** A row's cells as the page embeds them: longer cells are cut and end with "…" (the same array when none is). */
export function cutCells(cells: string[], maxCellChars: number, st: Pick<TableState, 'cellsTruncated'>): string[] {
  let i = 0;
  while (i < cells.length && cells[i].length <= maxCellChars) i++;
  if (i === cells.length) return cells;
  st.cellsTruncated = true;
  return cells.map((v) => (v.length <= maxCellChars ? v : v.slice(0, maxCellChars) + '…'));
}

/** A row as the page embeds it: its cells cut (setting st.cellsTruncated when one is), as JSON inert in a script block. */
export function pageRowJson(cells: string[], maxCellChars: number, st: Pick<TableState, 'cellsTruncated'>): string {
  return jsonForScript(cutCells(cells, maxCellChars, st));
}

/** One table prepared for the page: its rows as JSON array members in `path`, and its columns. */
export interface PreparedTable extends TableState { path: string; columns: string[] }

/**
 * One table's rows for the page, written as the run settles them. The file is created with
 * the first row. A write the disk refuses leaves the table broken (not thrown: the CSV it
 * mirrors has its own error), and the page is then built from the CSVs.
 */
export class HtmlRows {
  readonly state: TableState = { total: 0, embedded: 0, cellsTruncated: false };
  private sink: FileSink | undefined;
  broken = false;
  /** Rows embedded, and rows claimed to be added rendered (claim) that are not yet. */
  private claimed = 0;

  constructor(readonly path: string, readonly columns: string[], private readonly maxRows: number,
    readonly maxCellChars = DEFAULT_MAX_CELL_CHARS) {}

  /** Whether the next row is embedded: callers build its cells only then, and call skip() otherwise. */
  get wants(): boolean { return this.claimed < this.maxRows; }

  /** A row (or `n` rows) past the embedded ones: counted in the table's total. */
  skip(n = 1): void { this.state.total += n; }

  add(cells: string[]): void {
    this.state.total++;
    if (this.claimed >= this.maxRows) return;
    this.claimed++;
    this.put(pageRowJson(cells, this.maxCellChars, this.state));
    this.state.embedded++;
  }

  /**
   * How many of the next `n` rows are embedded, when they are rendered elsewhere (pageRowJson)
   * and added later with addRendered: claimed now, so the rows added meanwhile come after them.
   */
  claim(n: number): number {
    const k = Math.max(0, Math.min(n, this.maxRows - this.claimed));
    this.claimed += k;
    return k;
  }

  /**
   * `rows` rows claimed before, rendered elsewhere with pageRowJson: [start, end) of `b`, their
   * JSON joined by commas. `cut`: a cell of theirs was cut.
   */
  addRendered(b: Buffer, start: number, end: number, rows: number, cut: boolean): void {
    const st = this.state;
    st.total += rows;
    if (cut) st.cellsTruncated = true;
    this.put(b, start, end);
    st.embedded += rows;
  }

  /** A row's (or rows') JSON, after a comma unless it is the first. */
  private put(json: string): void;
  private put(b: Buffer, start: number, end: number): void;
  private put(text: string | Buffer, start = 0, end = 0): void {
    if (this.broken) return;
    try {
      const sink = (this.sink ??= new FileSink(this.path, SIDE_BLOCK));
      if (this.state.embedded) sink.write(',');
      if (typeof text === 'string') sink.write(text); else sink.writeBytes(text, start, end);
    } catch {
      this.broken = true;
    }
  }

  close(): void {
    try { this.sink?.close(); } catch { this.broken = true; }
  }

  /** The table for html.ts (close() first). */
  prepared(columns = this.columns): PreparedTable {
    return { path: this.path, columns, ...this.state };
  }

  remove(): void {
    rmSync(this.path, { force: true });
  }
}

/** The side files' names in the report folder (dot files: removed once the page is written). */
export const htmlRowsFile = (outDir: string, table: string) => join(outDir, `.report-html-${table}.json`);
