/**
 * The XLSX copy of the benchmark data: the first rows of the generated contacts,
 * written by SheetJS (the only XLSX writer among the dependencies), cached next to
 * the CSV.
 */
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import * as XLSX from 'xlsx';
import { HEADERS, generateRows } from './generate.js';

export function ensureXlsx(file: string, rows: number, seed: number): void {
  if (existsSync(file)) return;
  mkdirSync(dirname(file), { recursive: true });
  const aoa: string[][] = [[...HEADERS]];
  for (const row of generateRows(rows, seed)) aoa.push(row.values);
  const wb = XLSX.utils.book_new();
  // Cells as text, the way a CRM export keeps phone numbers (a number cell would be a
  // different, mangled, test).
  XLSX.utils.book_append_sheet(wb, XLSX.utils.aoa_to_sheet(aoa), 'Contacts');
  const buf = XLSX.write(wb, { type: 'buffer', bookType: 'xlsx', compression: true }) as Buffer;
  // The ESM build of SheetJS cannot write files by itself (FACTS.md): write the buffer.
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, buf);
  renameSync(tmp, file);
}
