/**
 * The normalize stage: raw mapped values -> canonical contact. Phones to E.164,
 * emails trimmed with the domain lowercased and checked, names tidied.
 * Problems are collected per row; a row with any problem fails as a whole
 * (except phones when the mapping marks them optional: then the row loads without
 * the bad number and the report says so).
 */
import type { CountryCode } from 'libphonenumber-js';
import { emptyContact, type Contact, type Phone } from '../contact.js';
import { inColumn, type ErrorCode } from '../errors.js';
import type { Mapping } from '../mapping/schema.js';
import { normalizePhoneCell, resolveCountry } from './phone.js';
import type { MappedRow } from './map.js';
import { collapseSpaces, titleCase } from './map.js';
import { HONORIFICS } from '../mapping/synonyms.js';

export interface RowProblem { code: ErrorCode; message: string; column?: string }

export interface NormalizeResult {
  contact: Contact;
  problems: RowProblem[];
  notes: string[];
}

// Pragmatic address check: one @, a local part whose dots separate atoms (no leading, trailing or
// double dot), a dotted domain of letters/digits/hyphens, no spaces.
const EMAIL_RE = /^[^\s@"<>(),;:\\[\].]+(\.[^\s@"<>(),;:\\[\].]+)*@([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$/;
// ";", "," or spaces, and " ::: " (Google Contacts puts several values of one kind in one cell so).
const LIST_SPLIT = /(?:[;,\s]|:::)+/;
// "Jane Doe <jane@x.com>" and "\"Doe, Jane\" <jane@x.com>" inside a list cell: keep only the
// address, so the display name's spaces and commas do not split it into bogus addresses.
const QUOTED_DISPLAY = /"[^"]*"\s*(?=<)/g;
const DISPLAY_NAME = /[^;,<>]*<([^<>]+)>/g;

const HARD_SPLIT = /(?:[;,]|:::)+/;
const SPACES = /\s+/;

/**
 * The addresses in one cell (separated by ";", ",", " ::: " or spaces), display names removed.
 * Spaces separate addresses only when every piece between them is one: "olivia chen@x.example"
 * is one address typed wrong, to be refused whole, not "olivia" and a valid chen@x.example
 * that belongs to someone else.
 */
export function splitEmailCell(cell: string): string[] {
  const v = cell.includes('<') ? cell.replace(QUOTED_DISPLAY, '').replace(DISPLAY_NAME, ' $1 ') : cell;
  const out: string[] = [];
  for (const part of v.split(HARD_SPLIT)) {
    const t = part.trim();
    if (!t) continue;
    if (!SPACES.test(t)) { out.push(t); continue; }
    const pieces = t.split(SPACES);
    if (pieces.every((p) => p.includes('@'))) out.push(...pieces);
    else out.push(t);
  }
  return out;
}

const MAILTO = /^mailto:/i;
const ANGLE = /<([^<>]+)>\s*$/; // "Jane Doe <jane@x.com>"

export function normalizeEmail(raw: string): string | undefined {
  let v = raw.trim();
  // Most cells are a bare address: each repair is looked for only where it can apply.
  if ((v.charCodeAt(0) | 0x20) === 0x6d && MAILTO.test(v)) v = v.slice(7);
  if (v.includes('<')) {
    const angle = ANGLE.exec(v);
    if (angle) v = angle[1].trim();
  }
  const at = v.lastIndexOf('@');
  if (at <= 0) return undefined;
  const domain = v.slice(at + 1);
  const lower = domain.toLowerCase();
  const out = lower === domain ? v : v.slice(0, at + 1) + lower;
  return EMAIL_RE.test(out) ? out : undefined;
}

/** Distinct owner cells remembered by one normalizer; past this the memory starts again. */
const MAX_OWNERS_KEPT = 10_000;

const UPPER = /\p{Lu}/u;
const LOWER = /\p{Ll}/u;
/**
 * The text has an uppercase letter and no lowercase one (Unicode's Lu and Ll). ASCII text is
 * decided by its code units: a name's second letter is usually lowercase, so most names are
 * answered after two of them, without the two Unicode regexes (issue #11: 48 ns a name against
 * 97 ns on the bench's names). The first code unit past ASCII hands the text to the regexes.
 */
export function isAllCaps(s: string): boolean {
  let upper = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x61 && c <= 0x7a) return false;
    if (c >= 0x80) return UPPER.test(s) && !LOWER.test(s);
    if (c >= 0x41 && c <= 0x5a) upper = true;
  }
  return upper;
}

