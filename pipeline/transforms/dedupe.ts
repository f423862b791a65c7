/**
 * The dedupe stage: the one stage that must see every record before it can decide.
 *
 * Memory is kept independent of row width:
 *  - records are spilled to a temp file as they arrive (dedupe-spill.ts), each with its
 *    match keys in front; the heap holds only numbers per record;
 *  - match keys live in an open-addressing table of 32-bit fingerprints to record numbers
 *    (dedupe-table.ts), never as strings. A fingerprint hit is confirmed against the real
 *    keys of the stored record (read back from the spill) before anything merges, so a
 *    hash collision can never merge two different contacts;
 *  - clusters are a union-find over record numbers in Int32 columns, so matches are
 *    transitive: A~B by phone and B~C by email make A, B, C one contact.
 * The root of a cluster is always its earliest record, so the output order (by each
 * cluster's first row) and the surviving reference are deterministic.
 */
import { tmpdir } from 'node:os';
import { phoneKey, type Contact, type ContactRecord } from '../contact.js';
import type { Mapping } from '../mapping/schema.js';
import { mergeMembers, type MergeOptions, type Member } from './merge.js';
import { Spill } from './dedupe-spill.js';
import { FingerprintTable, IntColumn } from './dedupe-table.js';
import { cyrb53, decodePayload, entryBytes, EntryEncoder, foldText, type EncodedRecords, type KeyKind } from './dedupe-entry.js';


export interface DedupeOptions {
  keys: readonly KeyKind[];
  scope: 'global' | 'owner';
  rules: Mapping['dedupe']['rules'];
  idFrom: Mapping['dedupe']['idFrom'];
  /** Where the spill file goes (default: the OS temp folder). */
  tmpDir?: string;
  /** Replaceable for tests that force collisions. */
  hash?: (s: string) => number;
  /** Records per emitted batch (default DEFAULT_RESULT_BATCH). */
  batchSize?: number;
}

/**
 * Records per batch results() hands out. Measured on the bench's 200k rows with the second
 * phase's garbage collection traced: 500 promoted 79-86 MB, 100 and 50 about 20 MB.
 */
const DEFAULT_RESULT_BATCH = 100;

