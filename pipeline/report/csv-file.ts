/**
 * One report CSV written as rows come (success.csv, failed.csv, deleted.csv...): UTF-8
 * with a BOM so spreadsheets read accents right, CRLF, every cell neutralized
 * (csv-safe.ts), in blocks of synchronous writes (file-sink.ts), so memory stays bounded
 * and a killed run keeps what it reported up to the last block.
 *
 * A write the disk refuses (WRITE_FAILED) is thrown, or handed to `onError` when one is
 * set; either way only once, and the file then counts rows without writing them, so that
 * a run stopping because of it still accounts for every row.
 */
import { csvLine } from './csv-safe.js';
import { FileSink } from './file-sink.js';

export class CsvFile {
  private sink: FileSink | undefined;
  /** The file could not be created: rows are counted, not written. */
  private unopened = false;
  rows = 0;
  /** Receives the write the disk refused instead of the caller (set once the run can stop on it). */
  onError: ((e: unknown) => void) | undefined;

  constructor(readonly path: string, private readonly header: string[], lazy: boolean, private readonly bom = true) {
    if (!lazy) this.open();
  }
  private open(): FileSink | undefined {
    if (this.unopened) return undefined;
    try {
      this.sink = new FileSink(this.path);
    } catch (e) {
      this.unopened = true;
      this.failed(e);
      return undefined;
    }
    this.sink.write((this.bom ? '\uFEFF' : '') + csvLine(this.header));
    return this.sink;
  }
  private failed(e: unknown): void {
    if (!this.onError) throw e;
    this.onError(e);
  }
  /** One row already encoded with csvCell, cells joined by commas, without its line end. */
  writeLine(line: string) { this.put(line + '\r\n'); }
  write(cells: string[]) { this.put(csvLine(cells)); }
  /** One row (or `rows` rows) already encoded as UTF-8, line ends included: [start, end) of `b`. */
  writeBytes(b: Buffer, start: number, end: number, rows = 1) {
    const sink = this.nextRow(rows);
    if (!sink) return;
    try { sink.writeBytes(b, start, end); } catch (e) { this.failed(e); }
  }
  /** One row, line end included. */
  private put(text: string) {
    const sink = this.nextRow();
    if (!sink) return;
    try { sink.write(text); } catch (e) { this.failed(e); }
  }
  /** A row is counted whether or not the disk takes it; the file is opened with the first. */
  private nextRow(rows = 1): FileSink | undefined {
    this.rows += rows;
    return this.sink ?? this.open();
  }
  flush() {
    try { this.sink?.flush(); } catch (e) { this.failed(e); }
  }
  close() {
    const sink = this.sink;
    this.sink = undefined;
    try { sink?.close(); } catch (e) { this.failed(e); }
  }
}
