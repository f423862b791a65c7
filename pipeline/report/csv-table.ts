/**
 * A small report CSV written as it goes (deleted.csv): UTF-8 with a BOM so spreadsheets
 * read accents right, CRLF, cells neutralized like every report CSV (csv-safe.ts), and
 * flushed to disk every block so a killed run keeps what it reported.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { csvLine } from './csv-safe.js';

export class CsvTable {
  private readonly fd: number;
  private buf: string;
  rows = 0;

  constructor(readonly path: string, header: readonly string[]) {
    this.fd = openSync(path, 'w');
    this.buf = '\uFEFF' + csvLine(header);
  }

  write(cells: readonly string[]): void {
    this.buf += csvLine(cells);
    this.rows++;
    if (this.buf.length > 65536) this.flush();
  }

  flush(): void {
    if (this.buf) { writeSync(this.fd, this.buf); this.buf = ''; }
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}
