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
import { createDecoder, createDeferredDecoder, detectEncoding, undecidedSample, type Encoding } from './encoding.js';
import { isToolReport, restoreCell } from '../report/csv-safe.js';
import { describeContent, sniffFormat } from './workbook-container.js';
import { DEFAULT_BATCH_ROWS, type OpenedSource, type SourceOptions, type SourceRow } from './types.js';

const HEAD_BYTES = 64 * 1024;
/**
 * Bytes per read of a CSV file. Each cell papaparse returns is a slice of the text it parsed,
 * so a row still in flight keeps its whole read alive (twice its bytes, as UTF-16), and the
 * main thread's young-generation collections copy every cell of the rows of the read being
 * handed on. Issue #11, the bench's 1M rows, 12 alternating rounds: 64 KiB against 256 KiB
 * peaked at 231-245 MB RSS against 244-256 MB (GNU time, in the bench's MB; lower in all 12)
 * and read the file in 9.4-11.6 s against 9.8-12.3 s (faster in 10 of 12, a noisy machine);
 * 128 KiB was about as good, 32 KiB slower (10.5-12.0 s) and no leaner.
 */
const DEFAULT_CHUNK_BYTES = 64 * 1024;
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
 *
 * It goes from quote to quote (indexOf), not character by character: outside quotes only
 * the character before a quote decides whether it opens a field, and a CR is turned into
 * \n by one replace() over each stretch that holds no quoted CR, usually the whole text
 * (issue #11: a loop over every character took 0.8 s of the main thread on the bench's
 * 1M rows, written with CRLF as spreadsheets write them). test/source-csv-line-ends.test.ts
 * holds it to the character-by-character rule on random text.
 */
export function lineEnds(text: string, delim: number, state: number, write: boolean): { text: string; state: number; endCR: boolean } {
  const n = text.length;
  let out = '';
  let from = 0; // text before this is in `out` already
  let cr = -2; // the next CR at or after the last place asked; -1: none left
  let i = 0;
  while (i < n) {
    if (state === QUOTED) {
      const q = text.indexOf('"', i);
      const stop = q === -1 ? n : q;
      // A CR inside quotes is kept: the text before this quoted stretch is converted, the stretch copied.
      if (write) {
        if (cr !== -1 && cr < i) cr = text.indexOf('\r', i);
        if (cr !== -1 && cr < stop) {
          out += normalizeNewlines(text.slice(from, i)) + text.slice(i, stop);
          from = stop;
        }
      }
      if (q === -1) break;
      state = QUOTE_SEEN;
      i = q + 1;
      continue;
    }
    if (state === QUOTE_SEEN || state === QUOTE_SPACES) {
      const c = text.charCodeAt(i++);
      state = c === 13 || c === 10 ? AT_START : quoteState(state, c, delim);
      continue;
    }
    // AT_START or UNQUOTED: only a quote at a field's start matters, and what is before it says.
    const q = text.indexOf('"', i);
    const stop = q === -1 ? n : q;
    if (stop > i) {
      const c = text.charCodeAt(stop - 1);
      state = c === 13 || c === 10 || c === delim ? AT_START : UNQUOTED;
    }
    if (q === -1) break;
    if (state === AT_START) state = QUOTED;
    i = q + 1;
  }
  // A CR read inside quotes leaves the state QUOTED; read outside, it is a line end (AT_START).
  const endCR = state !== QUOTED && text.charCodeAt(n - 1) === 13;
  if (!write) return { text, state, endCR };
  return { text: from === 0 ? normalizeNewlines(text) : out + normalizeNewlines(text.slice(from)), state, endCR };
}

/** The quote rule, one character that is not a line end at a time: after a closing quote in lineEnds(), and for text skipped, not parsed. */
function quoteState(state: number, c: number, delim: number): number {
  if (state === QUOTED) return c === 34 ? QUOTE_SEEN : QUOTED;
  if (c === delim) return AT_START;
  switch (state) {
    case AT_START: return c === 34 ? QUOTED : UNQUOTED;
    case QUOTE_SEEN: return c === 34 ? QUOTED : SPACE.test(String.fromCharCode(c)) ? QUOTE_SPACES : QUOTED;
    case QUOTE_SPACES: return c === 34 ? QUOTE_SEEN : SPACE.test(String.fromCharCode(c)) ? QUOTE_SPACES : QUOTED;
    default: return state;
  }
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

/**
 * Characters no CSV export holds: NUL, and the C0 controls and DEL but tab, line ends, vertical
 * tab (FileMaker's line break in a cell), form feed and SUB (an old end-of-file mark).
 */
function binaryChars(text: string): { nul: number; control: number } {
  let nul = 0;
  let control = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 32 && c !== 127) continue;
    if (c === 0) nul++;
    else if ((c < 9 || c > 13) && c !== 26) control++;
  }
  return { nul, control };
}

