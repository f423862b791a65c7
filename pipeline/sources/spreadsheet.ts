/**
 * The XLS/XLSX reader. SheetJS reads a workbook whole, so the guards come first: the file
 * size cap, the real format from the magic bytes, and (for XLSX) the declared unzipped
 * sizes from the ZIP directory, so a small file that inflates to gigabytes is refused
 * before it is inflated. After parsing we only ever walk the cells that exist: a sheet's
 * declared dimension (!ref) can claim A1:XFD1048576 while holding ten cells.
 */
import { inputSize } from './file.js';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import * as XLSX from 'xlsx';
import { ImportError, type Where } from '../errors.js';
import { normalizeHeaders } from './headers.js';
import { cellText, isTextCell, type Cell } from './spreadsheet-cells.js';
import { damagedZipPart, describeContent, describeZip, sniffFormat, zipDirectory } from './workbook-container.js';
import { DEFAULT_BATCH_ROWS, type OpenedSource, type SourceOptions, type SourceRow } from './types.js';

export { sniffFormat } from './workbook-container.js';
export type { SniffedFormat } from './workbook-container.js';

const MB = 1024 * 1024;
export const DEFAULT_MAX_WORKBOOK_BYTES = 200 * MB;
/** V8 cannot hold a string much past 512 MiB, and SheetJS inflates each part into one. */
const MAX_PART_BYTES = 512 * MB;
const MAX_UNZIPPED_BYTES = 1024 * MB;
/** About 1 GB of parsed cell objects; larger sheets belong in a (streamed) CSV. */
export const MAX_SHEET_CELLS = 2_000_000;
/** Title rows above a header are a handful at most; we look this far for the header. */
const HEADER_SCAN_ROWS = 20;

type Rows = Cell[][];

/** The non-empty rows of a sheet, found by walking the cells that exist (never the declared range). */
interface Grid {
  data: Rows;
  /** 0-based indexes of rows with at least one non-blank cell, ascending. */
  rows: number[];
  /** For each of `rows`, its first non-blank column. */
  firstCol: number[];
}

const isBlank = (s: string) => s.trim() === '';
const mb = (n: number) => `${(n / MB).toFixed(n < 10 * MB ? 1 : 0)} MB`;
const quoteList = (names: string[]) => names.map((n) => JSON.stringify(n)).join(', ');

/**
 * What the workbook reader's failure says to a person: its own message ("Unsupported file",
 * "Bad compressed size"), or, when the reader tripped over missing parts of the file (a
 * JavaScript TypeError or RangeError such as "Cannot set properties of undefined"), that it
 * stopped there, with the file's size.
 */
function readerFailure(e: unknown, buf: Buffer): string {
  if (e instanceof TypeError || e instanceof RangeError) return `the reader found parts missing; ${buf.length} bytes`;
  return (e instanceof Error ? e.message : String(e)).split('\n')[0];
}

/**
 * Runs the workbook reader with its console output held back: on a damaged XLS it prints lines
 * such as "Missing Info for XLS Record 0x2dc" straight to the terminal, which mean nothing to
 * the person running an import (what went wrong reaches them as WORKBOOK_CORRUPT). The reader
 * is synchronous, so nothing else writes to the console meanwhile.
 */
function quietly<T>(read: () => T): T {
  const saved = { log: console.log, warn: console.warn, error: console.error };
  console.log = console.warn = console.error = () => {};
  try {
    return read();
  } finally {
    Object.assign(console, saved);
  }
}

function parseWorkbook(buf: Buffer, file: string): XLSX.WorkBook {
  try {
    return quietly(() => XLSX.read(buf, {
      type: 'buffer', dense: true, cellNF: true, cellDates: false, cellFormula: false,
      cellHTML: false, cellStyles: false, sheetStubs: false, bookVBA: false,
    }));
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    if (/password|encrypt/i.test(msg)) {
      throw new ImportError('WORKBOOK_ENCRYPTED', `${file}: the workbook is password-protected and cannot be read`, { file });
    }
    throw new ImportError('WORKBOOK_CORRUPT', `${file}: the workbook is damaged and cannot be read (${readerFailure(e, buf)})`, { file });
  }
}

