/**
 * The CSV reader: bytes -> decoded text -> papaparse's core Parser, chunk by chunk,
 * never holding more than one chunk plus one unfinished row.
 *
 * We drive Papa.Parser ourselves rather than Papa.parse(stream): it is about 3x faster
 * than NODE_STREAM_INPUT (FACTS.md), lets us pause for back-pressure simply by not
 * reading, and lets us cap a runaway row (an unclosed quote) instead of buffering the
 * rest of the file.
 */
import { inputSize } from './file.js';
import { createHash } from 'node:crypto';
import { open as openFile } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import Papa from 'papaparse';
import { ImportError } from '../errors.js';
import { normalizeHeaders } from './headers.js';
import { createDecoder, detectEncoding } from './encoding.js';
import { isToolReport, restoreCell } from '../report/csv-safe.js';
import { sniffFormat } from './workbook-container.js';
import type { OpenedSource, SourceOptions, SourceRow } from './types.js';

const HEAD_BYTES = 64 * 1024;
const CANDIDATES = [',', ';', '\t', '|'] as const;

interface RawParser { parse(input: string, baseIndex: number, ignoreLastRow: boolean): PapaResult }
interface PapaResult {
  data: string[][];
  errors: { type: string; code: string; message: string; row?: number }[];
  meta: { cursor: number };
}
const PapaParser = (Papa as unknown as { Parser: new (config: object) => RawParser }).Parser;

function newParser(delimiter: string): RawParser {
  return new PapaParser({ delimiter, newline: '\n', quoteChar: '"', comments: false });
}

/** Line ends are normalized to \n so a file mixing \r\n, \n and \r parses row by row. */
function normalizeNewlines(s: string): string {
  return s.indexOf('\r') === -1 ? s : s.replace(/\r\n?/g, '\n');
}

// Where a scan of CSV text stands: at a field start, in an unquoted field, in a quoted
// field, just after a quote inside a quoted field, or after such a quote and spaces.
const AT_START = 0, UNQUOTED = 1, QUOTED = 2, QUOTE_SEEN = 3, QUOTE_SPACES = 4;
const SPACE = /\s/;

/**
 * Line ends to \n outside quoted fields only, so that a file mixing \r\n, \n and \r
 * parses row by row while a CR inside a quoted cell is kept as written. The quote rule
 * mirrors papaparse's: a quote opens a field only at its start, `""` is a quote, and a
 * quote closes the field only before (spaces and) a delimiter or a line end.
 * `write` false only computes the state at the end of `text`. `endCR`: the text ended with
 * a CR outside quotes (already written as \n; a \n that starts the next text belongs to it).
 */
function lineEnds(text: string, delim: number, state: number, write: boolean): { text: string; state: number; endCR: boolean } {
  let out = '';
  let from = 0;
  let endCR = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    endCR = false;
    if (state === QUOTED) { if (c === 34) state = QUOTE_SEEN; continue; }
    if (c === 13 || c === 10) {
      if (state === QUOTE_SEEN || state === QUOTE_SPACES || state === AT_START || state === UNQUOTED) {
        state = AT_START;
        if (c === 13) {
          if (write) out += text.slice(from, i) + '\n';
          if (text.charCodeAt(i + 1) === 10) i++;
          else if (i === text.length - 1) endCR = true;
          from = i + 1;
        }
      }
      continue;
    }
    if (c === delim) { if (state !== QUOTED) state = AT_START; continue; }
    switch (state) {
      case AT_START: state = c === 34 ? QUOTED : UNQUOTED; break;
      case QUOTE_SEEN: state = c === 34 ? QUOTED : SPACE.test(text[i]) ? QUOTE_SPACES : QUOTED; break;
      case QUOTE_SPACES: state = c === 34 ? QUOTE_SEEN : SPACE.test(text[i]) ? QUOTE_SPACES : QUOTED; break;
      default: break;
    }
  }
  return { text: write ? (from === 0 ? text : out + text.slice(from)) : text, state, endCR };
}

/**
 * Guess the delimiter the way a person would: the candidate that splits the first
 * lines into the same number (> 1) of fields most consistently.
 */
