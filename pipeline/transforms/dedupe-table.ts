/**
 * The dedupe index's memory: a fingerprint table for match keys and growable integer
 * columns for per-record state, all in typed arrays (no per-record JS objects).
 */

/** murmur3's finalizer: spreads a 32-bit fingerprint over all bits, so any slice of it can pick a slot. */
function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const MAX_LOAD = 0.8;
const SHARD_BITS = 6;
const SHARDS = 1 << SHARD_BITS;
const HOME_BITS = 32 - SHARD_BITS;
const HOME_RANGE = 2 ** HOME_BITS;
const HOME_MASK = HOME_RANGE - 1;

/**
 * Open addressing, linear probing: a 32-bit fingerprint of a key -> the first record that
 * had the key. Each slot is two Uint32 side by side (fingerprint, record), so one probe
 * touches one cache line. The slot comes from the fingerprint itself, which is what lets
 * the table grow without keeping the full hash: keys can only be confused when their whole
 * fingerprints are equal, and the caller confirms every fingerprint hit against the real
 * key. The table is 64 shards (by the fingerprint's top bits) that grow one at a time, so
 * growing never holds an old and a new copy of the whole table; a shard's capacity is any
 * whole number (the slot is `mix * capacity / 2^26`) and grows by half, so shards sit
 * between 53% and 80% full instead of between 25% and 50%.
 */
export class FingerprintTable {
  private readonly slots: Uint32Array[] = [];
  private readonly caps: number[] = [];
  private readonly used: number[] = [];
  private total = 0;

  constructor(initial = 1 << 16) {
    const per = Math.max(4, Math.ceil(initial / SHARDS));
    for (let i = 0; i < SHARDS; i++) {
      this.slots.push(new Uint32Array(per * 2));
      this.caps.push(per);
      this.used.push(0);
    }
  }

  /** A hash of any width to a non-zero 32-bit fingerprint (0 marks an empty slot). */
  static fingerprint(h: number): number {
    return (h >>> 0) || 1;
  }

  /** Calls `confirm(rec)` for each stored record with this fingerprint until it returns true; -1 when none does. */
  find(fp: number, confirm: (rec: number) => boolean): number {
    return this.probe(fp, confirm, -1);
  }

  /**
   * As find(), and when no stored record is confirmed, stores `rec` under `fp` where the
   * search ended (one probe sequence instead of two) and returns -1.
   */
  findOrInsert(fp: number, rec: number, confirm: (rec: number) => boolean): number {
    return this.probe(fp, confirm, rec);
  }

  /** find() (`rec` -1) or findOrInsert(): the one probe sequence. */
  private probe(fp: number, confirm: (rec: number) => boolean, rec: number): number {
    const m = mix32(fp);
    const shard = m >>> HOME_BITS;
    if (rec >= 0 && this.used[shard] + 1 > this.caps[shard] * MAX_LOAD) this.grow(shard);
    const s = this.slots[shard];
    const cap = this.caps[shard];
    for (let i = Math.floor(((m & HOME_MASK) * cap) / HOME_RANGE); ;) {
      const f = s[i * 2];
      if (f === 0) {
        if (rec >= 0) {
          s[i * 2] = fp;
          s[i * 2 + 1] = rec;
          this.used[shard]++;
          this.total++;
        }
        return -1;
      }
      if (f === fp && confirm(s[i * 2 + 1])) return s[i * 2 + 1];
      if (++i === cap) i = 0;
    }
  }

  private grow(shard: number): void {
    const old = this.slots[shard];
    const cap = Math.ceil(this.caps[shard] * 1.5);
    const next = new Uint32Array(cap * 2);
    for (let i = 0; i < old.length; i += 2) if (old[i] !== 0) place(next, cap, mix32(old[i]), old[i], old[i + 1]);
    this.slots[shard] = next;
    this.caps[shard] = cap;
  }

  get entries(): number { return this.total; }
  get bytes(): number { return this.slots.reduce((a, s) => a + s.byteLength, 0); }
}

function place(s: Uint32Array, cap: number, m: number, fp: number, rec: number): void {
  let i = Math.floor(((m & HOME_MASK) * cap) / HOME_RANGE);
  while (s[i * 2] !== 0) if (++i === cap) i = 0;
  s[i * 2] = fp;
  s[i * 2 + 1] = rec;
}

const CHUNK_BITS = 16;
const CHUNK = 1 << CHUNK_BITS;
const CHUNK_MASK = CHUNK - 1;

/**
 * A column of numbers indexed by record number that grows 64k entries at a time: no
 * doubling (up to half of a doubled array is never used) and no copy (the old and new
 * arrays never coexist at the moment of growth).
 */
class Column<A extends Int32Array | Float64Array> {
  private readonly chunks: A[] = [];
  constructor(private readonly make: (n: number) => A) {}

  /** Makes room for index n - 1. */
  ensure(n: number): void {
    while (this.chunks.length * CHUNK < n) this.chunks.push(this.make(CHUNK));
  }
  get(i: number): number { return this.chunks[i >>> CHUNK_BITS][i & CHUNK_MASK]; }
  set(i: number, v: number): void { this.chunks[i >>> CHUNK_BITS][i & CHUNK_MASK] = v; }
  get bytes(): number { return this.chunks.reduce((a, c) => a + c.byteLength, 0); }
}

export class IntColumn extends Column<Int32Array> {
  constructor() { super((n) => new Int32Array(n)); }
}
export class OffsetColumn extends Column<Float64Array> {
  constructor() { super((n) => new Float64Array(n)); }
}
