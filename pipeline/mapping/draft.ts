/**
 * Drafts a mapping from a file's header and a sample of its rows (`contact-import init`).
 *
 *  1. A known export layout (layouts.ts) maps its columns as that program means them.
 *  2. Otherwise each header is looked up in the synonyms table (synonyms.ts), and columns
 *     the table does not know are sniffed: mostly phone numbers is a phone column, mostly
 *     email addresses an email column.
 *  3. The default country is guessed from how the national numbers are written (the
 *     country under which most of them are valid), and the mapping says it is a guess.
 *  4. The result is written as commented YAML and checked with the mapping's own parser,
 *     so a draft that `check` would refuse is never handed out.
 */
import { getCountryCallingCode, isSupportedCountry, Metadata, parsePhoneNumberFromString } from 'libphonenumber-js/max';
import type { CountryCode } from 'libphonenumber-js';
import YAML from 'yaml';
import { openSource } from '../sources/index.js';
import type { SourceInfo, SourceOptions } from '../sources/types.js';
import { normalizePhoneCell, resolveCountry, splitNumbers } from '../transforms/phone.js';
import { normalizeEmail, splitEmailCell } from '../transforms/normalize.js';
import type { TargetName } from '../loaders/types.js';
import { TARGET_REQUIREMENTS } from '../loaders/index.js';
import { parseMapping } from './load.js';
import { ImportError } from '../errors.js';
import type { Mapping } from './schema.js';
import { detectLayout, type Layout } from './layouts.js';
import { HONORIFICS, headerKey, lookupHeader, type HeaderMeaning } from './synonyms.js';

export interface SampledFile { info: SourceInfo; rows: string[][] }

/** Reads the header and up to `maxRows` rows through the same readers a run uses (CSV, XLS, XLSX). */
export async function sampleFile(file: string, opts: SourceOptions = {}, maxRows = 200): Promise<SampledFile> {
  const src = await openSource(file, { ...opts, batchSize: Math.min(maxRows, 500) });
  const rows: string[][] = [];
  try {
    for await (const batch of src.rows()) {
      for (const r of batch) if (!r.error) rows.push(r.values);
      if (rows.length >= maxRows) break;
    }
  } finally { src.close(); }
  return { info: src.info, rows: rows.slice(0, maxRows) };
}

export interface DraftOptions {
  target?: TargetName;
  /** How the file is named in the mapping's comments (as the user typed it). */
  file: string;
  /** Sheet and header row the user chose, repeated into `source:`. */
  sheet?: string | number;
  headerRow?: number;
  /** Where the mapping will be written, for the "check" line in its header comment. */
  mappingPath?: string;
  /** Said in the draft's header comment (e.g. why init read this sheet). */
  notes?: string[];
}

interface Pick { column: string; why: string }
interface PhonePick extends Pick { label?: string; secondary?: boolean }

export interface Draft {
  text: string;
  mapping: Mapping;
  layout?: Layout;
  fields: {
    id?: Pick; name?: Pick; firstName?: Pick; lastName?: Pick; company?: Pick; title?: Pick;
    address?: { columns: string[]; why: string; firstOf?: boolean }; owner?: Pick;
    phones: PhonePick[]; emails: Pick[]; websites: Pick[];
  };
  country?: CountryGuess;
  countryColumn?: Pick;
  dedupeKeys: string[];
  unmatched: string[];
}

export interface CountryGuess { country: CountryCode; why: string }

/** "Mostly": the share of a column's non-empty sampled values that must fit. */
const MOSTLY = 0.6;
// Candidates for the default country, most common first so that a tie (a US number is
// also a valid German one: German numbering is loose) goes to the likelier country.
const CANDIDATES: CountryCode[] = ['US', 'GB', 'CA', 'AU', 'IN', 'DE', 'FR', 'ES', 'IT', 'NL', 'BE', 'CH', 'AT', 'PT', 'IE',
  'BR', 'MX', 'AR', 'CO', 'CL', 'SE', 'NO', 'DK', 'FI', 'PL', 'NZ', 'ZA', 'SG', 'AE', 'JP'];
