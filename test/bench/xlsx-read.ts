/**
 * SheetJS alone: read a workbook and turn its first sheet into rows of strings, the
 * least any XLSX import has to do. The tool's `check` on the same file is measured
 * against it.
 *
 *   node test/bench/xlsx-read.ts <file.xlsx>     (run.ts runs it transpiled)
 *
 * Prints one JSON line: {"rows": N} (data rows, header excluded).
 */
import { readFileSync } from 'node:fs';
import * as XLSX from 'xlsx';

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: xlsx-read <file.xlsx>\n');
  process.exit(2);
}
const wb = XLSX.read(readFileSync(file), { type: 'buffer', dense: true });
const ws = wb.Sheets[wb.SheetNames[0]];
const rows = XLSX.utils.sheet_to_json<string[]>(ws, { header: 1, raw: false, defval: '' });
process.stdout.write(JSON.stringify({ rows: rows.length - 1 }) + '\n');