/** XLSX guards from the ZIP directory: cut short, not a workbook, or inflating past our caps. */
async function checkZip(buf: Buffer, file: string): Promise<void> {
  const dir = zipDirectory(buf);
  if (!dir) {
    throw new ImportError('WORKBOOK_CORRUPT',
      `${file}: the workbook is damaged or cut short (its ZIP directory is missing; ${buf.length} bytes)`, { file });
  }
  const other = describeZip(dir);
  if (other) throw new ImportError('FILE_TYPE_MISMATCH', `${file}: not an Excel workbook; it is ${other}`, { file });
  let total = 0;
  for (const e of dir) {
    total += e.uncompressed;
    if (e.uncompressed > MAX_PART_BYTES || total > MAX_UNZIPPED_BYTES) {
      throw new ImportError('FILE_TOO_LARGE',
        `${file}: the workbook unzips to more than ${mb(Math.min(total, MAX_UNZIPPED_BYTES))} (part "${e.name}"), more than can be read into memory`, { file });
    }
  }
  const damaged = await damagedZipPart(buf, dir);
  if (damaged) {
    throw new ImportError('WORKBOOK_CORRUPT', `${file}: the workbook is damaged (its part "${damaged.name}" does not unzip: ${damaged.why})`, { file });
  }
}

/** OLE2 guards: an encrypted XLSX is an OLE2 container, and so are Word documents. */
function checkOle(buf: Buffer, file: string): void {
  let names: string[];
  try {
    const cfb = quietly(() => XLSX.CFB.read(buf, { type: 'buffer' })) as { FullPaths: string[] };
    names = cfb.FullPaths.map((p) => p.split('/').filter(Boolean).pop() ?? '');
  } catch (e) {
    throw new ImportError('WORKBOOK_CORRUPT', `${file}: the workbook is damaged or cut short (${readerFailure(e, buf)})`, { file });
  }
  if (names.includes('EncryptedPackage') || names.includes('EncryptionInfo')) {
    throw new ImportError('WORKBOOK_ENCRYPTED', `${file}: the workbook is password-protected and cannot be read`, { file });
  }
  if (!names.includes('Workbook') && !names.includes('Book')) {
    const what = names.includes('WordDocument') ? 'a Word document' : 'an OLE2 file with no workbook in it';
    throw new ImportError('FILE_TYPE_MISMATCH', `${file}: not an Excel workbook; it is ${what}`, { file });
  }
}

function denseRows(ws: XLSX.WorkSheet): Rows {
  const dense = (ws as { '!data'?: Rows })['!data'];
  if (dense) return dense;
  // Some formats ignore `dense`; build the same shape from the keys that exist.
  const rows: Rows = [];
  for (const key of Object.keys(ws)) {
    if (key[0] === '!') continue;
    const { r, c } = XLSX.utils.decode_cell(key);
    (rows[r] ??= [])[c] = ws[key] as Cell;
  }
  return rows;
}

function buildGrid(ws: XLSX.WorkSheet, date1904: boolean, file: string, sheet: string): Grid {
  const data = denseRows(ws);
  const rows: number[] = [];
  const firstCol: number[] = [];
  let cells = 0;
  // forEach skips holes, so the cost follows the cells present, not the declared range.
  data.forEach((row, r) => {
    if (!row) return;
    let first = -1;
    row.forEach((cell, c) => {
      cells++;
      if (first < 0 && !isBlank(cellText(cell, date1904))) first = c;
    });
    if (cells > MAX_SHEET_CELLS) {
      throw new ImportError('FILE_TOO_LARGE',
        `${file}: sheet "${sheet}" has more than ${MAX_SHEET_CELLS.toLocaleString('en-US')} cells, too many to read into memory; save it as CSV`, { file, sheet });
    }
    if (first >= 0) { rows.push(r); firstCol.push(first); }
  });
  return { data, rows, firstCol };
}

function resolveSheet(wb: XLSX.WorkBook, want: string | number, file: string): string {
  const names = wb.SheetNames;
  const notFound = (what: string) => new ImportError('SHEET_NOT_FOUND',
    `${file}: no sheet ${what}; the sheets are ${quoteList(names)}`, { file });
  if (typeof want === 'number') {
    if (!Number.isInteger(want) || want < 1 || want > names.length) throw notFound(`number ${want} (there are ${names.length})`);
    return names[want - 1];
  }
  const exact = names.find((n) => n === want);
  if (exact !== undefined) return exact;
  const lower = want.trim().toLowerCase();
  const loose = names.find((n) => n.trim().toLowerCase() === lower);
  if (loose !== undefined) return loose;
  // A command line gives "2" as a string; read it as an index when no sheet has that name.
  if (/^\d+$/.test(want.trim())) return resolveSheet(wb, Number(want.trim()), file);
  throw notFound(JSON.stringify(want));
}