export function guessDelimiter(sample: string, preferTab: boolean): string {
  const lines = sample.split('\n').slice(0, 30);
  if (lines.length > 1) lines.pop(); // possibly cut off
  const text = lines.join('\n');
  let best: { d: string; score: number; fields: number } | undefined;
  for (const d of CANDIDATES) {
    const rows = newParser(d).parse(text, 0, false).data.filter((r) => !(r.length === 1 && r[0] === ''));
    if (!rows.length) continue;
    const counts = new Map<number, number>();
    for (const r of rows) counts.set(r.length, (counts.get(r.length) ?? 0) + 1);
    let modeFields = 0;
    let modeCount = 0;
    for (const [f, c] of counts) if (c > modeCount || (c === modeCount && f > modeFields)) { modeFields = f; modeCount = c; }
    if (modeFields < 2) continue;
    const score = modeCount / rows.length + (preferTab && d === '\t' ? 0.01 : 0);
    if (!best || score > best.score || (score === best.score && modeFields > best.fields)) best = { d, score, fields: modeFields };
  }
  return best?.d ?? (preferTab ? '\t' : ',');
}

/** Line-end bytes (LF, or CR not followed by LF) in a raw head; enough to know a header row has ended. */
function countLineBreaks(b: Buffer): number {
  let n = 0;
  for (let i = 0; i < b.length; i++) if (b[i] === 10 || (b[i] === 13 && b[i + 1] !== 10)) n++;
  return n;
}

const isBlankRow = (r: string[]) => r.length === 0 || (r.length === 1 && r[0].trim() === '') || r.every((v) => v.trim() === '');

