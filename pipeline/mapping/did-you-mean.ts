/**
 * "Did you mean": the option a misspelt column or mapping key most likely meant. A module
 * of its own so that compiling a mapping against a header (transforms/map.ts, also in every
 * row worker) does not load the YAML parser and the schema library with it: ≈ 6 MB of heap
 * per worker thread.
 */
import { distance } from 'fastest-levenshtein';

/** Letters and digits only, lower case, accents gone: "E-Mail Adress" and "email adress" meet. */
const squash = (s: string) => s.normalize('NFKD').replace(/\p{M}+/gu, '').toLowerCase().replace(/[^\p{L}\p{N}]+/gu, '');
/** Words as a person sees them: "EMail Adress" -> ["email", "adress"]. */
const words = (s: string) => s.normalize('NFKD').replace(/\p{M}+/gu, '').toLowerCase().split(/[^\p{L}\p{N}]+/u).filter(Boolean);

/**
 * Suggest the option `word` most likely meant, or nothing when none is close enough to
 * be a typo. In order: the same letters and digits (case, spaces and punctuation aside:
 * "first_name" -> "firstName"); a few edits away on those ("Emial" -> "Email", "EMail
 * Adress" -> "Email Address"), never replacing most of a short word; one of them is the
 * other's leading words ("EMail Adress" -> "Email", "Phone" -> "Phone Number"), when only
 * one option is. Anything further is not suggested: a wrong guess misleads more than none.
 */
export function didYouMean(word: string, options: readonly string[]): string | undefined {
  if (!options.length) return undefined;
  const w = squash(word);
  if (!w) return undefined;
  const same = options.find((o) => squash(o) === w);
  if (same !== undefined) return same;

  let best: string | undefined;
  let bestD = Infinity;
  for (const o of options) {
    const d = distance(w, squash(o));
    if (d < bestD) { best = o; bestD = d; }
  }
  if (best !== undefined) {
    const b = squash(best);
    if (bestD <= Math.max(2, Math.floor(b.length / 3)) && bestD < Math.min(w.length, b.length)) return best;
  }

  const ww = words(word);
  const leading = options.filter((o) => {
    const ow = words(o);
    const [short, long] = ow.length <= ww.length ? [ow, ww] : [ww, ow];
    return short.length > 0 && short.length < long.length && short.join('').length >= 3 && short.every((x, i) => x === long[i]);
  });
  return leading.length === 1 ? leading[0] : undefined;
}
