/**
 * The dedupe stage: the one stage that must see every record before it can decide.
 *
 * Memory is kept independent of row width:
 *  - records are spilled to a temp file as they arrive (one JSON line each); the heap
 *    holds only their offsets;
 *  - match keys live in an open-addressing table of 53-bit hashes (Float64Array) to
 *    record numbers (Int32Array), never as strings. A hash hit is confirmed against the
 *    real key of the stored record (read back from the spill) before anything merges,
 *    so a hash collision can never merge two different contacts;
 *  - clusters are a union-find over record numbers (Int32Array), so matches are
 *    transitive: A~B by phone and B~C by email make A, B, C one contact.
 * The root of a cluster is always its earliest record, so the output order (by each
 * cluster's first row) and the surviving reference are deterministic.
 */
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { phoneKey, type Contact, type ContactRecord } from '../contact.js';
import type { Mapping } from '../mapping/schema.js';
import { mergeMembers, type Member } from './merge.js';

export type KeyKind = 'id' | 'phone' | 'email' | 'nameCompany';
const KINDS: KeyKind[] = ['id', 'phone', 'email', 'nameCompany'];

/** A match key of a contact: `value` is compared, `display` goes to merged.csv. */
interface Key { kind: number; pos: number; value: string }

/** 53-bit string hash (cyrb53): fast, well spread, and exact in a float64. */
export function cyrb53(str: string, seed = 0): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < str.length; i++) {
    const ch = str.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** Name or company folded for matching: accents, case, punctuation and spacing do not count. */
export function foldText(s: string): string {
  return s.normalize('NFKD').replace(/\p{M}+/gu, '').toLowerCase().replace(/[^\p{L}\p{N}]+/gu, ' ').trim();
}

export interface DedupeOptions {
  keys: readonly KeyKind[];
  scope: 'global' | 'owner';
  rules: Mapping['dedupe']['rules'];
  idFrom: Mapping['dedupe']['idFrom'];
  /** Where the spill file goes (default: the OS temp folder). */
  tmpDir?: string;
  /** Replaceable for tests that force collisions. */
  hash?: (s: string) => number;
  /** Records per emitted batch. */
  batchSize?: number;
}

export function dedupeOptionsFrom(m: Mapping): DedupeOptions {
  return { keys: m.dedupe.keys, scope: m.dedupe.scope, rules: m.dedupe.rules, idFrom: m.dedupe.idFrom };
}

/** The match keys of a contact, in a fixed order; `pos` indexes into phones/emails. */
function keysOf(c: Contact, kinds: readonly KeyKind[], scope: 'global' | 'owner'): Key[] {
  const pre = scope === 'owner' ? `${c.owner ?? ''}\u0001` : '';
  const out: Key[] = [];
  for (const k of kinds) {
    switch (k) {
      case 'id': if (c.id) out.push({ kind: 0, pos: 0, value: `${pre}i\u0002${c.id.trim()}` }); break;
      case 'phone':
        c.phones.forEach((p, i) => out.push({ kind: 1, pos: i, value: `${pre}p\u0002${phoneKey(p)}` }));
        break;
      case 'email': c.emails.forEach((e, i) => out.push({ kind: 2, pos: i, value: `${pre}e\u0002${e.toLowerCase()}` })); break;
      case 'nameCompany': {
        const name = c.name ?? [c.firstName, c.lastName].filter(Boolean).join(' ');
        if (name && c.company) out.push({ kind: 3, pos: 0, value: `${pre}n\u0002${foldText(name)}|${foldText(c.company)}` });
        break;
      }
    }
  }
  return out;
}

/** The key as merged.csv shows it: phone=+14155552671, email=a@b.example, id=C-1, nameCompany=john smith|acme. */
function displayKey(c: Contact, kind: number, pos: number): string {
  switch (kind) {
    case 0: return `id=${c.id ?? ''}`;
    case 1: { const p = c.phones[pos]; return p ? `phone=${phoneKey(p)}` : 'phone'; }
    case 2: return `email=${(c.emails[pos] ?? '').toLowerCase()}`;
    default: {
      const name = c.name ?? [c.firstName, c.lastName].filter(Boolean).join(' ');
      return `nameCompany=${foldText(name)}|${foldText(c.company ?? '')}`;
    }
  }
}

const serialize = (r: ContactRecord) => JSON.stringify([r.contact, r.ref.file, r.ref.row, r.ref.values, r.notes, r.date ?? null]);
function deserialize(s: string): ContactRecord {
  const [contact, file, row, values, notes, date] = JSON.parse(s) as [Contact, number, number, string[], string[], string | null];
  return { contact, ref: { file, row, values }, merged: [], conflicts: [], notes, date: date ?? undefined };
}

const RING_MASK = 4095;

/** Append-only record file with random access by record number. */
class Spill {
  private readonly dir: string;
  private readonly fd: number;
  private offsets = new Float64Array(1024);
  private count = 0;
  private written = 0; // bytes on disk
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private end = 0; // bytes written + pending
  private window = Buffer.alloc(0);
  private readonly recent: string[] = new Array<string>(RING_MASK + 1);
  private readonly recentIds = new Int32Array(RING_MASK + 1).fill(-1);
  private windowAt = -1;

  constructor(parent: string) {
    this.dir = mkdtempSync(join(parent, 'contact-import-dedupe-'));
    this.fd = openSync(join(this.dir, 'records.jsonl'), 'w+');
  }

  get size() { return this.count; }

  append(line: string): number {
    const slot = this.count & RING_MASK;
    this.recent[slot] = line;
    this.recentIds[slot] = this.count;
    const b = Buffer.from(line, 'utf8');
    if (this.count + 1 >= this.offsets.length) {
      const next = new Float64Array(this.offsets.length * 2);
      next.set(this.offsets);
      this.offsets = next;
    }
    this.offsets[this.count] = this.end;
    this.end += b.length;
    this.offsets[this.count + 1] = this.end;
    this.pending.push(b);
    this.pendingBytes += b.length;
    if (this.pendingBytes >= 1 << 20) this.flush();
    return this.count++;
  }

  private flush() {
    if (!this.pendingBytes) return;
    const all = Buffer.concat(this.pending, this.pendingBytes);
    let off = 0;
    while (off < all.length) off += writeSync(this.fd, all, off, all.length - off, this.written + off);
    this.written += all.length;
    this.pending = [];
    this.pendingBytes = 0;
  }

  /** Reads one record; sequential reads are served from a 1 MiB window. */
  read(i: number, sequential = false): ContactRecord {
    // Duplicates are often near each other: recent records are answered from memory.
    const slot = i & RING_MASK;
    if (this.recentIds[slot] === i) return deserialize(this.recent[slot]);
    const start = this.offsets[i];
    const len = this.offsets[i + 1] - start;
    if (start + len > this.written) this.flush();
    if (sequential) {
      if (this.windowAt < 0 || start < this.windowAt || start + len > this.windowAt + this.window.length) {
        const size = Math.max(len, 1 << 20);
        const buf = Buffer.allocUnsafe(Math.min(size, this.written - start));
        let got = 0;
        while (got < buf.length) {
          const n = readSync(this.fd, buf, got, buf.length - got, start + got);
          if (n === 0) break;
          got += n;
        }
        this.window = buf.subarray(0, got);
        this.windowAt = start;
      }
      const at = start - this.windowAt;
      return deserialize(this.window.toString('utf8', at, at + len));
    }
    const buf = Buffer.allocUnsafe(len);
    let got = 0;
    while (got < len) {
      const n = readSync(this.fd, buf, got, len - got, start + got);
      if (n === 0) break;
      got += n;
    }
    return deserialize(buf.toString('utf8', 0, got));
  }

  close() {
    try { closeSync(this.fd); } catch { /* already closed */ }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Open addressing, linear probing: hash (float64, 0 = empty) -> first record with that key. */
class KeyTable {
  private hashes = new Float64Array(1 << 16);
  private recs = new Int32Array(1 << 16);
  private used = 0;

  /** Calls `confirm(rec)` for each stored record with this hash until it returns true. */
  find(h: number, confirm: (rec: number) => boolean): number {
    const mask = this.hashes.length - 1;
    for (let i = (h >>> 0) & mask; ; i = (i + 1) & mask) {
      const s = this.hashes[i];
      if (s === 0) return -1;
      if (s === h && confirm(this.recs[i])) return this.recs[i];
    }
  }

  insert(h: number, rec: number) {
    if ((this.used + 1) * 2 > this.hashes.length) this.grow();
    const mask = this.hashes.length - 1;
    let i = (h >>> 0) & mask;
    while (this.hashes[i] !== 0) i = (i + 1) & mask;
    this.hashes[i] = h;
    this.recs[i] = rec;
    this.used++;
  }

  private grow() {
    const oldH = this.hashes;
    const oldR = this.recs;
    this.hashes = new Float64Array(oldH.length * 2);
    this.recs = new Int32Array(oldR.length * 2);
    this.used = 0;
    for (let i = 0; i < oldH.length; i++) if (oldH[i] !== 0) this.insert(oldH[i], oldR[i]);
  }

  get entries() { return this.used; }
  get bytes() { return this.hashes.byteLength + this.recs.byteLength; }
}

class IntArray {
  a: Int32Array;
  constructor(n = 1024) { this.a = new Int32Array(n); }
  ensure(n: number) {
    if (n <= this.a.length) return;
    let len = this.a.length;
    while (len < n) len *= 2;
    const next = new Int32Array(len);
    next.set(this.a);
    this.a = next;
  }
}

export interface DedupeStats {
  records: number;
  clusters: number;
  merged: number;
  keys: number;
  hashCollisions: number;
  indexBytes: number;
}

export class Deduper {
  private readonly spill: Spill;
  private readonly table = new KeyTable();
  private readonly parent = new IntArray();
  /** For a record that stopped being a root: the record whose key joined it, and which key. */
  private readonly via = new IntArray();
  private readonly viaKey = new IntArray();
  private readonly hash: (s: string) => number;
  private collisions = 0;
  private drained = false;
  private emitted: Uint8Array | undefined;
  private closed = false;

  constructor(private readonly opts: DedupeOptions) {
    this.spill = new Spill(opts.tmpDir ?? tmpdir());
    this.hash = opts.hash ?? cyrb53;
  }

  get count() { return this.spill.size; }

  private find(i: number): number {
    const p = this.parent.a;
    let r = i;
    while (p[r] !== r) r = p[r];
    while (p[i] !== r) { const n = p[i]; p[i] = r; i = n; }
    return r;
  }

  add(rec: ContactRecord): void {
    const i = this.spill.append(serialize(rec));
    this.parent.ensure(i + 1);
    this.via.ensure(i + 1);
    this.viaKey.ensure(i + 1);
    this.parent.a[i] = i;
    this.via.a[i] = -1;
    for (const k of keysOf(rec.contact, this.opts.keys, this.opts.scope)) {
      let h = this.hash(k.value);
      if (h === 0) h = 1; // 0 marks an empty slot
      const j = this.table.find(h, (cand) => {
        if (cand === i) return true;
        const ok = keysOf(this.spill.read(cand).contact, this.opts.keys, this.opts.scope).some((x) => x.value === k.value);
        if (!ok) this.collisions++;
        return ok;
      });
      if (j < 0) { this.table.insert(h, i); continue; }
      const ri = this.find(i);
      const rj = this.find(j);
      if (ri === rj) continue;
      const [win, lose] = ri < rj ? [ri, rj] : [rj, ri];
      this.parent.a[lose] = win;
      this.via.a[lose] = i;
      this.viaKey.a[lose] = k.kind * 65536 + k.pos;
    }
  }

  /**
   * The surviving records, one per cluster, in the order of each cluster's first row,
   * in batches. Call once, after the last add().
   */
  async *results(): AsyncGenerator<ContactRecord[]> {
    if (this.drained) throw new Error('internal error: dedupe results read twice');
    this.drained = true;
    const n = this.spill.size;
    this.emitted = new Uint8Array(n);
    // Members of each cluster as a linked list in row order: next[i], with tail per root.
    const next = new Int32Array(n).fill(-1);
    const tail = new Int32Array(n).fill(-1);
    const size = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const r = this.find(i);
      size[r]++;
      if (r !== i) { next[tail[r] >= 0 ? tail[r] : r] = i; tail[r] = i; }
    }
    const batchSize = this.opts.batchSize ?? 500;
    let batch: ContactRecord[] = [];
    for (let i = 0; i < n; i++) {
      if (this.parent.a[i] !== i) continue;
      let out: ContactRecord;
      if (size[i] === 1) {
        out = this.spill.read(i, true);
      } else {
        const ids: number[] = [];
        for (let m = i; m >= 0; m = next[m]) ids.push(m);
        const recs = new Map<number, ContactRecord>();
        for (const m of ids) recs.set(m, m === i ? this.spill.read(m, true) : this.spill.read(m));
        const members: Member[] = ids.map((m) => ({ rec: recs.get(m)!, key: m === i ? undefined : this.keyOf(m, recs) }));
        out = mergeMembers(members, { rules: this.opts.rules, idFrom: this.opts.idFrom });
        for (const m of ids) this.emitted[m] = 1;
      }
      this.emitted[i] = 1;
      batch.push(out);
      if (batch.length >= batchSize) { const b = batch; batch = []; yield b; }
    }
    if (batch.length) yield batch;
  }

  /** How record m joined its cluster, as merged.csv shows it. */
  private keyOf(m: number, recs: Map<number, ContactRecord>): string {
    // m stopped being a root when record `via` brought key `viaKey` that m's group also had.
    const v = this.via.a[m];
    if (v < 0) return 'unknown';
    const rec = recs.get(v) ?? this.spill.read(v);
    const code = this.viaKey.a[m];
    return displayKey(rec.contact, Math.floor(code / 65536), code % 65536);
  }

  /** Records not yet emitted (after an abort), so that the run can account for them. */
  *unsent(): Generator<ContactRecord> {
    const n = this.spill.size;
    for (let i = 0; i < n; i++) if (!this.emitted?.[i]) yield this.spill.read(i, true);
  }

  get stats(): DedupeStats {
    const n = this.spill.size;
    let clusters = 0;
    for (let i = 0; i < n; i++) if (this.find(i) === i) clusters++;
    return { records: n, clusters, merged: n - clusters, keys: this.table.entries, hashCollisions: this.collisions, indexBytes: this.table.bytes };
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    this.spill.close();
  }
}

export { KINDS as MATCH_KEY_KINDS };