// Titles written before a name ("Dr. Hans Müller", "Mme Durand"): not a first name. They are the
// honorifics init recognizes in a title column, less two that can start a name: "M" (Monsieur)
// counts only with its dot, since a bare "M" is as likely an initial, and "Ing" is also a given name.
const TITLES = new Set([...HONORIFICS].filter((t) => t !== 'm' && t !== 'ing')).add('m.');
// What may follow a comma without the comma meaning "Last, First": a suffix ("Smith, Jr.") or a
// company form ("Acme, Inc.").
const NOT_A_FIRST_NAME = new Set(['jr', 'sr', 'ii', 'iii', 'iv', 'phd', 'md', 'esq', 'mba', 'cpa', 'dds',
  'inc', 'llc', 'llp', 'ltd', 'co', 'corp', 'plc', 'gmbh', 'ag', 'kg', 'sa', 'sas', 'sarl', 'srl', 'spa', 'bv', 'nv', 'oy']);
const wordKey = (w: string) => { const k = w.toLowerCase(); return k === 'm.' ? k : k.replace(/\./g, ''); };

/**
 * A full name's first and last name: "Ada King Lovelace" is Ada + King Lovelace; "Lovelace, Ada"
 * (one comma, a given name after it) is Ada + Lovelace; titles in front are dropped ("Dr. Hans
 * Müller": Hans + Müller; "Dr. Müller": the last name alone). `name` has its spaces collapsed.
 */
export function splitFullName(name: string): { first?: string; last?: string } {
  const comma = name.indexOf(',');
  if (comma > 0 && comma === name.lastIndexOf(',')) {
    const last = name.slice(0, comma).trim();
    const given = name.slice(comma + 1).trim().split(' ').filter(Boolean);
    if (last && given.length && !NOT_A_FIRST_NAME.has(wordKey(given[0]))) {
      const first = withoutTitles(given);
      return first.length === 1 && TITLES.has(wordKey(first[0])) ? { last } : { first: first.join(' '), last };
    }
  }
  const words = name.split(' ');
  const rest = withoutTitles(words);
  if (rest.length < words.length) return rest.length > 1 ? { first: rest[0], last: rest.slice(1).join(' ') } : { last: rest[0] };
  return words.length > 1 ? { first: words[0], last: words.slice(1).join(' ') } : { first: name };
}

/** The words after any titles, keeping at least the last word. */
function withoutTitles(words: string[]): string[] {
  let i = 0;
  while (i < words.length - 1 && TITLES.has(wordKey(words[i]))) i++;
  return i ? words.slice(i) : words;
}

