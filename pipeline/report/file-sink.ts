/**
 * An append-only output file fed line by line: each string is UTF-8 encoded straight
 * into one preallocated block, and the block goes to disk with one synchronous write
 * when full. Measured on the report CSVs and payload files, this beat appending lines
 * to a JS string and writing that string: no rope of thousands of pieces to flatten,
 * no second full-size copy of the block as a string, and less garbage per row.
 *
 * Writes stay synchronous on purpose: the report must hold every row that settled
 * before a crash or a kill, up to the last block, and ordering between the report
 * and the target's own side effects stays simple.
 */
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { writeFailed } from '../errors.js';

/** 256 KiB: large enough that syscalls do not show in a profile, small enough for eight open files. */
const BLOCK = 256 * 1024;

export class FileSink {
  private fd: number | undefined;
  private readonly buf: Buffer;
  private used = 0;
  /** Bytes handed to the file so far (written or still in the block). */
  bytes = 0;
  /**
   * The write the disk refused (WRITE_FAILED, thrown once): from then on the file takes
   * nothing more, so that a run stopping because of it can still count every row.
   */
  failure: unknown;

  constructor(readonly path: string, blockSize = BLOCK) {
    try {
      this.fd = openSync(path, 'w');
    } catch (e) {
      throw writeFailed(e, path);
    }
    this.buf = Buffer.allocUnsafe(blockSize);
  }

  write(s: string): void {
    if (this.failure !== undefined) return;
    // A UTF-16 code unit is at most 3 UTF-8 bytes (a surrogate pair is 4 bytes for 2 units).
    const worst = s.length * 3;
    if (this.used + worst > this.buf.length) {
      this.flush();
      if (worst > this.buf.length) {
        const n = Buffer.byteLength(s);
        if (n > this.buf.length) { this.writeAll(Buffer.from(s)); this.bytes += n; return; }
      }
    }
    const n = this.buf.write(s, this.used);
    this.used += n;
    this.bytes += n;
  }

  /** Bytes already encoded (UTF-8), [start, end) of `b`, copied as they are. */
  writeBytes(b: Buffer, start = 0, end = b.length): void {
    if (this.failure !== undefined) return;
    const n = end - start;
    if (this.used + n > this.buf.length) {
      this.flush();
      if (n > this.buf.length) { this.writeAll(b.subarray(start, end)); this.bytes += n; return; }
    }
    b.copy(this.buf, this.used, start, end);
    this.used += n;
    this.bytes += n;
  }

  flush(): void {
    if (this.used === 0 || this.fd === undefined || this.failure !== undefined) return;
    this.writeAll(this.buf.subarray(0, this.used));
    this.used = 0;
  }

  /** Appends the whole content of the file at `path` (read in blocks, never whole). */
  copyFrom(path: string): void {
    if (this.failure !== undefined) return;
    this.flush();
    const fd = openSync(path, 'r');
    try {
      for (let n = readSync(fd, this.buf, 0, this.buf.length, null); n > 0; n = readSync(fd, this.buf, 0, this.buf.length, null)) {
        this.writeAll(this.buf.subarray(0, n));
        this.bytes += n;
      }
    } finally {
      closeSync(fd);
    }
  }

  close(): void {
    if (this.fd === undefined) return;
    try { this.flush(); } finally { closeSync(this.fd); this.fd = undefined; }
  }

  private writeAll(b: Uint8Array): void {
    // writeSync may write fewer bytes than asked (a full disk, a pipe); loop until all is out.
    let off = 0;
    try {
      while (off < b.length) off += writeSync(this.fd!, b, off, b.length - off);
    } catch (e) {
      this.failure = writeFailed(e, this.path);
      this.used = 0;
      throw this.failure;
    }
  }
}
