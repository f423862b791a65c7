/**
 * The dedupe spill: every record goes to a temp file as it arrives, so that the heap holds
 * only numbers per record, whatever the width of the rows.
 *
 * One entry per record, as EntryEncoder (dedupe-entry.ts) made it: the keys first, then the
 * record and its row's cells. Entries arrive as bytes and are copied as they are.
 */
import { pidAlive } from '../state/lock.js';
import { closeSync, mkdtempSync, openSync, readdirSync, readSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { OffsetColumn } from './dedupe-table.js';
import { writeFailed } from '../errors.js';
import { payloadStart } from './dedupe-entry.js';

/** How a write error names the spill: the user moves it with TMPDIR. */
const SPILL = 'the dedupe spill, in TMPDIR';
const RING_MASK = 4095;
const WRITE_BUFFER = 1 << 20;
const READ_WINDOW = 4 << 20;
/** Enough for the keys of almost any record in one read. */
const KEY_PROBE = 512;

export class Spill {
  private readonly dir: string;
  /** The spill file (records.bin in its own folder). */
  readonly path: string;
  private readonly fd: number;
  private readonly offsets = new OffsetColumn();
  private count = 0;
  private written = 0; // bytes on disk
  private end = 0; // bytes on disk + in the write buffer
  private buf = Buffer.allocUnsafe(WRITE_BUFFER);
  private bufUsed = 0;
  private readonly window: SpillWindow;
  private readonly probe = Buffer.allocUnsafe(KEY_PROBE);
  /**
   * The record whose keys were last read from disk, and the buffer they are in: a duplicate
   * usually matches one earlier record on several keys (id, phone, email), each confirmed in
   * turn (issue #11: on the bench's 1M rows, 135,000 of 291,000 reads were of the record just read).
   */
  private probed = -1;
  private probedBuf: Buffer = this.probe;
  // Duplicates are often near each other: recent records are answered from memory, from
  // the batch their entry came in (kept alive while it is in the ring).
  private readonly recentBuf: Buffer[] = new Array<Buffer>(RING_MASK + 1);
  private readonly recentAt = new Float64Array(RING_MASK + 1);
  private readonly recentIds = new Int32Array(RING_MASK + 1).fill(-1);

  constructor(parent: string) {
    sweepDeadSpills(parent);
    // The pid in the name lets a later run remove what a killed one (SIGKILL) left behind.
    try {
      this.dir = mkdtempSync(join(parent, `contact-import-dedupe-${process.pid}-`));
    } catch (e) {
      throw writeFailed(e, parent, SPILL);
    }
    this.path = join(this.dir, 'records.bin');
    try {
      this.fd = openSync(this.path, 'w+');
    } catch (e) {
      rmSync(this.dir, { recursive: true, force: true });
      throw writeFailed(e, this.path, SPILL);
    }
    this.offsets.ensure(1);
    this.offsets.set(0, 0);
    this.window = new SpillWindow(this.fd);
  }

  get size(): number { return this.count; }

  /** Where the entries of records `ids` are in the file: [starts[k], ends[k]). */
  ranges(ids: readonly number[]): { starts: Float64Array; ends: Float64Array } {
    const starts = new Float64Array(ids.length);
    const ends = new Float64Array(ids.length);
    for (let k = 0; k < ids.length; k++) { starts[k] = this.offsets.get(ids[k]); ends[k] = this.offsets.get(ids[k] + 1); }
    return { starts, ends };
  }

  /** Every entry to disk (for a reader of the file on another thread). */
  flushAll(): void { if (this.bufUsed) this.flush(); }
  get offsetBytes(): number { return this.offsets.bytes; }

  /**
   * Appends a batch's entries, back to back in `from` (entry e ends at ends[e], the first
   * starts at 0), with one copy; returns the first one's record number. Nothing is taken when
   * the disk refuses the write that makes room (the caller reports the batch NOT_SENT).
   */
  appendBatch(from: Buffer, ends: ArrayLike<number>): number {
    const first = this.count;
    const n = ends.length;
    if (n === 0) return first;
    const total = ends[n - 1];
    const base = this.end;
    if (this.bufUsed + total > this.buf.length) this.flush();
    if (total > this.buf.length) {
      // Larger than the write buffer (very wide rows): written from where it is.
      this.writeOut(from, total);
      this.written += total;
    } else {
      from.copy(this.buf, this.bufUsed, 0, total);
      this.bufUsed += total;
    }
    this.end += total;
    this.offsets.ensure(first + n + 1);
    let start = 0;
    for (let e = 0; e < n; e++) {
      const i = first + e;
      this.offsets.set(i + 1, base + ends[e]);
      const slot = i & RING_MASK;
      this.recentBuf[slot] = from;
      this.recentAt[slot] = start;
      this.recentIds[slot] = i;
      start = ends[e];
    }
    this.count += n;
    return first;
  }

  private flush(): void {
    this.writeOut(this.buf, this.bufUsed);
    this.written += this.bufUsed;
    this.bufUsed = 0;
  }

  /** Bytes [0, len) of `b` to the file's end on disk. */
  private writeOut(b: Buffer, len: number): void {
    let off = 0;
    try {
      while (off < len) off += writeSync(this.fd, b, off, len - off, this.written + off);
    } catch (e) {
      throw writeFailed(e, this.path, SPILL);
    }
  }

  /** Whether record i has exactly the key at [at, at + len) of `key` (compared as UTF-8 bytes). */
  hasKey(i: number, key: Buffer, keyAt: number, keyLen: number): boolean {
    const slot = i & RING_MASK;
    let b: Buffer;
    let first: number;
    if (this.recentIds[slot] === i) {
      b = this.recentBuf[slot];
      first = this.recentAt[slot];
    } else {
      const start = this.offsets.get(i);
      const len = this.offsets.get(i + 1) - start;
      if (start >= this.written) {
        // Still in the write buffer (a record is never split between disk and buffer).
        b = this.buf;
        first = start - this.written;
      } else if (i === this.probed) {
        b = this.probedBuf;
        first = 0;
      } else {
        b = this.probe;
        first = 0;
        this.probed = -1; // until the read below succeeds
        const got = readFully(this.fd, b, Math.min(len, b.length), start);
        const keyBytes = b.readUInt32LE(0);
        if (4 + keyBytes > got) {
          b = Buffer.allocUnsafe(4 + keyBytes);
          readFully(this.fd, b, b.length, start);
        }
        this.probed = i;
        this.probedBuf = b;
      }
    }
    const keyBytes = b.readUInt32LE(first);
    for (let at = first + 4; at < first + 4 + keyBytes;) {
      const n = b.readUInt32LE(at);
      at += 4;
      if (n === keyLen && key.compare(b, at, at + n, keyAt, keyAt + n) === 0) return true;
      at += n;
    }
    return false;
  }

  /**
   * The payload of record i; sequential reads (ascending i) are served from a large window,
   * other reads (a cluster's records) from it when it holds the entry, else read on their own.
   */
  read(i: number, sequential = false): string {
    const slot = i & RING_MASK;
    const start = this.offsets.get(i);
    const len = this.offsets.get(i + 1) - start;
    let b: Buffer;
    let at: number;
    if (this.recentIds[slot] === i) {
      b = this.recentBuf[slot];
      at = this.recentAt[slot];
    } else if (start >= this.written) {
      // Still in the write buffer: read from memory, without forcing a write (which, after
      // the disk refused one, would fail again and lose the records an abort must report).
      b = this.buf;
      at = start - this.written;
    } else if (sequential) {
      return this.window.payload(start, start + len, this.written);
    } else {
      // A cluster's record: its first is usually still in the window (issue #11: at 1M rows
      // the main thread read about 52,000 of them from the disk one by one).
      return this.window.payloadAside(start, start + len);
    }
    return b.toString('utf8', payloadStart(b, at), at + len);
  }

  close(): void {
    try { closeSync(this.fd); } catch { /* already closed */ }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The payload of the entry at [start, end) of the file, read on its own. */
function readEntry(fd: number, start: number, end: number): string {
  const b = Buffer.allocUnsafe(end - start);
  const got = readFully(fd, b, end - start, start);
  if (got < end - start) throw pastTheEnd(start, end, start + got);
  return b.toString('utf8', payloadStart(b, 0), end - start);
}

const pastTheEnd = (start: number, end: number, size: number) => new Error(`dedupe spill: the entry at ${start}-${end} is past the end of the file (${size})`);

/** Reads `len` bytes at `pos` into `into` (fewer only at the end of the file); returns how many. */
function readFully(fd: number, into: Buffer, len: number, pos: number): number {
  let got = 0;
  while (got < len) {
    const n = readSync(fd, into, got, len - got, pos + got);
    if (n === 0) break;
    got += n;
  }
  return got;
}

/**
 * Entries read in ascending order (dedupe's results) from a window of the spill file, one
 * read per READ_WINDOW bytes, its memory reused: the spill's own sequential reads, and the
 * payload worker's, which opens the file itself (transforms/singleton-render.ts).
 */
export class SpillWindow {
  private buf = Buffer.alloc(0);
  /** Where buf[0] is in the file (-1: nothing read yet), and how many of its bytes were read. */
  private at = -1;
  private len = 0;

  constructor(private readonly fd: number) {}

  /**
   * The payload of the entry at [start, end) of the file: from the window if it holds the
   * entry, else read on its own, leaving the window where it is (a cluster's rows, read out of
   * the ascending order of the rest).
   */
  payloadAside(start: number, end: number): string {
    return this.at >= 0 && start >= this.at && end <= this.at + this.len ? this.payload(start, end) : readEntry(this.fd, start, end);
  }

  /** The payload of the entry at [start, end) of the file, reading no further than `upTo`. */
  payload(start: number, end: number, upTo = Infinity): string {
    if (this.at < 0 || start < this.at || end > this.at + this.len) {
      const size = Math.min(Math.max(end - start, READ_WINDOW), upTo - start);
      if (this.buf.length < size) this.buf = Buffer.allocUnsafe(size);
      this.len = readFully(this.fd, this.buf, size, start);
      this.at = start;
      if (this.len < end - start) throw pastTheEnd(start, end, start + this.len);
    }
    const from = start - this.at;
    return this.buf.toString('utf8', payloadStart(this.buf, from), end - this.at);
  }
}

/**
 * Spill folders of runs that died without cleaning up (SIGKILL, a power cut) can hold
 * gigabytes; remove those whose process is gone. Only this machine's pids are visible,
 * so a shared temp folder keeps another host's; a folder without a pid is left alone.
 */
export function sweepDeadSpills(parent: string): void {
  let names: string[];
  try { names = readdirSync(parent); } catch { return; }
  for (const name of names) {
    const m = /^contact-import-dedupe-(\d+)-/.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || pidAlive(pid)) continue;
    try { rmSync(join(parent, name), { recursive: true, force: true }); } catch { /* another run got there first */ }
  }
}