/**
 * The header row among the first non-empty rows: the first with at least two non-blank
 * cells, mostly text, more than half as wide as the widest row seen, and followed by data.
 * Title rows ("ACME Corp – customer list", "Exported:" | "2024-03-01") fail the width test.
 */
function detectHeader(grid: Grid, date1904: boolean): number {
  const scan = Math.min(grid.rows.length, HEADER_SCAN_ROWS);
  const stats: { filled: number; text: number }[] = [];
  for (let k = 0; k < scan; k++) {
    let filled = 0, text = 0;
    grid.data[grid.rows[k]].forEach((cell) => {
      if (isBlank(cellText(cell, date1904))) return;
      filled++;
      if (isTextCell(cell)) text++;
    });
    stats.push({ filled, text });
  }
  const widest = Math.max(0, ...stats.map((s) => s.filled));
  let headerOnly = -1;
  for (let k = 0; k < scan; k++) {
    const { filled, text } = stats[k];
    if (filled < 2 || filled * 2 <= widest || text * 2 <= filled) continue;
    if (k + 1 < grid.rows.length) return k;
    if (headerOnly < 0) headerOnly = k;
  }
  return headerOnly >= 0 ? headerOnly : 0;
}

interface LoadedSheet { sheet: string; sheets: string[]; grid: Grid; merges: XLSX.Range[]; date1904: boolean }

/** Picks the sheet; kept apart so the parsed workbook (every other sheet) can be freed once it returns. */
/** The sheet's cells: a damaged workbook can list a sheet whose data the reader could not find. */
function worksheet(wb: XLSX.WorkBook, sheet: string, file: string): XLSX.WorkSheet {
  const ws = wb.Sheets?.[sheet];
  if (!ws) throw new ImportError('WORKBOOK_CORRUPT', `${file}: the workbook is damaged (it lists sheet "${sheet}" but its cells cannot be found)`, { file, sheet });
  return ws;
}

function loadSheet(wb: XLSX.WorkBook, opts: SourceOptions, file: string): LoadedSheet {
  const date1904 = Boolean((wb.Workbook as { WBProps?: { date1904?: boolean } } | undefined)?.WBProps?.date1904);
  const sheets = wb.SheetNames.slice();
  if (opts.sheet !== undefined) {
    const sheet = resolveSheet(wb, opts.sheet, file);
    const ws = worksheet(wb, sheet, file);
    const grid = buildGrid(ws, date1904, file, sheet);
    if (!grid.rows.length) throw new ImportError('FILE_EMPTY', `${file}: sheet "${sheet}" is empty`, { file, sheet });
    return { sheet, sheets, grid, merges: ws['!merges'] ?? [], date1904 };
  }
  for (const sheet of sheets) {
    const ws = worksheet(wb, sheet, file);
    const grid = buildGrid(ws, date1904, file, sheet);
    if (grid.rows.length) return { sheet, sheets, grid, merges: ws['!merges'] ?? [], date1904 };
  }
  throw new ImportError('FILE_EMPTY',
    `${file} has no rows: ${sheets.length === 1 ? 'its sheet' : 'every sheet'} (${quoteList(sheets)}) is empty`, { file });
}