export async function openCsv(file: string, opts: SourceOptions = {}): Promise<OpenedSource> {
  const size = await inputSize(file);

  const maxCell = opts.maxCellChars ?? 1024 * 1024;
  const maxRow = opts.maxRowChars ?? 4 * maxCell;

  // The head holds the header row. A header wider than 64 KiB (thousands of columns) is
  // read further, doubling, up to the row cap (in bytes, 2 per character for UTF-16).
  const fh = await openFile(file, 'r');
  let head = Buffer.alloc(Math.min(HEAD_BYTES, size));
  try {
    await fh.read(head, 0, head.length, 0);
    while (head.length < size && head.length < 2 * maxRow && countLineBreaks(head) < (opts.headerRow ?? 1)) {
      head = Buffer.alloc(Math.min(size, 2 * head.length, 2 * maxRow));
      await fh.read(head, 0, head.length, 0);
    }
  } finally { await fh.close(); }

  const kind = sniffFormat(head);
  if (kind === 'xlsx' || kind === 'xls' || kind === 'ole-encrypted') {
    throw new ImportError('FILE_TYPE_MISMATCH',
      `${file} is an Excel workbook (${kind === 'xls' ? 'XLS' : 'XLSX'}), not CSV text; rename it to .${kind === 'xls' ? 'xls' : 'xlsx'}`, { file });
  }
  if (head.subarray(0, 5).toString('latin1') === '%PDF-') {
    throw new ImportError('FILE_TYPE_MISMATCH', `${file} is a PDF, not CSV text`, { file });
  }

  const enc = detectEncoding(head, opts.encoding);
  const headText = normalizeNewlines(createDecoder(enc.encoding).write(head.subarray(enc.bomLength)));
  if (enc.encoding === 'utf-8' && headText.includes('\u0000')) {
    // A NUL in text that is not UTF-16 is almost always a binary file.
    const nul = (headText.match(/\u0000/g) ?? []).length;
    if (nul > headText.length / 10) {
      throw new ImportError('FILE_TYPE_MISMATCH', `${file} looks binary (${nul} NUL bytes in the first ${head.length} bytes), not CSV text`, { file });
    }
  }
  const preferTab = /\.(tsv|tab|txt)$/i.test(file);
  const delimiter = opts.delimiter && opts.delimiter !== 'auto' ? opts.delimiter : guessDelimiter(headText, preferTab);
  const headerRow = opts.headerRow ?? 1;
  const batchSize = opts.batchSize ?? 2000;
  // Read up to the header row from the head sample; a header that does not end within it is refused.
  const headParser = newParser(delimiter);
  const headRaw = createDecoder(enc.encoding).write(head.subarray(enc.bomLength));
  const headRows = headParser.parse(lineEnds(headRaw, delimiter.charCodeAt(0), AT_START, true).text, 0, head.length < size).data;
  let rowNo = 0;
  let rawHeaders: string[] | undefined;
  for (const r of headRows) {
    rowNo++;
    if (rowNo === headerRow) { rawHeaders = r; break; }
  }
  if (!rawHeaders && head.length < size) {
    throw new ImportError('HEADER_NOT_FOUND',
      `${file}: the header row does not end within the first ${head.length} bytes (the row cap is ${maxRow} characters); a quote in it is probably not closed`,
      { file, row: headerRow });
  }
  if (!rawHeaders || isBlankRow(rawHeaders)) {
    throw new ImportError(rawHeaders ? 'HEADER_NOT_FOUND' : 'FILE_EMPTY',
      rawHeaders ? `${file}: row ${headerRow} (the header row) is empty` : `${file} has no rows${headerRow > 1 ? ` up to the header row ${headerRow}` : ''}`,
      { file, row: headerRow });
  }
  const headers = normalizeHeaders(rawHeaders);
  // Our own failed.csv fed back: undo the formula neutralization so values load as they were.
  const restore = isToolReport(headers);
  const width = headers.length;
  if (head.length === size && headRows.slice(headerRow).every(isBlankRow)) {
    throw new ImportError('FILE_HEADER_ONLY', `${file} has a header row but no data rows`, { file, row: headerRow });
  }

  let started = false;
  const source: OpenedSource = {
    info: {
      file, format: 'csv', headers, rawHeaders: rawHeaders.map((h) => h.replace(/^\uFEFF/, '')), headerRow,
      encoding: enc.encoding, delimiter, bytes: size,
    },
    close() { stream?.destroy(); },
    position: () => bytesRead,
    sha256: () => digest,
    rows() {
      if (started) throw new Error('CSV source read twice');
      started = true;
      return readRows();
    },
  };

  let stream: ReturnType<typeof createReadStream> | undefined;
  let bytesRead = 0;
  // The report's checksum is taken from the bytes as they stream past, not by a second read.
  const hasher = createHash('sha256').update(head.subarray(0, enc.bomLength));
  let digest: string | undefined;

  async function* readRows(): AsyncGenerator<SourceRow[]> {
    stream = createReadStream(file, { start: enc.bomLength, highWaterMark: opts.chunkBytes ?? 256 * 1024 });
    const decoder = createDecoder(enc.encoding);
    const parser = newParser(delimiter);
    let carry = '';
    const delimCode = delimiter.charCodeAt(0);
    /** The previous text ended with a CR outside quotes: a \n starting the next text is its pair. */
    let skipLF = false;
    let row = 0;
    let batch: SourceRow[] = [];
    let sawBad = false;
    let dataRows = 0;
    // Skip mode: a row longer than maxRow; we drop its text and track quote parity to find its end.
    let skipping: { startRow: number; inQuotes: boolean; chars: number; preview: string[] } | undefined;

    const emit = (values: string[], err?: { code: 'ROW_QUOTE' }) => {
      row++;
      if (row <= headerRow) return;
      if (isBlankRow(values)) return;
      if (restore) values = values.map(restoreCell);
      dataRows++;
      const r: SourceRow = { row, values };
      if (err) {
        r.error = new ImportError('ROW_QUOTE', 'a quoted field is not closed before the end of the file', { file, row });
      } else if (values.length !== width) {
        r.error = values.length < width
          ? new ImportError('ROW_TOO_FEW_FIELDS', `expected ${width} fields, got ${values.length}`, { file, row })
          : new ImportError('ROW_TOO_MANY_FIELDS',
            `expected ${width} fields, got ${values.length}; the extra ones: ${values.slice(width).map((v) => JSON.stringify(v.length > 60 ? v.slice(0, 60) + '…' : v)).join(', ')}`, { file, row });
        if (values.length > width && values.slice(width).every((v) => v === '')) {
          // Trailing delimiters: a person sees no extra data, so the row is fine.
          r.values = values.slice(0, width);
          r.error = undefined;
        }
      }
      if (!r.error) {
        // A row that fits in one read chunk never reaches the carry check in feed(), so the
        // row cap is applied here too: the same limit whatever the chunk size.
        let chars = values.length - 1;
        for (const v of values) chars += v.length;
        if (chars > maxRow) {
          r.error = new ImportError('ROW_TOO_LARGE', `row has ${chars} characters, more than the row cap of ${maxRow} (--max-row-kb)`, { file, row });
          r.values = values.map((x) => (x.length > 200 ? x.slice(0, 200) + '…' : x));
        }
      }
      if (!r.error) {
        for (let i = 0; i < values.length; i++) {
          const v = values[i];
          if (v.length > maxCell) {
            r.error = new ImportError('ROW_TOO_LARGE', `cell has ${v.length} characters, more than the cap of ${maxCell}`, { file, row, column: headers[i] });
            r.values = values.map((x) => (x.length > 200 ? x.slice(0, 200) + '…' : x));
            break;
          }
          if (sawBad && v.includes('\uFFFD')) {
            r.error = new ImportError('ENCODING_INVALID', `bytes that are not valid ${enc.encoding} in this cell (shown as \uFFFD)`, { file, row, column: headers[i] });
            break;
          }
          if (v.includes('\u0000')) {
            r.error = new ImportError('ENCODING_INVALID', 'the cell contains NUL bytes', { file, row, column: headers[i] });
            r.values = values.map((x) => x.replace(/\u0000/g, ''));
            break;
          }
        }
      }
      batch.push(r);
    };

    const oversize = (s: NonNullable<typeof skipping>) => {
      row++;
      dataRows++;
      const where = { file, row };
      batch.push({
        row,
        values: s.preview,
        error: new ImportError('ROW_TOO_LARGE',
          `row is longer than the row cap of ${maxRow} characters (${s.chars} read; --max-row-kb); a quote is probably not closed`, where),
      });
    };

    /** Consume text in skip mode; returns the text after the oversize row ends, or undefined. */
    const skipThrough = (text: string): string | undefined => {
      const s = skipping!;
      for (let i = 0; i < text.length; i++) {
        const ch = text.charCodeAt(i);
        if (ch === 34) s.inQuotes = !s.inQuotes;
        else if ((ch === 10 || ch === 13) && !s.inQuotes) {
          s.chars += i;
          oversize(s);
          skipping = undefined;
          if (ch === 13 && text.charCodeAt(i + 1) === 10) i++;
          else if (ch === 13 && i === text.length - 1) skipLF = true;
          return text.slice(i + 1);
        }
      }
      s.chars += text.length;
      return undefined;
    };

    const feed = (raw: string, final: boolean) => {
      let text = raw;
      if (skipLF && text) {
        if (text.charCodeAt(0) === 10) text = text.slice(1);
        skipLF = false;
      }
      if (skipping) {
        const rest = skipThrough(text);
        if (rest === undefined) return;
        text = rest;
      }
      if (text.indexOf('\r') !== -1) {
        // The carry is the unfinished row, so the scan of this text starts where the carry ends.
        const from = carry ? lineEnds(carry, delimCode, AT_START, false).state : AT_START;
        const r = lineEnds(text, delimCode, from, true);
        text = r.text;
        if (r.endCR) skipLF = true;
      }
      const input = carry + text;
      carry = '';
      const res = parser.parse(input, 0, !final);
      const quoteErrRow = final ? res.errors.find((e) => e.code === 'MissingQuotes')?.row : undefined;
      for (let i = 0; i < res.data.length; i++) emit(res.data[i], i === quoteErrRow ? { code: 'ROW_QUOTE' } : undefined);
      if (!final) {
        carry = input.slice(res.meta.cursor);
        if (carry.length > maxRow) {
          let inQuotes = false;
          for (let i = 0; i < carry.length; i++) if (carry.charCodeAt(i) === 34) inQuotes = !inQuotes;
          const preview = carry.slice(0, 2000).split(delimiter).slice(0, width).map((v) => (v.length > 200 ? v.slice(0, 200) + '…' : v));
          skipping = { startRow: row + 1, inQuotes, chars: carry.length, preview };
          carry = '';
        }
      }
    };

    try {
      for await (const chunk of stream) {
        bytesRead += (chunk as Buffer).length;
        hasher.update(chunk as Buffer);
        const text = decoder.write(chunk as Buffer);
        if (!sawBad && text.includes('\uFFFD')) sawBad = true;
        feed(text, false);
        // One chunk can hold many rows: hand them on in batches of batchSize, keep the rest.
        while (batch.length >= batchSize) yield batch.splice(0, batchSize);
      }
      digest = hasher.digest('hex');
      const tail = decoder.end();
      if (tail.includes('\uFFFD')) sawBad = true;
      if (skipping) {
        const rest = skipThrough(tail + '\n');
        if (rest === undefined && skipping) {
          row++;
          dataRows++;
          batch.push({ row, values: skipping.preview, error: new ImportError('ROW_QUOTE',
            `a quote opened in this row is never closed: the remaining ${skipping.chars} characters of the file were read as one cell and dropped`, { file, row }) });
          skipping = undefined;
        }
      } else {
        feed(tail, true);
      }
      while (batch.length) yield batch.splice(0, batchSize);
      if (dataRows === 0 && row <= headerRow) {
        throw new ImportError('FILE_HEADER_ONLY', `${file} has a header row but no data rows`, { file });
      }
    } finally {
      stream.destroy();
    }
  }

  return source;
}
