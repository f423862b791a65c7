/**
 * Bytes written back to back into one buffer that grows as needed (doubling, what is written
 * kept): dedupe entries (transforms/dedupe-entry.ts), rendered chunks
 * (transforms/singleton-render.ts), the file target's JSON payloads (loaders/json.ts), a Spoke
 * phonebook's batch (loaders/file/loader.ts).
 */
export class ByteBuilder {
  buf: Buffer;
  /** Bytes written so far, from the start of `buf`. */
  used = 0;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }

  /** Room for `n` more bytes after `used`; the buffer to write them into. */
  room(n: number): Buffer {
    if (this.used + n > this.buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.used + n));
      this.buf.copy(bigger, 0, 0, this.used);
      this.buf = bigger;
    }
    return this.buf;
  }

  /** Appends `s` as UTF-8; its byte length. */
  text(s: string): number {
    // A UTF-16 code unit is at most 3 UTF-8 bytes (a surrogate pair 4 for 2): room for the worst, encoded once.
    const n = this.room(s.length * 3).write(s, this.used);
    this.used += n;
    return n;
  }

  /** Appends bytes [start, end) of `b`. */
  bytes(b: Buffer, start: number, end: number): void {
    this.used += b.copy(this.room(end - start), this.used, start, end);
  }

  /** Appends `s`, which the caller knows is ASCII (a payload's keys and punctuation): one byte per code unit. */
  ascii(s: string): void {
    const b = this.room(s.length);
    let at = this.used;
    for (let i = 0; i < s.length; i++) b[at++] = s.charCodeAt(i);
    this.used = at;
  }

  /** Appends one byte. */
  byte(x: number): void {
    this.room(1)[this.used++] = x;
  }

  /** A copy of the bytes written, in memory of its own (transferable): the spare room is not kept alive. */
  copy(): Uint8Array {
    return Uint8Array.prototype.slice.call(this.buf, 0, this.used) as Uint8Array;
  }
}
