/**
 * JSON text for payload strings, written as UTF-8 straight into a ByteBuilder: the same
 * bytes as Buffer.from(JSON.stringify(s)). The file target writes millions of payload lines;
 * writing them byte by byte from the canonical contact avoids a throwaway object per payload,
 * JSON.stringify's generic walk, and the line as a string of many pieces that V8 copies whole
 * (flattens) before it encodes it (issue #11).
 */
import type { ByteBuilder } from '../bytes.js';

const HEX = '0123456789abcdef';

/** JSON.stringify's escape of code unit c (a control, quote, backslash or lone surrogate), written at `at` of `b`; the new end. */
function escapeAt(b: Buffer, at: number, c: number): number {
  b[at++] = 0x5c; // backslash
  switch (c) {
    case 0x22: b[at++] = 0x22; return at;
    case 0x5c: b[at++] = 0x5c; return at;
    case 0x08: b[at++] = 0x62; return at; // \b
    case 0x09: b[at++] = 0x74; return at; // \t
    case 0x0a: b[at++] = 0x6e; return at; // \n
    case 0x0c: b[at++] = 0x66; return at; // \f
    case 0x0d: b[at++] = 0x72; return at; // \r
  }
  b[at++] = 0x75; // \uXXXX, lower-case hex as JSON.stringify writes it
  for (let shift = 12; shift >= 0; shift -= 4) b[at++] = HEX.charCodeAt((c >> shift) & 15);
  return at;
}

/** Appends JSON.stringify(s) to `out` as UTF-8. */
export function writeJsonString(out: ByteBuilder, s: string): void {
  const n = s.length;
  // The worst case is 6 bytes per code unit (\u001f, a lone surrogate), plus the quotes.
  const b = out.room(6 * n + 2);
  let at = out.used;
  b[at++] = 0x22;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) {
      if (c >= 0x20 && c !== 0x22 && c !== 0x5c) b[at++] = c;
      else at = escapeAt(b, at, c);
    } else if (c < 0x800) {
      b[at++] = 0xc0 | (c >> 6);
      b[at++] = 0x80 | (c & 0x3f);
    } else if (c < 0xd800 || c > 0xdfff) {
      b[at++] = 0xe0 | (c >> 12);
      b[at++] = 0x80 | ((c >> 6) & 0x3f);
      b[at++] = 0x80 | (c & 0x3f);
    } else {
      const d = i + 1 < n ? s.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
        const cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        b[at++] = 0xf0 | (cp >> 18);
        b[at++] = 0x80 | ((cp >> 12) & 0x3f);
        b[at++] = 0x80 | ((cp >> 6) & 0x3f);
        b[at++] = 0x80 | (cp & 0x3f);
        i++;
      } else {
        at = escapeAt(b, at, c);
      }
    }
  }
  b[at++] = 0x22;
  out.used = at;
}

/** Appends JSON.stringify(list) for an array of strings. */
export function writeJsonStrings(out: ByteBuilder, list: readonly string[]): void {
  out.byte(0x5b); // [
  for (let i = 0; i < list.length; i++) {
    if (i) out.byte(0x2c); // ,
    writeJsonString(out, list[i]);
  }
  out.byte(0x5d); // ]
}
