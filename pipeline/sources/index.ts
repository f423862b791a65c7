/** The source registry: which reader opens a file, by its content first and its extension second. */
import { open as openFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { ImportError } from '../errors.js';
import { openCsv } from './csv.js';
import { inputSize } from './file.js';
// SheetJS (≈ 9 MB of memory once loaded) is imported only when a workbook is opened: CSV runs never load it.
import { sniffFormat } from './workbook-container.js';
import type { OpenedSource, SourceOptions } from './types.js';

const TEXT_EXT = new Set(['.csv', '.tsv', '.txt', '.tab']);
const SHEET_EXT = new Set(['.xlsx', '.xls', '.xlsm']);

async function head(file: string): Promise<Buffer> {
  let fh;
  try { fh = await openFile(file, 'r'); } catch {
    throw new ImportError('FILE_NOT_FOUND', `cannot open ${file}: no such file`, { file });
  }
  try {
    const b = Buffer.alloc(512);
    const { bytesRead } = await fh.read(b, 0, 512, 0);
    return b.subarray(0, bytesRead);
  } finally { await fh.close(); }
}

async function openSpreadsheet(file: string, opts: SourceOptions): Promise<OpenedSource> {
  return (await import('./spreadsheet.js')).openSpreadsheet(file, opts);
}

export async function openSource(file: string, opts: SourceOptions): Promise<OpenedSource> {
  const ext = extname(file).toLowerCase();
  if (SHEET_EXT.has(ext)) return openSpreadsheet(file, opts);
  if (TEXT_EXT.has(ext)) return openCsv(file, opts);
  // Before sniffing: a folder (no extension, like `samples/`) or a missing file gets its own message, not a read error.
  await inputSize(file);
  const kind = sniffFormat(await head(file));
  if (kind === 'xlsx' || kind === 'xls' || kind === 'ole-encrypted') return openSpreadsheet(file, opts);
  if (kind === 'text') return openCsv(file, opts);
  throw new ImportError('FILE_UNSUPPORTED', `${file}: unsupported file type "${ext || '(no extension)'}"`, { file });
}
