/**
 * What a file really is, from its bytes rather than its name: people rename CSVs to
 * .xlsx, save HTML tables as .xls, and password-protect workbooks (which turns an XLSX
 * into an OLE2 container). Knowing this before SheetJS runs gives a message a person can
 * act on instead of SheetJS's internal error, and lets us refuse a ZIP bomb from its
 * directory before inflating anything.
 */

import { createInflateRaw } from 'node:zlib';

const ZIP_MAGIC = Buffer.from('504b0304', 'hex');
const ZIP_EMPTY_MAGIC = Buffer.from('504b0506', 'hex');
const OLE_MAGIC = Buffer.from('d0cf11e0a1b11ae1', 'hex');
/** The stream name an encrypted OOXML package carries, as it appears (UTF-16LE) in the OLE2 directory. */
const ENCRYPTED_PACKAGE = Buffer.from('EncryptedPackage', 'utf16le');

export type SniffedFormat = 'xlsx' | 'xls' | 'ole-encrypted' | 'text' | 'unknown';

const BINARY_MAGIC: [string, string][] = [
  ['%PDF-', 'a PDF document'],
  ['\x89PNG', 'a PNG image'],
  ['\xff\xd8\xff', 'a JPEG image'],
  ['GIF8', 'a GIF image'],
  ['\x1f\x8b', 'a gzip archive'],
  ['Rar!', 'a RAR archive'],
  ['7z\xbc\xaf', 'a 7-Zip archive'],
  ['\x7fELF', 'a program (an ELF executable)'],
];

function binaryKind(head: Buffer): string | undefined {
  const s = head.subarray(0, 8).toString('latin1');
  return BINARY_MAGIC.find(([m]) => s.startsWith(m))?.[1];
}

/** Text unless the bytes hold control characters that no CSV export contains. */
function looksLikeText(head: Buffer): boolean {
  if (head.length === 0) return true;
  if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) return true;
  if ((head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff)) return true;
  let even = 0, odd = 0, control = 0;
  for (let i = 0; i < head.length; i++) {
    const b = head[i];
    if (b === 0) { if (i % 2) odd++; else even++; }
    else if ((b < 0x20 && b !== 9 && b !== 10 && b !== 12 && b !== 13 && b !== 0x1a) || b === 0x7f) control++;
  }
  const nul = even + odd;
  // UTF-16 without a BOM: ASCII characters leave a NUL in every other byte, all on one side.
  if (nul > head.length / 4 && Math.min(even, odd) <= nul / 20) return control <= head.length / 50;
  return nul === 0 && control <= head.length / 50;
}

/** The format of a file from its first bytes (512 are enough; more finds an encrypted package more often). */
export function sniffFormat(head: Buffer): SniffedFormat {
  if (head.subarray(0, 4).equals(ZIP_MAGIC) || head.subarray(0, 4).equals(ZIP_EMPTY_MAGIC)) return 'xlsx';
  if (head.subarray(0, 8).equals(OLE_MAGIC)) return head.includes(ENCRYPTED_PACKAGE) ? 'ole-encrypted' : 'xls';
  if (binaryKind(head)) return 'unknown';
  return looksLikeText(head) ? 'text' : 'unknown';
}