const INTERNATIONAL = /^\s*(\+|00)/;
// Only digits and the punctuation people put in numbers, optionally an extension.
const PHONE_SHAPE = /^[\s\d()+.\-/\u00a0]+(?:\s*(?:ext\.?|x|#)\s*\d{1,6})?$/i;
const DATE_SHAPE = /^\s*(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})(\s|T|$)/;

const isOnePhoneShaped = (v: string) => {
  if (!PHONE_SHAPE.test(v) || DATE_SHAPE.test(v)) return false;
  const digits = v.replace(/\D/g, '').length;
  return digits >= 6 && digits <= 17;
};
/** One number, or several in one cell ("a / b", "a; b", "a or b", split as normalize splits them), each shaped like a number. */
const isPhoneShaped = (v: string) => {
  if (isOnePhoneShaped(v)) return true;
  const parts = splitNumbers(v).map((p) => p.trim()).filter(Boolean);
  return parts.length > 1 && parts.every(isOnePhoneShaped);
};

function validPhone(v: string, country: CountryCode | undefined): boolean {
  const r = normalizePhoneCell(v, { defaultCountry: country });
  return r.phones.length > 0 && r.problems.length === 0;
}

function isEmailCell(v: string): boolean {
  const parts = splitEmailCell(v);
  return parts.length > 0 && parts.every((p) => normalizeEmail(p) !== undefined);
}

const share = (values: string[], test: (v: string) => boolean) =>
  values.length ? values.filter(test).length / values.length : 0;

/** Can this column be read as phones under some country (or its +country codes)? */
function phoneColumnScore(values: string[]): number {
  const shaped = values.filter(isPhoneShaped);
  if (shaped.length / Math.max(1, values.length) < MOSTLY) return 0;
  let best = 0;
  for (const c of [undefined, ...CANDIDATES]) {
    best = Math.max(best, share(values, (v) => isPhoneShaped(v) && validPhone(v, c)));
    if (best === 1) break;
  }
  return best;
}

/** A sampled phone cell with its row's country (from the country column), if any. */
export interface PhoneSample { value: string; rowCountry?: CountryCode }

const metadata = new Metadata();
/**
 * How the number reads as c's: `habit`, its writing fits the country's (a trunk "0" where the
 * country dials one, none where not); `keptZero`, the 0 it starts with belongs to the number (Italy).
 */
function writing(v: string, c: CountryCode): { habit: boolean; keptZero: boolean } {
  const p = parsePhoneNumberFromString(v, c);
  if (!p) return { habit: false, keptZero: false };
  const startsZero = v.replace(/\D/g, '').startsWith('0');
  if (p.nationalNumber.startsWith('0')) return { habit: startsZero, keptZero: true };
  metadata.selectNumberingPlan(c);
  const trunk = (metadata.numberingPlan as unknown as { nationalPrefix(): string | undefined }).nationalPrefix();
  return { habit: startsZero === (trunk === '0'), keptZero: false };
}

/**
 * Country-code top-level domains that are used worldwide for other reasons (.io, .co, .me, .tv…):
 * an address under one says nothing about where its owner lives.
 */
const GENERIC_CCTLDS = new Set(['ac', 'ai', 'am', 'cc', 'cd', 'co', 'fm', 'gg', 'im', 'io', 'la', 'ly', 'me', 'ms', 'nu', 'sh', 'so', 'st', 'tk', 'to', 'tv', 'vc', 'ws']);

/** The country an email address's domain names (.de, .co.uk), if it is a country's own domain. */
export function emailCountry(address: string): CountryCode | undefined {
  const tld = address.slice(address.lastIndexOf('.') + 1).toLowerCase();
  if (tld.length !== 2 || GENERIC_CCTLDS.has(tld)) return undefined;
  const c = (tld === 'uk' ? 'GB' : tld.toUpperCase()) as CountryCode;
  return isSupportedCountry(c) ? c : undefined;
}

/** Where the sampled contacts' email addresses say they are (emailEvidence). */
export interface EmailEvidence { country: CountryCode; rows: number; withEmail: number }

/**
 * The country most sampled rows' addresses end in (one vote a row), when it is most of the rows
 * whose address names a country and at least a third of the rows with an address (a few .de
 * addresses among .com ones say nothing about the rest), and at least two rows.
 */
export function emailEvidence(sample: SampledFile, columns: string[]): EmailEvidence | undefined {
  const idx = columns.map((c) => sample.info.headers.indexOf(c)).filter((i) => i >= 0);
  const votes = new Map<CountryCode, number>();
  let withEmail = 0;
  let voted = 0;
  for (const row of sample.rows) {
    let any = false;
    let vote: CountryCode | undefined;
    for (const i of idx) {
      for (const part of splitEmailCell(row[i] ?? '')) {
        const e = normalizeEmail(part);
        if (!e) continue;
        any = true;
        vote ??= emailCountry(e);
      }
    }
    if (any) withEmail++;
    if (vote) { voted++; votes.set(vote, (votes.get(vote) ?? 0) + 1); }
  }
  const top = [...votes.entries()].sort((a, b) => b[1] - a[1])[0];
  if (!top) return undefined;
  const [country, rows] = top;
  return rows >= 2 && rows * 2 > voted && rows * 3 >= withEmail ? { country, rows, withEmail } : undefined;
}

/**
 * The default country: the one under which most national numbers (rows without a country
 * of their own) are valid; ties go to the country whose trunk-prefix habit the numbers
 * follow (German numbering accepts many US numbers, but Germans write a leading 0), then
 * to the +country codes seen, then to CANDIDATES order. The country the contacts' email
 * addresses name (`email`) wins when at least half of the numbers are valid there, written
 * as its people write them: Italian numbering keeps the leading 0 and so takes most other
 * countries' national numbers, and a German file with one French number was read as Italian.
 */
export function guessCountry(samples: PhoneSample[], countryColumn?: string, email?: EmailEvidence): CountryGuess | undefined {
  const intl = new Map<string, number>();
  const perRow = new Map<string, number>();
  const national: string[] = [];
  const bump = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
  for (const { value: v, rowCountry } of samples) {
    if (INTERNATIONAL.test(v)) {
      const c = parsePhoneNumberFromString(v.replace(/^\s*00/, '+'))?.country;
      if (c) bump(intl, c);
    } else if (rowCountry) bump(perRow, rowCountry);
    else national.push(v);
  }
  const top = (m: Map<string, number>) => [...m.entries()].sort((a, b) => b[1] - a[1]);
  if (!national.length) {
    if (perRow.size) {
      const [c, n] = top(perRow)[0];
      return { country: c as CountryCode, why: `a guess: the most common country in "${countryColumn}" (${n} of ${samples.length} sampled numbers); used when that cell is empty` };
    }
    if (!intl.size) return undefined;
    const [c, n] = top(intl)[0];
    return { country: c as CountryCode,
      why: `a guess: every sampled number has its +country code; ${c} is the most common (${n} of ${samples.length}), used only for numbers written without one` };
  }
  const pool = [...new Set([...top(intl).map(([c]) => c as CountryCode), ...top(perRow).map(([c]) => c as CountryCode), ...CANDIDATES])];
  if (email && !pool.includes(email.country)) pool.push(email.country);
  /** How many numbers are valid under c, written as its people write them, and read with their leading 0 kept (Italy). */
  type Fit = { c: CountryCode; valid: number; habit: number; keptZero: number };
  const fit = (c: CountryCode): Fit => {
    const f: Fit = { c, valid: 0, habit: 0, keptZero: 0 };
    for (const v of national) {
      if (!validPhone(v, c)) continue;
      const w = writing(v, c);
      f.valid++;
      if (w.habit) f.habit++;
      if (w.keptZero) f.keptZero++;
    }
    return f;
  };
  const fits = pool.map(fit);
  let best: Fit | undefined;
  for (const f of fits) if (!best || f.valid > best.valid || (f.valid === best.valid && f.habit > best.habit)) best = f;
  if (!best || best.valid === 0) return undefined;
  const numbers = `of the ${national.length} sampled numbers written without +country code${perRow.size ? ' or a country of their own' : ''}`;
  const mail = email && `${email.rows} of the ${email.withEmail} sampled email addresses end in .${email.country === 'GB' ? 'uk' : email.country.toLowerCase()}`;
  // Numbers written as a country's people write them: a trunk 0 where it dials one.
  const likely = (f: Fit) => f.habit * 2 >= f.valid;
  if (email && email.country !== best.c) {
    const e = fits.find((f) => f.c === email.country)!;
    if (e.valid * 2 >= national.length && likely(e)) {
      return { country: e.c, why: `a guess: ${mail}, and ${e.valid} ${numbers} are valid ${e.c} numbers (${best.c} fits ${best.valid} of them)` };
    }
  }
  // Numbering that keeps the leading 0 (Italy's) takes most national numbers of countries that
  // dial a trunk 0: when it wins, another such country that fits nearly as many is named, so that
  // whoever reads the draft can tell (a German file with one French number reads as Italian).
  const code = getCountryCallingCode(best.c);
  const close = best.keptZero * 2 >= best.valid
    ? fits.find((f) => f !== best && f.valid * 4 >= best!.valid * 3 && likely(f) && f.keptZero === 0 && getCountryCallingCode(f.c) !== code)
    : undefined;
  return { country: best.c, why: `a guess: ${best.valid} ${numbers} are valid ${best.c} numbers${email?.country === best.c ? `, and ${mail}` : ''}`
    + (close ? ` (${close.c} fits ${close.valid} of them too: check)` : '') };
}

interface Column { index: number; header: string; values: string[]; meaning?: HeaderMeaning }

function profile(sample: SampledFile): Column[] {
  return sample.info.headers.map((header, index) => ({
    index, header,
    values: sample.rows.map((r) => (r[index] ?? '').trim()).filter(Boolean),
    meaning: lookupHeader(header),
  }));
}

/** Column lookup as the map stage does it: exact, then ignoring case and spaces. */
function finder(headers: readonly string[]) {
  const loose = (s: string) => s.toLowerCase().replace(/\s+/g, '');
  return (name: string) => headers.find((h) => h === name) ?? headers.find((h) => loose(h) === loose(name));
}

export function draftMapping(sample: SampledFile, opts: DraftOptions): Draft {
  const cols = profile(sample);
  const byHeader = new Map(cols.map((c) => [c.header, c]));
  const used = new Set<string>();
  const layout = detectLayout(sample.info.headers);
  const f: Draft['fields'] = { phones: [], emails: [], websites: [] };
  const take = <T extends Pick>(p: T): T => { used.add(p.column); return p; };

  if (layout) fromLayout(layout, sample.info.headers, byHeader, f, take);
  else fromHeadersAndContent(cols, f, take);
  // A mapping must map something (parseMapping refuses one that maps nothing): say so as the
  // user's problem, with where init looked, rather than draft what `check` would refuse.
  if (!used.size) throw nothingToMap(sample, opts.file);

  // Country column: only when every sampled value names a country, or a row would fail with COUNTRY_UNKNOWN.
  let countryColumn: Pick | undefined;
  const countryCandidates = layout
    ? (layout.countryColumns ?? []).map(finder(sample.info.headers)).filter((h): h is string => !!h).map((h) => byHeader.get(h)!)
    : cols.filter((c) => c.meaning?.role === 'country' && !used.has(c.header));
  for (const c of countryCandidates) {
    if (c.values.length && c.values.every((v) => resolveCountry(v))) {
      countryColumn = { column: c.header, why: `every sampled value names a country (${[...new Set(c.values)].slice(0, 3).join(', ')}…)` };
      break;
    }
  }

  const phoneSamples = samplePhones(sample, f.phones.map((p) => p.column), countryColumn?.column);
  const country = guessCountry(phoneSamples, countryColumn?.column, emailEvidence(sample, f.emails.map((e) => e.column)));

  const dedupeKeys: string[] = [];
  if (f.id) {
    const ids = byHeader.get(f.id.column)!.values;
    if (ids.length && new Set(ids).size === ids.length) dedupeKeys.push('id');
  }
  if (f.phones.length) dedupeKeys.push('phone');
  if (f.emails.length) dedupeKeys.push('email');

  const unmatched = sample.info.headers.filter((h) => !used.has(h) && h !== countryColumn?.column);
  const draft: Draft = { text: '', mapping: undefined as unknown as Mapping, layout, fields: f, country, countryColumn, dedupeKeys, unmatched };
  draft.text = render(draft, sample, cols, opts);
  // The draft must be a mapping `check` accepts; a failure here is a bug in init, not the user's,
  // so it surfaces as an internal error rather than as a mapping error the user should fix.
  try {
    draft.mapping = parseMapping(draft.text, 'the drafted mapping');
  } catch (e) {
    throw new Error(`init drafted a mapping its own parser refuses: ${(e as Error).message}`);
  }
  return draft;
}

/** init found no column it can map: the file's columns, and the sheet it read. */
function nothingToMap(sample: SampledFile, file: string): ImportError {
  const { headers, sheet, headerRow } = sample.info;
  const shown = headers.slice(0, 8).map((h) => JSON.stringify(h)).join(', ') + (headers.length > 8 ? `, … (${headers.length} columns)` : '');
  const where = sheet !== undefined ? `sheet "${sheet}" of ${file}` : file;
  return new ImportError('NO_CONTACT_COLUMNS',
    `${where}: no column looks like a name, phone, email, company or id (the header row is row ${headerRow}: ${shown})`,
    { file, ...(sheet !== undefined ? { sheet } : {}), row: headerRow });
}

/** Every non-empty phone cell of the sample, with its row's country when the country column names one. */
function samplePhones(sample: SampledFile, columns: string[], countryColumn?: string): PhoneSample[] {
  const idx = columns.map((c) => sample.info.headers.indexOf(c));
  const ci = countryColumn ? sample.info.headers.indexOf(countryColumn) : -1;
  const out: PhoneSample[] = [];
  for (const row of sample.rows) {
    const rowCountry = ci >= 0 && row[ci]?.trim() ? resolveCountry(row[ci]) : undefined;
    for (const i of idx) {
      const v = (row[i] ?? '').trim();
      if (v) out.push({ value: v, rowCountry });
    }
  }
  return out;
}

function fromLayout(layout: Layout, headers: readonly string[], byHeader: Map<string, Column>, f: Draft['fields'], take: <T extends Pick>(p: T) => T) {
  const find = finder(headers);
  // The header comment names the layout once; repeating it on every line would be noise.
  const why = '';
  const one = (name: string | undefined): Pick | undefined => {
    const h = name ? find(name) : undefined;
    return h ? take({ column: h, why }) : undefined;
  };
  const lf = layout.fields;
  f.id = one(lf.id);
  f.name = one(lf.name);
  f.firstName = one(lf.firstName);
  f.lastName = one(lf.lastName);
  f.company = one(lf.company);
  f.title = one(lf.title);
  f.owner = one(lf.owner);
  for (const p of lf.phones) { const h = find(p.column); if (h) f.phones.push(take({ column: h, label: p.label, why })); }
  for (const e of lf.emails) { const h = find(e); if (h) f.emails.push(take({ column: h, why })); }
  for (const w of lf.websites ?? []) { const h = find(w); if (h) f.websites.push(take({ column: h, why })); }
  // The first address group with any value in the sample (Outlook: business before home).
  const groups = (lf.address ?? []).map((g) => g.map(find).filter((h): h is string => !!h)).filter((g) => g.length);
  const filled = groups.find((g) => g.some((h) => byHeader.get(h)!.values.length)) ?? groups[0];
  if (groups.length > 1 && groups.every((g) => g.length === 1)) {
    // One whole address per column (iPhone: work, home): the first non-empty one per row.
    f.address = { columns: groups.map((g) => g[0]), why, firstOf: true };
    for (const [h] of groups) take({ column: h, why });
  } else if (filled) {
    f.address = { columns: filled, why };
    for (const h of filled) take({ column: h, why });
  }
}

function fromHeadersAndContent(cols: Column[], f: Draft['fields'], take: <T extends Pick>(p: T) => T) {
  const roleCols = (role: string) => cols.filter((c) => c.meaning?.role === role);
  const head = (c: Column) => `header "${c.header}"`;
  const first = (role: string, accept: (c: Column) => boolean = () => true) => {
    const c = roleCols(role).find(accept);
    return c ? take({ column: c.header, why: head(c) }) : undefined;
  };
  f.id = first('id');
  f.firstName = first('firstName');
  f.lastName = first('lastName');
  f.name = first('name');
  // "Name" next to "Vorname" is the last name; "Nombre" next to "Apellidos" the first name.
  for (const c of roleCols('nameAmbiguous')) {
    if (f.firstName && !f.lastName) f.lastName = take({ column: c.header, why: `${head(c)} beside first name "${f.firstName.column}"` });
    else if (f.lastName && !f.firstName) f.firstName = take({ column: c.header, why: `${head(c)} beside last name "${f.lastName.column}"` });
    else if (!f.name) f.name = take({ column: c.header, why: head(c) });
    else continue;
    break;
  }
  f.company = first('company');
  // A "Title" of Mr./Ms./Dr. is a name prefix (Outlook), not a job title.
  const honorific = (c: Column) => share(c.values, (v) => HONORIFICS.has(headerKey(v).replace(/\s/g, ''))) >= MOSTLY;
  const titles = roleCols('title').filter((c) => !honorific(c))
    .sort((a, b) => Number(headerKey(b.header).includes('job')) - Number(headerKey(a.header).includes('job')));
  if (titles[0]) f.title = take({ column: titles[0].header, why: head(titles[0]) });
  // The owner is an email (the user whose phonebook gets the contact); a column of names is not one.
  f.owner = first('owner', (c) => c.values.length > 0 && share(c.values, isEmailCell) >= MOSTLY);

  const address = roleCols('address')[0];
  if (address) f.address = { columns: [take({ column: address.header, why: head(address) }).column], why: head(address) };
  else {
    const parts = (['street', 'city', 'region', 'postalCode', 'country'] as const)
      .map((r) => roleCols(r)[0]).filter((c): c is Column => !!c);
    if (parts.some((p) => p.meaning?.role === 'street' || p.meaning?.role === 'city')) {
      // The country part stays free to be the country column too: reading it is harmless.
      for (const p of parts) if (p.meaning?.role !== 'country') take({ column: p.header, why: head(p) });
      f.address = { columns: parts.map((p) => p.header), why: 'address parts ' + parts.map((p) => `"${p.header}"`).join(', ') };
    }
  }

  for (const c of cols) {
    if (c.meaning?.role === 'website' && !f.websites.length) f.websites.push(take({ column: c.header, why: head(c) }));
  }

  // Phones and emails: by header, confirmed by content when the sample has values (a "Phone"
  // column full of email addresses is an email column), then by content alone.
  const free = (c: Column) => ![f.id, f.name, f.firstName, f.lastName, f.company, f.title, f.owner].some((p) => p?.column === c.header)
    && !f.address?.columns.includes(c.header) && !f.websites.some((w) => w.column === c.header);
  for (const c of cols) {
    if (!free(c) || c.meaning?.role === 'notPhone' || c.meaning?.role === 'country' || c.meaning?.role === 'postalCode') continue;
    const emailShare = share(c.values, isEmailCell);
    const phoneScore = c.values.length ? phoneColumnScore(c.values) : 0;
    const pct = (x: number) => `${Math.round(x * 100)}% of ${c.values.length} sampled values`;
    if (c.meaning?.role === 'email' && (!c.values.length || emailShare >= MOSTLY)) {
      f.emails.push(take({ column: c.header, why: head(c) }));
    } else if (c.meaning?.role === 'phone' && (!c.values.length || phoneScore >= MOSTLY)) {
      f.phones.push(take({ column: c.header, label: c.meaning.label, secondary: c.meaning.secondary, why: head(c) }));
    } else if (c.meaning?.role === 'id') {
      continue; // numeric ids can look like phone numbers; an id header wins
    } else if (c.values.length && emailShare >= MOSTLY) {
      f.emails.push(take({ column: c.header, why: `content: ${pct(emailShare)} are email addresses${c.meaning ? ` (the header suggests ${c.meaning.role})` : ''}` }));
    } else if (c.values.length && phoneScore >= MOSTLY) {
      const label = c.meaning?.role === 'phone' ? c.meaning.label : undefined;
      f.phones.push(take({ column: c.header, label, secondary: c.meaning?.secondary, why: `content: ${pct(phoneScore)} are phone numbers${c.meaning && c.meaning.role !== 'phone' ? ` (the header suggests ${c.meaning.role})` : ''}` }));
    }
  }
  // Mobiles first: the first phone is the one most targets show and call. A plain "Phone" is
  // the contact's own number, ranked with a work phone (in column order); "Other Phone" is last.
  const order: Record<string, number> = { mobile: 0, work: 1, main: 2, home: 3 };
  const rank = (p: PhonePick) => (p.secondary ? 4 : p.label === undefined ? 1 : order[p.label] ?? 4);
  f.phones.sort((a, b) => rank(a) - rank(b));
}

// ---------------------------------------------------------------- YAML

/** A column name as a YAML scalar: plain when it reads back unchanged (also inside `{ }`), else double-quoted. */
export function yamlScalar(s: string): string {
  if (/^[\p{L}\p{N}][^,[\]{}#:"'&*!|>%@`]*$/u.test(s) && s === s.trim() && !/\s#|:\s|:$/.test(s)) {
    try {
      if (YAML.parse(s) === s && YAML.parse(`{ k: ${s} }`)?.k === s) return s;
    } catch { /* not plain-safe: quote it */ }
  }
  return JSON.stringify(s);
}

function render(d: Draft, sample: SampledFile, cols: Column[], opts: DraftOptions): string {
  const L: string[] = [];
  const info = sample.info;
  const q = yamlScalar;
  const line = (text: string, comment?: string) => L.push(comment ? `${text.padEnd(44)} # ${comment}` : text);

  L.push(`# Drafted by \`contact-import init\` from ${opts.file} (${sample.rows.length} sampled row${sample.rows.length === 1 ? '' : 's'}, ${info.headers.length} columns).`);
  L.push(d.layout ? `# Recognized layout: ${d.layout.title}.` : '# No known export layout: columns matched by header name and by content.');
  for (const n of [...(opts.notes ?? []), ...(d.layout?.notes ?? [])]) L.push(`# Note: ${n}`);
  L.push('# Review it, then:', `#   npx contact-import check ${opts.file} --mapping ${opts.mappingPath ?? '<this file>'}`, '# Every key is documented in mappings/README.md.');
  L.push(`description: ${q(d.layout ? `${d.layout.title} (drafted by init)` : `Drafted by init from ${opts.file.split(/[\\/]/).pop()}`)}`, '');

  const src: string[] = [];
  if (opts.sheet !== undefined) src.push(`  sheet: ${typeof opts.sheet === 'number' ? opts.sheet : q(opts.sheet)}`);
  else if (info.format !== 'csv' && info.sheet && (info.sheets?.length ?? 0) > 1) src.push(`  sheet: ${q(info.sheet)}`);
  if (opts.headerRow !== undefined || info.headerRow !== 1) src.push(`  headerRow: ${opts.headerRow ?? info.headerRow}`);
  if (src.length || info.format === 'csv') {
    L.push('source:');
    if (info.format === 'csv') {
      line(`  delimiter: auto`, `found ${JSON.stringify(info.delimiter ?? ',')}`);
      line(`  encoding: auto`, `found ${info.encoding ?? 'utf-8'}`);
    }
    L.push(...src, '');
  }

  const f = d.fields;
  L.push('fields:');
  const scalar = (key: string, p?: Pick) => { if (p) line(`  ${key}: ${q(p.column)}`, p.why); };
  scalar('id', f.id);
  scalar('name', f.name);
  scalar('firstName', f.firstName);
  scalar('lastName', f.lastName);
  if (!f.name && !f.firstName && !f.lastName) L.push('  # name: no column looks like a name; map one, e.g. `name: "Full Name"`');
  scalar('company', f.company);
  scalar('title', f.title);
  if (f.phones.length) {
    L.push('  phones:                                    # every non-empty column adds a phone, in this order');
    for (const p of f.phones) line(`    - { column: ${q(p.column)}${p.label ? `, label: ${p.label}` : ''} }`, p.why);
  } else L.push('  # phones: no column holds phone numbers in the sample');
  if (f.emails.length === 1) line(`  emails: ${q(f.emails[0].column)}`, f.emails[0].why);
  else if (f.emails.length) {
    L.push('  emails:');
    for (const e of f.emails) line(`    - ${q(e.column)}`, e.why);
  } else L.push('  # emails: no column holds email addresses in the sample');
  if (f.websites.length) line(`  websites: ${q(f.websites[0].column)}`, f.websites[0].why);
  if (f.address) {
    if (f.address.columns.length === 1) line(`  address: ${q(f.address.columns[0])}`, f.address.why);
    else line(`  address: { columns: [${f.address.columns.map(q).join(', ')}]${f.address.firstOf ? '' : ', join: ", "'} }`,
      f.address.why || (f.address.firstOf ? 'the first non-empty one' : ''));
  }
  scalar('owner', f.owner);

  const target = opts.target;
  const needs = target ? TARGET_REQUIREMENTS[target].fields : [];
  const hasField = (k: string) => k === 'name' ? Boolean(f.name || f.firstName || f.lastName)
    : k === 'phones' ? f.phones.length > 0 : Boolean((f as unknown as Record<string, unknown>)[k]);
  for (const k of needs) {
    if (hasField(k)) continue;
    const example = k === 'owner' ? '`owner: Owner Email` (a column of user emails) or `owner: { value: you@yourco.example }`'
      : k === 'id' ? '`id: Contact ID` (a column that is unique per contact)' : `\`${k}: <column>\``;
    L.push(`  # --target ${target} needs ${k} on every contact and no column was found for it: add ${example}`);
  }
  L.push('');

  const phoneAt = L.length;
  L.push('phone:');
  if (d.country) line(`  defaultCountry: ${d.country.country}`, d.country.why);
  else L.push('  # defaultCountry: US                        # no phone numbers to guess from; set it if numbers lack +country code');
  if (d.countryColumn) line(`  countryColumn: ${q(d.countryColumn.column)}`, d.countryColumn.why);
  const unreadable = samplePhones(sample, f.phones.map((p) => p.column), d.countryColumn?.column)
    .filter((p) => !validPhone(p.value, p.rowCountry ?? d.country?.country)).map((p) => p.value);
  if (unreadable.length) {
    L.push(`  # ${unreadable.length} sampled number${unreadable.length > 1 ? 's' : ''} would not load (e.g. ${JSON.stringify(unreadable[0])}): fix ${unreadable.length > 1 ? 'them' : 'it'}, or set`);
    L.push('  # `optional: true` to load those rows without the bad number');
  }
  // A `phone:` key with only comments under it would be null, which the schema refuses.
  if (L.slice(phoneAt + 1).every((l) => l.trimStart().startsWith('#'))) L[phoneAt] = '# phone:';
  L.push('');

  const names = [f.name, f.firstName, f.lastName].flatMap((p) => p ? cols.find((c) => c.header === p.column)?.values ?? [] : []);
  if (names.some((v) => /\p{Lu}{2}/u.test(v) && !/\p{Ll}/u.test(v))) {
    L.push('names:');
    line('  fixAllCaps: true', 'some sampled names are ALL CAPS');
    L.push('');
  }

  const req: string[] = [];
  if (f.name || f.firstName || f.lastName) req.push('name');
  if (f.phones.length || f.emails.length) req.push('phoneOrEmail');
  if (req.length) line(`required: [${req.join(', ')}]`, 'rows without these fail and are listed in failed.csv');
  L.push('');

  L.push('dedupe:');
  const why = d.dedupeKeys.map((k) => k === 'id' ? 'the id is unique in the sample' : k === 'phone' ? 'same number = same contact' : 'same email = same contact');
  line(`  keys: [${d.dedupeKeys.join(', ')}]`, d.dedupeKeys.length ? `suggested: ${why.join('; ')}` : 'nothing to match on: no id, phone or email');
  if (f.owner && (target === 'spoke' || !target)) {
    L.push('  # scope: owner                             # personal phonebooks: the same customer under two owners stays two contacts');
  }
  if (f.name && f.company) L.push('  # add nameCompany to merge rows with the same name at the same company');
  L.push('');

  if (target === 'samespace') {
    L.push('targets:', '  samespace:');
    line('    module: Contacts', 'the module to import into (name or id)');
    L.push('');
  }

  if (d.unmatched.length) {
    const withValues = d.unmatched.filter((h) => (cols.find((c) => c.header === h)?.values.length ?? 0) > 0);
    const empty = d.unmatched.length - withValues.length;
    L.push(`# Columns not mapped (${d.unmatched.length}): map any you need, or put them under fields.custom.`);
    for (const h of withValues) {
      const c = cols.find((x) => x.header === h)!;
      const ex = c.values[0].replace(/\s+/g, ' ');
      const why = c.meaning?.role === 'notPhone' ? ' (fax / pager: not a number to call)'
        : c.meaning?.role === 'owner' ? ' (an owner must be an email address)' : '';
      L.push(`#   ${JSON.stringify(h)}  e.g. ${JSON.stringify(ex.length > 40 ? ex.slice(0, 39) + '…' : ex)}${why}`);
    }
    if (empty) {
      const names = d.unmatched.filter((h) => !withValues.includes(h));
      L.push(...wrapComment(`empty in the sample (${empty}): ${names.map((h) => JSON.stringify(h)).join(', ')}`));
    }
  }
  return L.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd() + '\n';
}

/** A long comment as several `#` lines of at most ~100 characters, broken after commas. */
function wrapComment(text: string, width = 100): string[] {
  const out: string[] = [];
  let cur = '#   ';
  for (const word of text.split(/(?<=, )/)) {
    if (cur.length + word.length > width && cur.trim() !== '#') { out.push(cur.trimEnd()); cur = '#     '; }
    cur += word;
  }
  out.push(cur.trimEnd());
  return out;
}
