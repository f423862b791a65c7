/**
 * importContacts answers counts (`success`, `merged`) and a list of failed contacts by
 * their values, not by row. This turns that answer back into one outcome per row sent,
 * saying plainly where the API does not let us know which row is which.
 */
import type { LoadOutcome } from '../types.js';
import type { ImportAnswer, ImportFailure } from './client.js';

export interface ReconcileInput {
  /** 1-based chunk number, for messages. */
  chunk: number;
  /** Property key of each column, in file order. */
  keys: readonly string[];
  /** The column names as the upload answered them (same order as keys). */
  fileColumns?: readonly string[];
  /** The values sent, one array per row, in file order. */
  rows: readonly (readonly string[])[];
  answer: ImportAnswer;
}

export interface ReconcileResult {
  /** One outcome per row, same order as `rows`. */
  outcomes: LoadOutcome[];
  /** Lines for the run's notes. */
  notes: string[];
}

/** A property value as text, whether bare (importContacts' failed[]) or {value, type} (getContacts). */
export function valueOf(v: unknown): string {
  if (v && typeof v === 'object' && 'value' in v) return valueOf((v as { value: unknown }).value);
  if (v === null || v === undefined) return '';
  return typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);
}

const PHONE_LIKE = /^[+\d\s().-]+$/;

/** Equal as Samespace would likely store them: trimmed, without case, phones by digits. */
export function sameValue(a: string, b: string): boolean {
  const x = a.trim().replace(/\s+/g, ' ').toLowerCase();
  const y = b.trim().replace(/\s+/g, ' ').toLowerCase();
  if (x === y) return true;
  if (PHONE_LIKE.test(x) && PHONE_LIKE.test(y)) {
    const dx = x.replace(/\D/g, '');
    const dy = y.replace(/\D/g, '');
    return dx.length >= 5 && dx === dy;
  }
  return false;
}

/**
 * The row a failure refers to: among rows not yet matched, those whose value of the
 * property the entry's `key` names is equal (a missing value counts as empty), the one
 * agreeing on most of the other properties; if none agrees on the key, the first row
 * agreeing on every property the entry carries.
 */
function matchFailure(f: ImportFailure, input: ReconcileInput, index: ReadonlyMap<string, number>, taken: boolean[]): number {
  const pairs: [number, string][] = [];
  const given = new Set<number>();
  for (const [k, v] of Object.entries(f.contact)) {
    const i = index.get(k.toLowerCase());
    if (i === undefined || given.has(i)) continue;
    given.add(i);
    pairs.push([i, valueOf(v)]);
  }
  const agreeing = (row: readonly string[]) => pairs.filter(([i, v]) => sameValue(row[i] ?? '', v)).length;
  const keyIdx = f.key ? index.get(f.key.toLowerCase()) : undefined;
  if (keyIdx !== undefined) {
    const keyVal = pairs.find(([i]) => i === keyIdx)?.[1] ?? '';
    let best = -1;
    let bestScore = -1;
    input.rows.forEach((row, r) => {
      if (taken[r] || !sameValue(row[keyIdx] ?? '', keyVal)) return;
      const score = agreeing(row);
      if (score > bestScore) { best = r; bestScore = score; }
    });
    if (best >= 0) return best;
  }
  if (pairs.length === 0) return -1;
  return input.rows.findIndex((row, r) => !taken[r] && agreeing(row) === pairs.length);
}

export function reconcile(input: ReconcileInput): ReconcileResult {
  const { chunk, rows, answer } = input;
  const n = rows.length;
  const outcomes: (LoadOutcome | undefined)[] = new Array(n).fill(undefined);
  const taken: boolean[] = new Array(n).fill(false);
  const notes: string[] = [];
  const unmatched: ImportFailure[] = [];
  // Column index by lower-case property key, else by the column name the upload answered.
  const index = new Map<string, number>();
  input.keys.forEach((k, i) => index.set(k.toLowerCase(), i));
  input.fileColumns?.forEach((c, i) => { if (!index.has(c.toLowerCase())) index.set(c.toLowerCase(), i); });

  for (const f of answer.failed) {
    const r = matchFailure(f, input, index, taken);
    if (r < 0) { unmatched.push(f); continue; }
    taken[r] = true;
    outcomes[r] = { status: 'failed', code: 'TARGET_REJECTED', error: `Samespace: ${f.reason}${f.key ? ` (key: ${f.key})` : ''}` };
  }
  if (unmatched.length) {
    notes.push(`chunk ${chunk}: Samespace reported ${unmatched.length} failure(s) that match no row sent: ` +
      unmatched.map((f) => `${f.reason}${f.key ? ` (key: ${f.key})` : ''} ${JSON.stringify(f.contact)}`).join('; '));
  }

  const accounted = answer.success + answer.merged + answer.failed.length;
  if (accounted !== n) notes.push(`chunk ${chunk}: sent ${n}, Samespace accounted for ${accounted}`);

  const open = outcomes.map((o, i) => (o ? -1 : i)).filter((i) => i >= 0);
  const attribution = answer.merged > 0
    ? `Samespace reported ${answer.merged} merged of ${n} in chunk ${chunk}; which rows were merged is not reported by the API`
    : undefined;
  if (attribution) notes.push(attribution);

  let successLeft = answer.success;
  let mergedLeft = answer.merged;
  const short = open.length - Math.min(open.length, answer.success + answer.merged);
  for (const i of open) {
    const rowNotes = attribution ? [attribution] : [];
    if (successLeft > 0) {
      successLeft--;
      outcomes[i] = { status: 'success', action: 'imported', notes: rowNotes };
    } else if (mergedLeft > 0) {
      mergedLeft--;
      outcomes[i] = { status: 'merged', action: 'merged-by-target', notes: rowNotes };
    } else {
      const why = unmatched.length
        ? `; it reported ${unmatched.length} failure(s) it did not tie to a row: ${unmatched.map((f) => f.reason).join('; ')}`
        : '';
      outcomes[i] = {
        status: 'failed', code: 'TARGET_REJECTED',
        error: `Samespace did not account for this row (chunk ${chunk})${why}`,
        notes: [...rowNotes, `Samespace's answer leaves ${short} of ${n} rows in chunk ${chunk} unaccounted for without saying which; the last ${short} are reported failed`],
      };
    }
  }
  return { outcomes: outcomes as LoadOutcome[], notes };
}
