/**
 * The script a user would write instead of the tool, to be measured against it:
 * papaparse (streaming, header on), libphonenumber-js on each phone cell, a Map of
 * string keys for dedupe (owner + id / phone / email; first row wins), and
 * Papa.unparse of the survivors written in one go.
 *
 *   node test/bench/naive.ts <file.csv> <out.csv>     (run.ts runs it transpiled)
 *
 * It is deliberately plain: no splitting of cells holding several numbers, no
 * extensions, no transitive merging, no report of what failed. That is the point of
 * the comparison: what the tool's extra work costs against what people do by hand.
 * Prints one JSON line with its counts.
 */
import { createReadStream, writeFileSync } from 'node:fs';
import Papa from 'papaparse';
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';

const [file, out] = process.argv.slice(2);
if (!file || !out) {
  process.stderr.write('usage: naive <file.csv> <out.csv>\n');
  process.exit(2);
}

// The country names the user saw in their file, typed in by hand.
const COUNTRY_NAMES: Record<string, CountryCode> = {
  usa: 'US', 'united states': 'US', 'united states of america': 'US', 'u.s.': 'US', canada: 'CA', can: 'CA',
  uk: 'GB', 'united kingdom': 'GB', england: 'GB', scotland: 'GB', 'great britain': 'GB', germany: 'DE',
  deutschland: 'DE', deu: 'DE', france: 'FR', fra: 'FR', india: 'IN', ind: 'IN', australia: 'AU', aus: 'AU',
  brazil: 'BR', brasil: 'BR', bra: 'BR', japan: 'JP', jpn: 'JP', mexico: 'MX', 'méxico': 'MX', mex: 'MX',
  spain: 'ES', 'españa': 'ES', esp: 'ES', netherlands: 'NL', holland: 'NL', nederland: 'NL', nld: 'NL',
  italy: 'IT', italia: 'IT', ita: 'IT',
};
function country(cell: string | undefined): CountryCode {
  const v = (cell ?? '').trim();
  if (v.length === 2) return v.toUpperCase() as CountryCode;
  return COUNTRY_NAMES[v.toLowerCase()] ?? 'US';
}

type Row = Record<string, string>;
const survivors: Row[] = [];
const seen = new Map<string, number>();
let rows = 0;
let merged = 0;
let badPhones = 0;

const stream = createReadStream(file, { highWaterMark: 256 * 1024 });
stream.setEncoding('utf8');

await new Promise<void>((resolve, reject) => {
  stream.on('error', reject);
  Papa.parse<Row>(stream as unknown as File, {
    header: true,
    skipEmptyLines: true,
    step: (res) => {
      const row = res.data;
      rows++;
      const cc = country(row.Country);
      const phones: string[] = [];
      for (const cell of [row.Phone, row['Other Phones']]) {
        if (!cell || !cell.trim()) continue;
        const p = parsePhoneNumberFromString(cell, cc);
        if (p && p.isValid()) phones.push(p.number);
        else badPhones++;
      }
      const owner = (row.Owner ?? '').trim().toLowerCase();
      const keys: string[] = [];
      const id = (row['External ID'] ?? '').trim();
      if (id) keys.push(`${owner}|id|${id}`);
      for (const p of phones) keys.push(`${owner}|phone|${p}`);
      const email = (row.Email ?? '').trim().toLowerCase();
      if (email) keys.push(`${owner}|email|${email}`);

      let into: number | undefined;
      for (const k of keys) {
        into = seen.get(k);
        if (into !== undefined) break;
      }
      if (into !== undefined) {
        merged++;
      } else {
        into = survivors.length;
        survivors.push({ ...row, Phone: phones[0] ?? '', 'Other Phones': phones.slice(1).join('; '), Email: email });
      }
      for (const k of keys) if (!seen.has(k)) seen.set(k, into);
    },
    complete: () => resolve(),
    error: (e: Error) => reject(e),
  });
});

writeFileSync(out, Papa.unparse(survivors));
process.stdout.write(JSON.stringify({ rows, survivors: survivors.length, merged, badPhones }) + '\n');
