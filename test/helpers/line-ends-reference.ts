/**
 * The reference test/source-csv-line-ends.test.ts holds the CSV reader's `lineEnds()` to:
 * the character-by-character scan it replaced (issue #11), kept here unchanged. Line ends to
 * \n outside quoted fields only; a quote opens a field only at its start, `""` is a quote,
 * and a quote closes the field only before (spaces and) a delimiter or a line end. Not used
 * by the tool.
 */
const AT_START = 0, UNQUOTED = 1, QUOTED = 2, QUOTE_SEEN = 3, QUOTE_SPACES = 4;
const SPACE = /\s/;

export const STATES = { AT_START, UNQUOTED, QUOTED, QUOTE_SEEN, QUOTE_SPACES } as const;

export function referenceLineEnds(text: string, delim: number, state: number, write: boolean): { text: string; state: number; endCR: boolean } {
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
