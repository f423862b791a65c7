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
export function cutCells(cells: string[], maxCellChars: number, st: TableState): string[] {
  let i = 0;
  while (i < cells.length && cells[i].length <= maxCellChars) i++;
  if (i === cells.length) return cells;
  st.cellsTruncated = true;
  return cells.map((v) => (v.length <= maxCellChars ? v : v.slice(0, maxCellChars) + '…'));
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

  constructor(readonly path: string, readonly columns: string[], private readonly maxRows: number,
    private readonly maxCellChars = DEFAULT_MAX_CELL_CHARS) {}

  /** Whether the next row is embedded: callers build its cells only then, and call skip() otherwise. */
  get wants(): boolean { return this.state.embedded < this.maxRows; }

  /** A row past the embedded ones: counted in the table's total. */
  skip(): void { this.state.total++; }

  add(cells: string[]): void {
    const st = this.state;
    st.total++;
    if (st.embedded >= this.maxRows) return;
    const json = jsonForScript(cutCells(cells, this.maxCellChars, st));
    if (!this.broken) {
      try {
        const sink = (this.sink ??= new FileSink(this.path, SIDE_BLOCK));
        if (st.embedded) sink.write(',');
        sink.write(json);
      } catch {
        this.broken = true;
      }
    }
    st.embedded++;
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
