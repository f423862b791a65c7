/**
 * JSON text for payload strings, the same bytes as JSON.stringify(s). The file target
 * writes millions of payload lines; building them as text from the canonical contact
 * avoids one throwaway object per payload and JSON.stringify's generic walk over it.
 */

/** True when JSON.stringify would escape a code unit of s: controls, quote, backslash, surrogates. */
function needsEscape(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) return true;
  }
  return false;
}

/** JSON.stringify(s) for a string; plain strings (nearly all) are only quoted. */
export function jsonString(s: string): string {
  return needsEscape(s) ? JSON.stringify(s) : `"${s}"`;
}

/** JSON.stringify(list) for an array of strings. */
export function jsonStrings(list: readonly string[]): string {
  let out = '[';
  for (let i = 0; i < list.length; i++) out += (i ? ',' : '') + jsonString(list[i]);
  return out + ']';
}
