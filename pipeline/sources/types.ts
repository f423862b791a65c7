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

export interface SourceOptions {
  sheet?: string | number;
  headerRow?: number;
  delimiter?: 'auto' | ',' | ';' | '\t' | '|';
  encoding?: 'auto' | 'utf-8' | 'utf-16le' | 'utf-16be' | 'windows-1252' | 'latin1';
  /** Rows per batch (default 2000). */
  batchSize?: number;
  /** A cell longer than this many characters fails its row (default 1 MiB). */
  maxCellChars?: number;
  /** A row longer than this many characters (all its cells, quotes and delimiters) fails; default 4 x maxCellChars. */
  maxRowChars?: number;
  /** Bytes per read from disk (default 256 KiB); tests use odd sizes to cut characters and rows apart. */
  chunkBytes?: number;
  /** Largest workbook accepted, in bytes (SheetJS reads workbooks whole). */
  maxWorkbookBytes?: number;
}
