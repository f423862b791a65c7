/**
 * The header rule, shared by every source, documented in mappings/README.md:
 *  1. each name is trimmed (and a stray BOM removed);
 *  2. a blank name becomes "Column N", N being its 1-based position;
 *  3. a name seen before (case-sensitive, after 1 and 2) gets " (2)", " (3)"… in order of
 *     appearance, skipping suffixes that are already taken.
 * The rule is deterministic, so a mapping written against one export keeps working.
 */
export function normalizeHeaders(raw: readonly string[]): string[] {
  const out: string[] = [];
  const taken = new Set<string>();
  const base = raw.map((h, i) => {
    const t = String(h ?? '').replace(/^\uFEFF/, '').trim();
    return t === '' ? `Column ${i + 1}` : t;
  });
  for (const name of base) taken.add(name);
  const seen = new Set<string>();
  for (const name of base) {
    if (!seen.has(name)) {
      seen.add(name);
      out.push(name);
      continue;
    }
    let n = 2;
    while (taken.has(`${name} (${n})`)) n++;
    const unique = `${name} (${n})`;
    taken.add(unique);
    seen.add(unique);
    out.push(unique);
  }
  return out;
}