export function createNormalizer(mapping: Mapping) {
  const defaultCountry = mapping.phone.defaultCountry as CountryCode | undefined;
  const phonesOptional = mapping.phone.optional;
  const fixCaps = mapping.names.fixAllCaps;
  const { joinFirstLast, splitName } = mapping.names;
  // A file has few owners, each on many rows: each distinct cell is checked once.
  const owners = new Map<string, string | undefined>();
  const ownerOf = (raw: string) => {
    const known = owners.get(raw);
    // An invalid owner is remembered as undefined: only then is a second lookup needed.
    if (known !== undefined || owners.has(raw)) return known;
    if (owners.size >= MAX_OWNERS_KEPT) owners.clear();
    const owner = normalizeEmail(raw)?.toLowerCase();
    owners.set(raw, owner);
    return owner;
  };

  return function normalize(m: MappedRow): NormalizeResult {
    const c = emptyContact();
    const problems: RowProblem[] = [];
    const notes: string[] = [];
    const s = m.scalars;

    // The fields only tidied, one named store each, always in this order (the contact's key
    // order is its JSON's): a loop over their names made each a keyed access across every
    // shape of `s`.
    if (s.id) c.id = collapseSpaces(s.id);
    if (s.company) c.company = collapseSpaces(s.company);
    if (s.title) c.title = collapseSpaces(s.title);
    if (s.address) c.address = collapseSpaces(s.address);
    if (s.photoUrl) c.photoUrl = collapseSpaces(s.photoUrl);
    if (s.twitter) c.twitter = collapseSpaces(s.twitter);
    if (s.url) c.url = collapseSpaces(s.url);
    let name = s.name && collapseSpaces(s.name);
    let first = s.firstName && collapseSpaces(s.firstName);
    let last = s.lastName && collapseSpaces(s.lastName);
    if (fixCaps) {
      if (name && isAllCaps(name)) name = titleCase(name);
      if (first && isAllCaps(first)) first = titleCase(first);
      if (last && isAllCaps(last)) last = titleCase(last);
    }
    if (!name && joinFirstLast && (first || last)) name = first && last ? `${first} ${last}` : first || last;
    if (name && splitName && !first && !last) ({ first, last } = splitFullName(name));
    if (name) c.name = name;
    if (first) c.firstName = first;
    if (last) c.lastName = last;
    if (c.twitter) c.twitter = c.twitter.replace(/^@/, '');

    if (s.owner) {
      const owner = ownerOf(s.owner);
      if (owner) c.owner = owner;
      else problems.push({ code: 'FIELD_INVALID', message: `expected the owner's email address, got ${JSON.stringify(s.owner)}` });
    }

    for (const item of m.emails) {
      for (const part of splitEmailCell(item.value)) {
        const e = normalizeEmail(part);
        if (!e) problems.push({ code: 'EMAIL_INVALID', message: `expected an email address like name@example.com, got ${JSON.stringify(part)}`, column: item.column });
        else if (!c.emails.some((x) => x.toLowerCase() === e.toLowerCase())) c.emails.push(e);
      }
    }

    for (const item of m.websites) {
      for (const part of item.value.split(LIST_SPLIT)) if (part && !c.websites.includes(part)) c.websites.push(part);
    }

    if (m.phones.length) {
      let country = defaultCountry;
      if (m.country) {
        const rc = resolveCountry(m.country);
        if (rc) country = rc;
        else if (m.phones.some((p) => !/^\s*(\+|00)/.test(p.value))) {
          problems.push({ code: 'COUNTRY_UNKNOWN', message: `expected an ISO country code or country name, got ${JSON.stringify(m.country)}`, column: mapping.phone.countryColumn });
        }
      }
      for (const item of m.phones) {
        const r = normalizePhoneCell(item.value, { defaultCountry: country, label: item.label });
        for (const p of r.phones) addPhone(c.phones, p);
        for (const pr of r.problems) {
          if (phonesOptional) notes.push(`phone ${JSON.stringify(pr.raw)}${inColumn(item.column)} not loaded: ${pr.code} ${pr.message}`);
          else problems.push({ code: pr.code, message: pr.message, column: item.column });
        }
      }
    }

    for (const [k, v] of Object.entries(m.custom)) c.custom[k] = v;
    return { contact: c, problems, notes };
  };
}

/** Adds the number unless the contact has it already (same E.164 and extension: phoneKey). A row has a few. */
function addPhone(list: Phone[], p: Phone) {
  for (const q of list) if (q.e164 === p.e164 && (q.ext ?? '') === (p.ext ?? '')) return;
  list.push(p);
}