/** Line-end bytes (LF, or CR not followed by LF) in a raw head; enough to know a header row has ended. */
function countLineBreaks(b: Buffer): number {
  let n = 0;
  for (let i = 0; i < b.length; i++) if (b[i] === 10 || (b[i] === 13 && b[i + 1] !== 10)) n++;
  return n;
}

const isBlankRow = (r: string[]) => r.length === 0 || (r.length === 1 && r[0].trim() === '') || r.every((v) => v.trim() === '');

const QUOTE_AT_END = 'a quoted field is not closed before the end of the file';
const QUOTE_RESUMED = 'a quoted field is not closed before the end of the file; this row fails on its first line and reading goes on at the next line';
/** A physical line end as a person counts lines: \r\n, \n or a lone \r. */
const LINE_END = /\r\n?|\n/g;

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
  // Counted in the decoded text, so that UTF-16 (a NUL in every other byte) is text. A few NULs
  // fail their rows (ENCODING_INVALID); past 1 character in 20 it is not text at all: random
  // bytes are about 1 in 9 control characters, an executable mostly NULs.
  const { nul, control } = binaryChars(headText);
  if (nul + control > headText.length / 20) {
    const what = describeContent(head);
    throw new ImportError('FILE_NOT_TEXT',
      `${file} is not a text file, it looks binary: ${nul} NUL and ${control} other control characters in its first ${head.length} bytes${what.startsWith('starts with bytes') ? `; ${what}` : ''}`, { file });
  }
  const preferTab = /\.(tsv|tab|txt)$/i.test(file);
  const delimiter = opts.delimiter && opts.delimiter !== 'auto' ? opts.delimiter : guessDelimiter(headText, preferTab);
  const headerRow = opts.headerRow ?? 1;
  const batchSize = opts.batchSize ?? DEFAULT_BATCH_ROWS;
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

  const undecided = undecidedSample(enc, head) && head.length < size;
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
    let parser = newParser(delimiter);
    let carry = '';
    const delimCode = delimiter.charCodeAt(0);
    /** The previous text ended with a CR outside quotes: a \n starting the next text is its pair. */
    let skipLF = false;
    let row = 0;
    let batch: SourceRow[] = [];
    let sawBad = false;
    // Whether any text read so far held a NUL (a cell with one fails).
    let sawNul = false;
    let dataRows = 0;
    // Skip mode: a row longer than maxRow; we drop its text and follow its quotes by papaparse's
    // rule (quoteState) to find its end where papaparse would, so that a quote found never to
    // close here is one papaparse would not close either (resync() relies on it).
    // `quoteValues`: its first line, what the row shows if its quote turns out never to close.
    // `plain`: the rest of a first line that resync() fails, dropped to its line end whatever its quotes.
    let skipping: { startRow: number; state: number; chars: number; preview: string[]; quoteValues: string[]; plain?: boolean } | undefined;
    // Set once a quote was found never to close: see resync().
    let recovering = false;
    // Rows up to this one are counted but not emitted: the header, or rows an earlier pass emitted.
    let quietThrough = headerRow;
    // Rows whose never-closed quote was found after their text was dropped (skip mode): where a
    // new pass over the file resyncs instead of skipping.
    const resyncRows = new Set<number>();
    let readAgain = false;

    const emit = (values: string[], err?: { code: 'ROW_QUOTE'; resumed: boolean }) => {
      row++;
      if (row <= quietThrough) return;
      if (isBlankRow(values) && !err) return;
      if (restore) values = values.map(restoreCell);
      dataRows++;
      const r: SourceRow = { row, values };
      if (err) {
        r.error = new ImportError('ROW_QUOTE', err.resumed ? QUOTE_RESUMED : QUOTE_AT_END, { file, row });
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
      let chars = 0;
      if (!r.error) {
        // A row that fits in one read chunk never reaches the carry check in feed(), so the
        // row cap is applied here too: the same limit whatever the chunk size.
        chars = values.length - 1;
        for (const v of values) chars += v.length;
        if (chars > maxRow) {
          r.error = new ImportError('ROW_TOO_LARGE', `row has ${chars} characters, more than the row cap of ${maxRow} (--max-row-kb)`, { file, row });
          r.values = values.map((x) => (x.length > 200 ? x.slice(0, 200) + '…' : x));
        }
      }
      // Cell by cell only when a cell can fail: one longer than the cap (the row is), or text
      // read so far held a replacement character or a NUL (issue #11: 13 checks a row otherwise).
      if (!r.error && (chars > maxCell || sawBad || sawNul)) {
        for (let i = 0; i < values.length; i++) {
          const v = values[i];
          if (v.length > maxCell) {
            r.error = new ImportError('ROW_TOO_LARGE', `cell has ${v.length} characters, more than the cap of ${maxCell}`, { file, row, column: headers[i] });
            r.values = values.map((x) => (x.length > 200 ? x.slice(0, 200) + '…' : x));
            break;
          }
          if (sawBad && v.includes('\uFFFD')) {
            r.error = new ImportError('ENCODING_INVALID', `bytes that are not valid ${source.info.encoding}, shown as \uFFFD`, { file, row, column: headers[i] });
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

    /** The cells of a row's first line, as failed.csv shows a row whose quote never closes; long ones cut like ROW_TOO_LARGE's. */
    const firstLineValues = (line: string): string[] => {
      const long = line.length > maxRow;
      const values = newParser(delimiter).parse(long ? line.slice(0, 2000) : line, 0, false).data[0] ?? [''];
      return long || values.some((v) => v.length > maxCell) ? values.map((x) => (x.length > 200 ? x.slice(0, 200) + '…' : x)) : values;
    };

    const oversize = (s: NonNullable<typeof skipping>) => {
      row++;
      if (row <= quietThrough) return;
      dataRows++;
      const where = { file, row };
      batch.push({
        row,
        values: s.preview,
        error: new ImportError('ROW_TOO_LARGE',
          `row is longer than the row cap of ${maxRow} characters (${s.chars} read; --max-row-kb); a quote is probably not closed`, where),
      });
    };

    /** Consume text in skip mode; returns the text after the skipped row ends, or undefined. */
    const skipThrough = (text: string): string | undefined => {
      const s = skipping!;
      for (let i = 0; i < text.length; i++) {
        if (s.state === QUOTED) {
          // Inside quotes only the next quote matters: a runaway quote's megabytes go by at indexOf speed.
          const q = text.indexOf('"', i);
          if (q === -1) break;
          i = q;
        }
        const ch = text.charCodeAt(i);
        if (ch !== 10 && ch !== 13) { if (!s.plain) s.state = quoteState(s.state, ch, delimCode); }
        else if (s.state !== QUOTED) {
          s.chars += i;
          if (!s.plain) oversize(s);
          skipping = undefined;
          if (ch === 13 && text.charCodeAt(i + 1) === 10) i++;
          else if (ch === 13 && i === text.length - 1) skipLF = true;
          return text.slice(i + 1);
        }
      }
      s.chars += text.length;
      return undefined;
    };

    /**
     * `text` starts with a row whose quote is never closed: left alone it would hold every
     * later line. The row fails on its first line and reading resumes at the next physical
     * line. From then on a row still open at a line end is such a row too, and is resynced at
     * once instead of at the end of the file: no quote after one that never closes can close
     * a field opened later (papaparse would have closed the first field there), so a good row
     * after it never spans lines. Resynced text is fed in pieces that end after a line holding a
     * quote, so that many stray quotes cost each line at most two parses, not one parse of the
     * rest of the file per quote.
     */
    const resync = (text: string, atEnd: boolean) => {
      LINE_END.lastIndex = 0;
      const m = LINE_END.exec(text);
      const restAt = m ? m.index + m[0].length : text.length;
      emit(firstLineValues(m ? text.slice(0, m.index) : text), { code: 'ROW_QUOTE', resumed: restAt < text.length || !atEnd });
      recovering = true;
      if (!m) {
        // The first line goes on past this text: drop the rest of it as it streams in.
        if (!atEnd) skipping = { startRow: row, state: UNQUOTED, chars: 0, preview: [], quoteValues: [], plain: true };
        return;
      }
      if (m[0] === '\r' && restAt === text.length) skipLF = true;
      for (let from = restAt; from < text.length;) {
        // Each piece ends with the next line holding a quote: the lines before it cannot hold a
        // stray one, and a stray one found there leaves nothing of the piece to parse again.
        const q = text.indexOf('"', from);
        let to = text.length;
        if (q !== -1) {
          LINE_END.lastIndex = q;
          const e = LINE_END.exec(text);
          if (e) to = e.index + e[0].length;
        }
        feed(text.slice(from, to), false);
        from = to;
      }
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
      if (final && res.errors.length) {
        const open = res.errors.find((e) => e.code === 'MissingQuotes')?.row;
        if (open !== undefined) {
          // The last row's quote is never closed (it is always the last row: it ran to the end).
          for (let i = 0; i < open; i++) emit(res.data[i]);
          resync(input.slice(open === 0 ? 0 : newParser(delimiter).parse(input, 0, true).meta.cursor), true);
          end('');
          return;
        }
      }
      for (let i = 0; i < res.data.length; i++) emit(res.data[i]);
      if (!final) {
        carry = input.slice(res.meta.cursor);
        if (recovering && (carry.indexOf('\n') !== -1 || carry.indexOf('\r') !== -1)) {
          const open = carry;
          carry = '';
          resync(open, false);
          return;
        }
        if (carry.length > maxRow) {
          if (resyncRows.has(row + 1)) {
            const open = carry;
            carry = '';
            resync(open, false);
            return;
          }
          const state = lineEnds(carry, delimCode, AT_START, false).state;
          const preview = carry.slice(0, 2000).split(delimiter).slice(0, width).map((v) => (v.length > 200 ? v.slice(0, 200) + '…' : v));
          const eol = carry.search(/[\r\n]/);
          skipping = { startRow: row + 1, state, chars: carry.length, preview, quoteValues: firstLineValues(eol === -1 ? carry : carry.slice(0, eol)) };
          carry = '';
        }
      }
    };

    /**
     * The end of the text. A row in skip mode whose quote never closed fails; its text after its
     * first line was dropped, so the file is read again (readAgain) and resynced there.
     */
    const end = (tail: string) => {
      if (!skipping) { feed(tail, true); return; }
      const s = skipping;
      if (skipThrough(tail + '\n') !== undefined || s.plain) { skipping = undefined; return; }
      skipping = undefined;
      row++;
      dataRows++;
      batch.push({ row, values: s.quoteValues, error: new ImportError('ROW_QUOTE', QUOTE_RESUMED, { file, row }) });
      resyncRows.add(row);
      quietThrough = row;
      readAgain = true;
    };

    try {
      // One pass over the file, but for a row whose quote never closes found after its text
      // was dropped: then one more pass per such row, emitting only the rows after it.
      for (let pass = 0; ; pass++) {
        stream = createReadStream(file, { start: enc.bomLength, highWaterMark: opts.chunkBytes ?? DEFAULT_CHUNK_BYTES });
        // An all-ASCII sample left UTF-8 against Windows-1252 open: the first accented bytes decide.
        const decoder = pass === 0 && undecided
          ? createDeferredDecoder((e) => { source.info.encoding = e; })
          : createDecoder(source.info.encoding as Encoding);
        for await (const chunk of stream) {
          if (pass === 0) {
            bytesRead += (chunk as Buffer).length;
            hasher.update(chunk as Buffer);
          }
          const text = decoder.write(chunk as Buffer);
          if (!sawBad && text.includes('\uFFFD')) sawBad = true;
          if (!sawNul && text.includes('\u0000')) sawNul = true;
          feed(text, false);
          // One chunk can hold many rows: hand them on in batches of batchSize, keep the rest.
          while (batch.length >= batchSize) yield batch.splice(0, batchSize);
        }
        if (pass === 0) digest = hasher.digest('hex');
        const tail = decoder.end();
        if (tail.includes('\uFFFD')) sawBad = true;
        if (tail.includes('\u0000')) sawNul = true;
        readAgain = false;
        end(tail);
        if (!readAgain) break;
        stream.destroy();
        parser = newParser(delimiter);
        carry = '';
        skipLF = false;
        row = 0;
        recovering = false;
      }
      while (batch.length) yield batch.splice(0, batchSize);
      if (dataRows === 0 && row <= headerRow) {
        throw new ImportError('FILE_HEADER_ONLY', `${file} has a header row but no data rows`, { file });
      }
    } finally {
      stream?.destroy();
    }
  }

  return source;
}