export async function openSpreadsheet(path: string, opts: SourceOptions = {}): Promise<OpenedSource> {
  const file = path;
  const size = await inputSize(file);
  const cap = opts.maxWorkbookBytes ?? DEFAULT_MAX_WORKBOOK_BYTES;
  if (size > cap) {
    throw new ImportError('FILE_TOO_LARGE', `${file} is ${mb(size)}, more than the ${mb(cap)} a workbook may have`, { file });
  }

  const buf = await readFile(file);
  const sha256 = createHash('sha256').update(buf).digest('hex');
  const kind = sniffFormat(buf.subarray(0, 512));
  if (kind === 'text' || kind === 'unknown') {
    throw new ImportError('FILE_TYPE_MISMATCH', `${file}: not an Excel workbook (${describeContent(buf.subarray(0, 512))})`, { file });
  }
  const format = kind === 'xlsx' ? 'xlsx' : 'xls';
  if (format === 'xlsx') await checkZip(buf, file); else checkOle(buf, file);

  const { sheet, sheets, grid, merges, date1904 } = loadSheet(parseWorkbook(buf, file), opts, file);
  const at = (row?: number): Where => ({ file, sheet, ...(row !== undefined ? { row } : {}) });

  let hk: number;
  if (opts.headerRow !== undefined) {
    hk = grid.rows.indexOf(opts.headerRow - 1);
    if (hk < 0) {
      const last = grid.rows[grid.rows.length - 1] + 1;
      throw new ImportError('HEADER_NOT_FOUND', opts.headerRow > last
        ? `${file}: sheet "${sheet}" ends at row ${last}, before the header row ${opts.headerRow}`
        : `${file}: sheet "${sheet}" row ${opts.headerRow} (the header row) is empty`, at(opts.headerRow));
    }
  } else {
    hk = detectHeader(grid, date1904);
  }
  const headerRow = grid.rows[hk] + 1;
  if (hk + 1 >= grid.rows.length) {
    throw new ImportError('FILE_HEADER_ONLY', `${file}: sheet "${sheet}" has a header row (row ${headerRow}) but no data rows`, at(headerRow));
  }

  // Columns start at the leftmost cell used from the header down, so a table set in from
  // column A still reads from its first column and no data cell falls left of the header.
  const startCol = Math.min(...grid.firstCol.slice(hk));
  const headerCells = grid.data[grid.rows[hk]];
  let lastCol = startCol;
  headerCells.forEach((cell, c) => { if (!isBlank(cellText(cell, date1904))) lastCol = Math.max(lastCol, c); });
  const width = lastCol - startCol + 1;
  const rawHeaders: string[] = [];
  for (let c = startCol; c <= lastCol; c++) rawHeaders.push(cellText(headerCells[c], date1904));
  // A merged header cell names only its first column; the rest get the blank-name rule
  // (some writers repeat the value into every covered cell).
  const hr = headerRow - 1;
  for (const m of merges) {
    if (hr < m.s.r || hr > m.e.r) continue;
    for (let c = Math.max(m.s.c, startCol); c <= Math.min(m.e.c, lastCol); c++) {
      if (c !== m.s.c || hr !== m.s.r) rawHeaders[c - startCol] = '';
    }
  }
  const headers = normalizeHeaders(rawHeaders);

  const batchSize = Math.max(1, opts.batchSize ?? DEFAULT_BATCH_ROWS);
  const maxCell = opts.maxCellChars ?? MB;
  let released = false;
  let started = false;

  function toRow(r: number, cells: Cell[]): SourceRow {
    const values: string[] = new Array(width).fill('');
    let extraEnd = width;
    cells.forEach((cell, c) => {
      if (c < startCol) return;
      const text = cellText(cell, date1904);
      const i = c - startCol;
      if (i < width) values[i] = text;
      else if (!isBlank(text)) { values[i] = text; extraEnd = i + 1; }
    });
    const out: SourceRow = { row: r + 1, values };
    if (extraEnd > width) {
      for (let i = width; i < extraEnd; i++) values[i] ??= '';
      values.length = extraEnd;
      out.error = new ImportError('ROW_TOO_MANY_FIELDS',
        `expected ${width} fields, got ${extraEnd}: cells to the right of the last header column are filled`, at(r + 1));
      return out;
    }
    values.length = width;
    const long = values.findIndex((v) => v.length > maxCell);
    if (long >= 0) {
      out.error = new ImportError('ROW_TOO_LARGE',
        `cell has ${values[long].length} characters, more than the cap of ${maxCell}`, { ...at(r + 1), column: headers[long] });
      out.values = values.map((v) => (v.length > 200 ? v.slice(0, 200) + '…' : v));
    }
    return out;
  }

  async function* readRows(): AsyncGenerator<SourceRow[]> {
    let batch: SourceRow[] = [];
    for (let k = hk + 1; k < grid.rows.length && !released; k++) {
      const r = grid.rows[k];
      batch.push(toRow(r, grid.data[r]));
      if (batch.length >= batchSize) { const b = batch; batch = []; yield b; }
    }
    if (batch.length && !released) yield batch;
  }

  return {
    info: { file, format, headers, rawHeaders, headerRow, sheet, sheets, bytes: size },
    sha256: () => sha256,
    rows() {
      if (started) throw new Error('spreadsheet source read twice');
      started = true;
      return readRows();
    },
    close() {
      // Drop the parsed workbook so a run that stops early frees its memory.
      released = true;
      grid.data = [];
    },
  };
}
