/**
 * One report CSV written as rows come (success.csv, failed.csv, deleted.csv...): UTF-8
 * with a BOM so spreadsheets read accents right, CRLF, every cell neutralized
 * (csv-safe.ts), in blocks of synchronous writes (file-sink.ts), so memory stays bounded
 * and a killed run keeps what it reported up to the last block.
 */
import { csvLine } from './csv-safe.js';
import { FileSink } from './file-sink.js';

export class CsvFile {
  private sink: FileSink | undefined;
  rows = 0;
  constructor(readonly path: string, private readonly header: string[], lazy: boolean, private readonly bom = true) {
    if (!lazy) this.open();
  }
  private open(): FileSink {
    this.sink = new FileSink(this.path);
    this.sink.write((this.bom ? '\uFEFF' : '') + csvLine(this.header));
    return this.sink;
  }
  /** One row already encoded with csvCell, cells joined by commas, without its line end. */
  writeLine(line: string) {
    (this.sink ?? this.open()).write(line + '\r\n');
    this.rows++;
  }
  write(cells: string[]) {
    (this.sink ?? this.open()).write(csvLine(cells));
    this.rows++;
  }
  flush() { this.sink?.flush(); }
  close() {
    this.sink?.close();
    this.sink = undefined;
  }
}
