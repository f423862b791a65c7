/**
 * Encoding detection and streaming decode. Bytes are always decoded to strings before
 * parsing: papaparse fed raw Buffers corrupts multi-byte characters that straddle a
 * chunk boundary (FACTS.md). TextDecoder with {stream: true} carries partial sequences
 * across chunks.
 */
import { isAscii } from 'node:buffer';

export type Encoding = 'utf-8' | 'utf-16le' | 'utf-16be' | 'windows-1252';

export interface Detected {
  encoding: Encoding;
  /** Bytes of BOM to skip. */
  bomLength: number;
  /** How it was decided, for the report. */
  how: 'bom' | 'declared' | 'sniffed';
}

export function detectEncoding(head: Buffer, declared: string | undefined): Detected {
  if (head.length >= 3 && head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) {
    return { encoding: 'utf-8', bomLength: 3, how: 'bom' };
  }
  if (head.length >= 2 && head[0] === 0xff && head[1] === 0xfe) return { encoding: 'utf-16le', bomLength: 2, how: 'bom' };
  if (head.length >= 2 && head[0] === 0xfe && head[1] === 0xff) return { encoding: 'utf-16be', bomLength: 2, how: 'bom' };
  if (declared && declared !== 'auto') {
    const enc: Encoding = declared === 'latin1' ? 'windows-1252' : (declared as Encoding);
    return { encoding: enc, bomLength: 0, how: 'declared' };
  }
  const utf16 = sniffUtf16(head);
  if (utf16) return { encoding: utf16, bomLength: 0, how: 'sniffed' };
  return { encoding: looksUtf8(head) ? 'utf-8' : 'windows-1252', bomLength: 0, how: 'sniffed' };
}

/**
 * UTF-8, or Windows-1252? Valid UTF-8 is UTF-8. A UTF-8 export with a few corrupt bytes is
 * still UTF-8 (its valid multi-byte sequences outnumber the bad ones, and the reader fails
 * just the rows with bad bytes); Windows-1252 accents almost never form valid sequences.
 */
function looksUtf8(buf: Buffer): boolean {
  let good = 0;
  let bad = 0;
  let i = 0;
  const n = buf.length;
  while (i < n) {
    const b = buf[i];
    if (b < 0x80) { i++; continue; }
    let need: number;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) need = 2;
    else if (b >= 0xf0 && b <= 0xf4) need = 3;
    else { bad++; i++; continue; }
    if (i + need >= n) break; // cut off by the sample's end
    let ok = true;
    for (let k = 1; k <= need; k++) if ((buf[i + k] & 0xc0) !== 0x80) { ok = false; break; }
    if (ok) { good++; i += need + 1; } else { bad++; i++; }
  }
  return bad === 0 || good > bad;
}

/** UTF-16 without BOM: mostly-ASCII text has a NUL in every other byte. */
function sniffUtf16(head: Buffer): Encoding | undefined {
  const n = Math.min(head.length & ~1, 4096);
  if (n < 4) return undefined;
  let evenNul = 0;
  let oddNul = 0;
  for (let i = 0; i < n; i += 2) {
    if (head[i] === 0) evenNul++;
    if (head[i + 1] === 0) oddNul++;
  }
  const pairs = n / 2;
  if (oddNul > pairs * 0.4 && evenNul < pairs * 0.05) return 'utf-16le';
  if (evenNul > pairs * 0.4 && oddNul < pairs * 0.05) return 'utf-16be';
  return undefined;
}

export interface Decoder { write(b: Buffer): string; end(): string }

/** A streaming decoder that never throws: invalid bytes become U+FFFD, which the reader flags per row. */
export function createDecoder(enc: Encoding): Decoder {
  const d = new TextDecoder(enc, { fatal: false, ignoreBOM: true });
  return {
    write: (b) => d.decode(b, { stream: true }),
    end: () => d.decode(),
  };
}

/**
 * True when a sniffed sample cannot tell UTF-8 from Windows-1252: it is all ASCII, which
 * both read alike (an English-only top of an export whose accented names come later).
 */
export function undecidedSample(d: Detected, sample: Buffer): boolean {
  return d.how === 'sniffed' && d.encoding === 'utf-8' && isAscii(sample);
}

/** Shortest run of bytes from the first one over 0x7F that the UTF-8 test decides on. */
const DECIDE_BYTES = 4;

/**
 * For a file whose sample was all ASCII: the first bytes over 0x7F decide between UTF-8 and
 * Windows-1252, by the same test the sample would have had (looksUtf8 on what follows them
 * in that read). Until then the text is ASCII, the same in both. `decided` hears the choice.
 */
export function createDeferredDecoder(decided: (enc: Encoding) => void): Decoder {
  let d: Decoder | undefined;
  /** Bytes from the first one over 0x7F, too few to decide on, waiting for the next read. */
  let held: Buffer | undefined;
  const decide = (b: Buffer) => {
    const enc: Encoding = looksUtf8(b) ? 'utf-8' : 'windows-1252';
    d = createDecoder(enc);
    decided(enc);
    return d;
  };
  return {
    write(b) {
      if (d) return d.write(b);
      if (held) { b = Buffer.concat([held, b]); held = undefined; }
      if (isAscii(b)) return b.toString('latin1');
      let i = 0;
      while (b[i] < 0x80) i++;
      if (b.length - i < DECIDE_BYTES) { held = b.subarray(i); return b.toString('latin1', 0, i); }
      const rest = b.subarray(i);
      return b.toString('latin1', 0, i) + decide(rest).write(rest);
    },
    end() {
      if (d) return d.end();
      if (!held) return '';
      const dec = decide(held);
      return dec.write(held) + dec.end();
    },
  };
}