/** "starts with "Name,Phone,…"; it looks like CSV text": the tail of a FILE_TYPE_MISMATCH message. */
export function describeContent(head: Buffer): string {
  const kind = binaryKind(head);
  if (!kind && looksLikeText(head)) {
    const text = head.subarray(0, 200).toString(head[0] === 0xff || head[0] === 0xfe ? 'utf16le' : 'utf8')
      .replace(/^\uFEFF/, '').replace(/\uFFFD/g, '');
    const preview = JSON.stringify(text.length > 24 ? text.slice(0, 24) + '…' : text);
    const t = text.trimStart().toLowerCase();
    const what = t.startsWith('<?xml') ? 'XML text'
      : t.startsWith('<') ? 'an HTML page'
      : 'CSV or plain text; rename it to .csv';
    return `starts with ${preview}; it looks like ${what}`;
  }
  const hex = [...head.subarray(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  return `starts with bytes ${hex}; it looks like ${kind ?? 'unrecognized binary data'}`;
}

/** A part as the ZIP central directory declares it: its compression method (8: deflate) and where its local header is. */
export interface ZipEntry { name: string; uncompressed: number; method: number; localOffset: number }

/**
 * The ZIP central directory: every part's name and declared uncompressed size, read
 * without inflating anything. Undefined when there is no intact directory (a file cut
 * short loses it first, since it sits at the end).
 */
export function zipDirectory(buf: Buffer): ZipEntry[] | undefined {
  if (buf.length < 22) return undefined;
  let eocd = -1;
  for (let i = buf.length - 22, min = Math.max(0, buf.length - 22 - 0xffff); i >= min; i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) { eocd = i; break; }
  }
  if (eocd < 0) return undefined;
  const count = buf.readUInt16LE(eocd + 10);
  const cdSize = buf.readUInt32LE(eocd + 12);
  const cdOffset = buf.readUInt32LE(eocd + 16);
  if (count === 0xffff || cdOffset === 0xffffffff) {
    // ZIP64: only archives beyond 4 GiB or 65,535 parts need it, far past any cap of ours.
    return [{ name: '(zip64)', uncompressed: Number.POSITIVE_INFINITY, method: 0, localOffset: 0 }];
  }
  if (cdOffset + cdSize > eocd) return undefined;
  const out: ZipEntry[] = [];
  let p = cdOffset;
  for (let n = 0; n < count; n++) {
    if (p + 46 > eocd || buf.readUInt32LE(p) !== 0x02014b50) return undefined;
    const size = buf.readUInt32LE(p + 24);
    const nameLen = buf.readUInt16LE(p + 28);
    const skip = buf.readUInt16LE(p + 30) + buf.readUInt16LE(p + 32);
    out.push({
      name: buf.toString('utf8', p + 46, p + 46 + nameLen),
      uncompressed: size === 0xffffffff ? Number.POSITIVE_INFINITY : size,
      method: buf.readUInt16LE(p + 10),
      localOffset: buf.readUInt32LE(p + 42),
    });
    p += 46 + nameLen + skip;
  }
  return out;
}

/** For a ZIP that is not a workbook: what it is instead, from its part names. */
export function describeZip(entries: ZipEntry[]): string | undefined {
  const names = entries.map((e) => e.name.toLowerCase());
  if (names.some((n) => n === 'xl/workbook.xml' || n === 'xl/workbook.bin' || n === 'content.xml' || n.startsWith('xl/'))) return undefined;
  if (names.some((n) => n.startsWith('word/'))) return 'a Word document';
  if (names.some((n) => n.startsWith('ppt/'))) return 'a PowerPoint presentation';
  return 'a ZIP archive with no workbook in it';
}

/**
 * The first deflated part whose data does not inflate to its declared size, and why; undefined
 * when every one does. Inflated here with zlib from where the workbook reader starts (after the
 * part's local header) because that reader's own inflater never stops on some damaged data (it
 * reads past the end as zero bits and writes on for ever): a workbook with a few flipped bytes
 * hung the run. Streamed, the output counted and dropped, so no part is held twice in memory.
 */
export async function damagedZipPart(buf: Buffer, entries: readonly ZipEntry[]): Promise<{ name: string; why: string } | undefined> {
  for (const e of entries) {
    if (e.method !== 8) continue; // stored parts are copied; another method the reader refuses itself
    const start = partDataStart(buf, e);
    if (start === undefined) return { name: e.name, why: 'its local header is missing' };
    const why = await inflateProblem(buf.subarray(start), e.uncompressed);
    if (why) return { name: e.name, why };
  }
  return undefined;
}

/** Where a part's (compressed) data starts: after its local header, whose name and extra field lengths it reads; undefined without one. */
export function partDataStart(buf: Buffer, e: ZipEntry): number | undefined {
  const at = e.localOffset;
  if (at + 30 > buf.length || buf.readUInt32LE(at) !== 0x04034b50) return undefined;
  return at + 30 + buf.readUInt16LE(at + 26) + buf.readUInt16LE(at + 28);
}

/** Why `data` does not inflate to exactly `size` bytes (what follows its deflate stream is ignored), or undefined. */
function inflateProblem(data: Buffer, size: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const z = createInflateRaw();
    let n = 0;
    z.on('data', (chunk: Buffer) => {
      n += chunk.length;
      if (n > size) { z.destroy(); resolve(`it inflates to more than the ${size} bytes declared`); }
    });
    z.on('end', () => resolve(n === size ? undefined : `it inflates to ${n} bytes, not the ${size} declared`));
    z.on('error', (err) => resolve(err.message));
    z.end(data);
  });
}
