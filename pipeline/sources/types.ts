/**
 * A source turns one input file into a header and batches of rows. It knows nothing
 * of mappings or targets. Problems with the file as a whole (not found, empty, corrupt,
 * wrong type) are thrown from open() as ImportError (kind 'usage'); problems with one row
 * (too few fields, bad bytes) travel with that row as `error`, so the run goes on.
 */
import type { ImportError } from '../errors.js';

export interface SourceRow {
  /** Spreadsheet row number as a person sees it (header row counted; 1-based). */
  row: number;
  /** Cells as text, as a person sees them. Length may differ from the header for a ragged row. */
  values: string[];
  /** Set when the row is broken; the row fails with this error. */
  error?: ImportError;
}

/**
 * Whether the cells of a row of this format that has no `error` never hold U+0000. The CSV
 * reader fails such a row (ENCODING_INVALID: NUL bytes mean the wrong encoding), so dedupe can
 * keep its cells joined by NUL (transforms/dedupe-entry.ts); a workbook's cell may hold one.
 */
export function cellsFreeOfNul(format: SourceInfo['format']): boolean {
  return format === 'csv';
}

export interface SourceInfo {
  /** The path as the user gave it (used in every message). */
  file: string;
  format: 'csv' | 'xlsx' | 'xls';
  /** Column names after the duplicate / blank header rule (see headers.ts). */
  headers: string[];
  /** Column names exactly as in the file. */
  rawHeaders: string[];
  /** Row number of the header row. */
  headerRow: number;
  sheet?: string;
  sheets?: string[];
  encoding?: string;
  delimiter?: string;
  /** Size in bytes and SHA-256 of the file, for the report. */
  bytes: number;
}

export interface OpenedSource {
  info: SourceInfo;
  /** Batches of rows in file order. Reading it twice is not supported. */
  rows(): AsyncIterable<SourceRow[]>;
  /** Bytes of the file read so far (for progress), when the source streams. */
  position?(): number;
  /** SHA-256 of the file, once the source has read every byte of it (so the run need not read it again). */
  sha256?(): string | undefined;
  /** Releases the file (when the run stops early). */
  close(): void;
}

/**
 * Rows per batch a source hands on (issue #11). A batch's cells live until the row worker has
 * made the whole batch: at 2,000 rows they outlived the worker's young-generation collections
 * and were promoted (200k rows: 126-131 MB promoted in the worker, 10-11 full collections),
 * at 250 they die young (3 MB, none). 1M rows, four alternating rounds against 2,000 (with four
 * batches in flight per worker, row-pool.ts): 28.9-33.5 s against 31.8-41.5 s, peak RSS
 * 229-231 MB against 242-248 MB.
 */
export const DEFAULT_BATCH_ROWS = 250;

export interface SourceOptions {
  sheet?: string | number;
  headerRow?: number;
  delimiter?: 'auto' | ',' | ';' | '\t' | '|';
  encoding?: 'auto' | 'utf-8' | 'utf-16le' | 'utf-16be' | 'windows-1252' | 'latin1';
  /** Rows per batch (default DEFAULT_BATCH_ROWS). */
  batchSize?: number;
  /** A cell longer than this many characters fails its row (default 1 MiB). */
  maxCellChars?: number;
  /** A row longer than this many characters (all its cells, quotes and delimiters) fails; default 4 x maxCellChars. */
  maxRowChars?: number;
  /** Bytes per read from disk (default DEFAULT_CHUNK_BYTES); tests use odd sizes to cut characters and rows apart. */
  chunkBytes?: number;
  /** Largest workbook accepted, in bytes (SheetJS reads workbooks whole). */
  maxWorkbookBytes?: number;
}
