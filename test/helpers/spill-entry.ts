/**
 * Spill entries built from raw keys and payload text, for tests that drive the spill
 * (pipeline/transforms/dedupe-spill.ts) without contacts: the layout EntryEncoder writes,
 * [u32 key bytes][u32 length + key]...[payload].
 */
import type { Spill } from '../../pipeline/transforms/dedupe-spill.js';

export function spillEntry(keys: string[], payload: string): Buffer {
  const parts = keys.map((k) => Buffer.from(k, 'utf8'));
  const head = Buffer.alloc(4);
  head.writeUInt32LE(parts.reduce((a, p) => a + 4 + p.length, 0));
  const withLengths = parts.flatMap((p) => { const n = Buffer.alloc(4); n.writeUInt32LE(p.length); return [n, p]; });
  return Buffer.concat([head, ...withLengths, Buffer.from(payload, 'utf8')]);
}

/** Appends one entry; its record number. */
export function appendEntry(spill: Spill, keys: string[], payload: string): number {
  const e = spillEntry(keys, payload);
  return spill.appendBatch(e, [e.length]);
}

/** Appends entries as one batch (as a row worker's batch arrives); the first one's record number. */
export function appendEntries(spill: Spill, entries: { keys: string[]; payload: string }[]): number {
  const parts = entries.map((e) => spillEntry(e.keys, e.payload));
  const ends: number[] = [];
  let end = 0;
  for (const p of parts) ends.push((end += p.length));
  return spill.appendBatch(Buffer.concat(parts), ends);
}

/** Whether spill record i has this key. */
export function spillHasKey(spill: Spill, i: number, key: string): boolean {
  const k = Buffer.from(key, 'utf8');
  return spill.hasKey(i, k, 0, k.length);
}