export function dedupeOptionsFrom(m: Mapping): DedupeOptions {
  return { keys: m.dedupe.keys, scope: m.dedupe.scope, rules: m.dedupe.rules, idFrom: m.dedupe.idFrom };
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

/**
 * A cluster handed out undecoded (resultItems(true)): the spill records to read, its members
 * first in row order, then any other record a member's key came from; for each member after
 * the first, the position in `ids` of the record whose key joined it (-1: unknown) and which
 * key (its code: kind * 65536 + position). mergeCluster() makes the surviving record of it.
 */
export class RawCluster {
  constructor(readonly ids: readonly number[], readonly members: number, readonly via: Int32Array, readonly codes: Int32Array) {}
}

/**
 * The surviving record of a cluster from its records' payloads (in the order of
 * RawCluster.ids), on whichever thread read them.
 */
export function mergeCluster(payloads: readonly string[], members: number, via: ArrayLike<number>, codes: ArrayLike<number>, opts: MergeOptions): ContactRecord {
  const recs = payloads.map(decodePayload);
  const list: Member[] = new Array(members);
  list[0] = { rec: recs[0] };
  for (let k = 1; k < members; k++) {
    const v = via[k];
    // How record k joined its cluster, as merged.csv shows it: the key record `via` brought.
    const key = v < 0 ? 'unknown' : displayKey(recs[v].contact, Math.floor(codes[k] / 65536), codes[k] % 65536);
    list[k] = { rec: recs[k], key };
  }
  return mergeMembers(list, opts);
}

export interface DedupeStats {
  records: number;
  clusters: number;
  merged: number;
  keys: number;
  hashCollisions: number;
  /** The key table's bytes (its size when the last record was added). */
  indexBytes: number;
  /** Per-record state: spill offsets, union-find, how each record joined. */
  recordStateBytes: number;
}

export class Deduper {
  private readonly spill: Spill;
  /** Dropped once the last record is in: results() needs clusters, not keys. */
  private table: FingerprintTable | undefined = new FingerprintTable();
  private tableBytes = 0;
  private keyCount = 0;
  /**
   * Union-find parent of each record. Once results() has linked the clusters, a root holds
   * the last member of its list and a member holds -1 (see results()).
   */
  private readonly parent = new IntColumn();
  /** For a record that stopped being a root: the record whose key joined it, and which key. */
  private readonly via = new IntColumn();
  private readonly viaKey = new IntColumn();
  private readonly hash: (s: string) => number;
  private collisions = 0;
  private drained = false;
  private linked = false;
  private clusterCount = 0;
  private emitted: Uint8Array | undefined;
  private closed = false;
  private encoder: EntryEncoder | undefined;

  /** The key addBatch is looking up (record, and where its bytes are), for `confirm`. */
  private probeRec = -1;
  private probeBytes: Buffer = Buffer.alloc(0);
  private probeAt = 0;
  private probeLen = 0;
  /**
   * Whether stored record `cand` has the key being looked up: a fingerprint hit confirmed
   * against the real key. One function for every lookup (no closure per key).
   */
  private readonly confirm = (cand: number): boolean => {
    if (cand === this.probeRec) return true;
    const ok = this.spill.hasKey(cand, this.probeBytes, this.probeAt, this.probeLen);
    if (!ok) this.collisions++;
    return ok;
  };

  constructor(private readonly opts: DedupeOptions) {
    this.spill = new Spill(opts.tmpDir ?? tmpdir());
    this.hash = opts.hash ?? cyrb53;
  }

  get count() { return this.spill.size; }

  private find(i: number): number {
    const p = this.parent;
    let r = i;
    for (let q = p.get(r); q !== r; q = p.get(r)) r = q;
    while (i !== r) { const n = p.get(i); p.set(i, r); i = n; }
    return r;
  }

  /** One record (tests, API callers); a run hands whole batches to addBatch. */
  add(rec: ContactRecord): void {
    const enc = (this.encoder ??= new EntryEncoder(this.opts, this.hash, 1024));
    enc.add({ contact: rec.contact, file: rec.ref.file, row: rec.ref.row, values: rec.ref.values, notes: rec.notes, date: rec.date });
    this.addBatch(enc.finish());
  }

  /**
   * Records encoded by an EntryEncoder with this deduper's keys, scope and hash (in a row
   * worker or here): their entries go to the spill as they are, their key hashes to the index.
   */
  addBatch(batch: EncodedRecords): void {
    const table = this.table;
    if (!table) throw new Error('internal error: dedupe add() after results()');
    const bytes = entryBytes(batch);
    const n = batch.ends.length;
    const first = this.spill.appendBatch(bytes, batch.ends);
    this.parent.ensure(first + n);
    this.via.ensure(first + n);
    this.viaKey.ensure(first + n);
    // Every record of the batch is its own cluster before any key is looked up: should a
    // confirmation read fail part-way, the spill holds the whole batch and each record is whole.
    for (let i = first; i < first + n; i++) { this.parent.set(i, i); this.via.set(i, -1); }
    let k = 0;
    let start = 0;
    for (let e = 0; e < n; e++) {
      const end = batch.ends[e];
      const i = first + e;
      let at = start + 4;
      for (let left = batch.keyCounts[e]; left > 0; left--, k++) {
        const keyLen = bytes.readUInt32LE(at);
        const keyAt = at + 4;
        at = keyAt + keyLen;
        const fp = FingerprintTable.fingerprint(batch.hashes[k]);
        this.probeRec = i;
        this.probeBytes = bytes;
        this.probeAt = keyAt;
        this.probeLen = keyLen;
        const j = table.findOrInsert(fp, i, this.confirm);
        if (j < 0) continue;
        const ri = this.find(i);
        const rj = this.find(j);
        if (ri === rj) continue;
        const win = ri < rj ? ri : rj;
        const lose = ri < rj ? rj : ri;
        this.parent.set(lose, win);
        this.via.set(lose, i);
        this.viaKey.set(lose, batch.codes[k]);
      }
      start = end;
    }
  }

  private dropTable() {
    if (!this.table) return;
    this.tableBytes = this.table.bytes;
    this.keyCount = this.table.entries;
    this.table = undefined;
  }

  /**
   * The surviving records, one per cluster, in the order of each cluster's first row,
   * in batches. Call once, after the last add().
   */
  async *results(): AsyncGenerator<ContactRecord[]> {
    yield* this.resultItems(false);
  }

  /**
   * As results(), but with `raw` nothing is read or merged here: a record that merged with
   * nothing is handed out as its record number, a cluster as a RawCluster. Their entries are
   * at entryRanges() of spillPath; the caller renders or merges them elsewhere and calls sent()
   * for each record once its outcome is written or in flight (until then an abort reports it
   * through unsent()). Call once, after the last add(). `batchSize` overrides the options' for
   * this call (raw items are numbers, not records: a larger batch keeps nothing alive).
   */
  resultItems(raw: true, batchSize?: number): AsyncGenerator<(number | RawCluster)[]>;
  resultItems(raw: false): AsyncGenerator<ContactRecord[]>;
  async *resultItems(raw: boolean, batchSize?: number): AsyncGenerator<(ContactRecord | number | RawCluster)[]> {
    if (this.drained) throw new Error('internal error: dedupe results read twice');
    this.drained = true;
    this.dropTable();
    const n = this.spill.size;
    this.emitted = new Uint8Array(n);
    // Another thread reads the file: every entry goes to disk first.
    if (raw) this.spill.flushAll();
    // Members of each cluster as a linked list in row order (next[i]). Every parent first
    // points straight at its root; then `parent` is reused for the lists: a root holds its
    // list's tail, a member -1. Roots come before their members, so one ascending pass
    // meets each root before any of its members.
    for (let i = 0; i < n; i++) this.find(i);
    const next = new Int32Array(n).fill(-1);
    const p = this.parent;
    let clusters = 0;
    for (let i = 0; i < n; i++) {
      const r = p.get(i);
      if (r === i) { clusters++; continue; } // its own tail for now
      const t = p.get(r);
      next[t] = i;
      p.set(r, i);
      p.set(i, -1);
    }
    this.clusterCount = clusters;
    this.linked = true;
    // Small batches: a batch's records live until the loader has taken the last of them, and
    // 500 of them outlived young-generation collections and were promoted (issue #11).
    const size = batchSize ?? this.opts.batchSize ?? DEFAULT_RESULT_BATCH;
    let batch: (ContactRecord | number | RawCluster)[] = [];
    const opts: MergeOptions = { rules: this.opts.rules, idFrom: this.opts.idFrom };
    for (let i = 0; i < n; i++) {
      if (p.get(i) < 0) continue;
      let out: ContactRecord | number | RawCluster;
      if (next[i] < 0) {
        if (raw) out = i;
        else { out = decodePayload(this.spill.read(i, true)); this.emitted[i] = 1; }
      } else {
        const c = this.rawCluster(i, next);
        if (raw) out = c;
        else {
          out = mergeCluster(c.ids.map((m) => (m === i ? this.spill.read(m, true) : this.spill.read(m))), c.members, c.via, c.codes, opts);
          this.sentAll(c.ids, c.members);
        }
      }
      batch.push(out);
      if (batch.length >= size) { const b = batch; batch = []; yield b; }
    }
    if (batch.length) yield batch;
  }

  /** The spill file, for a reader on another thread (complete once resultItems(true) has started). */
  get spillPath(): string { return this.spill.path; }

  /** Where the entries of records `ids` are in the spill file: [starts[k], ends[k]). */
  entryRanges(ids: readonly number[]): { starts: Float64Array; ends: Float64Array } { return this.spill.ranges(ids); }

  /** Record i's payload (dedupe-entry.ts), read here: in ascending order, or `aside` from it (a cluster's records). */
  payloadOf(i: number, aside = false): string { return aside ? this.spill.read(i) : this.spill.read(i, true); }

  /** A record handed out raw by resultItems(true) is written: an abort no longer reports it. */
  sent(i: number): void { this.emitted![i] = 1; }

  /** The first `count` of `ids` (a cluster's members) are written or in flight: an abort no longer reports them here. */
  sentAll(ids: readonly number[], count = ids.length): void { for (let k = 0; k < count; k++) this.emitted![ids[k]] = 1; }

  /** The cluster whose first record is `root`, its members linked by `next` (see resultItems). */
  private rawCluster(root: number, next: Int32Array): RawCluster {
    const ids: number[] = [];
    for (let m = root; m >= 0; m = next[m]) ids.push(m);
    const members = ids.length;
    const via = new Int32Array(members).fill(-1);
    const codes = new Int32Array(members);
    // A large cluster (thousands of rows sharing a phone) looks its members up in a Map.
    const pos = members > 32 ? new Map(ids.map((m, k) => [m, k])) : undefined;
    for (let k = 1; k < members; k++) {
      // Member k stopped being a root when record `v` brought key `viaKey` that k's group also had.
      const v = this.via.get(ids[k]);
      if (v < 0) continue;
      let at = pos ? pos.get(v) ?? -1 : ids.indexOf(v);
      // `v` joined the same cluster, so it is a member; read it all the same if it is not.
      if (at < 0) { at = ids.length; ids.push(v); pos?.set(v, at); }
      via[k] = at;
      codes[k] = this.viaKey.get(ids[k]);
    }
    return new RawCluster(ids, members, via, codes);
  }

  /** Records not yet emitted (after an abort), so that the run can account for them. */
  *unsent(): Generator<ContactRecord> {
    const n = this.spill.size;
    for (let i = 0; i < n; i++) if (!this.emitted?.[i]) yield decodePayload(this.spill.read(i, true));
  }

  get stats(): DedupeStats {
    const n = this.spill.size;
    let clusters = this.clusterCount;
    if (!this.linked) {
      clusters = 0;
      for (let i = 0; i < n; i++) if (this.find(i) === i) clusters++;
    }
    return {
      records: n, clusters, merged: n - clusters,
      keys: this.table ? this.table.entries : this.keyCount,
      hashCollisions: this.collisions,
      indexBytes: this.table ? this.table.bytes : this.tableBytes,
      recordStateBytes: this.spill.offsetBytes + this.parent.bytes + this.via.bytes + this.viaKey.bytes,
    };
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    this.spill.close();
  }
}

