/**
 * Phone cells -> E.164. This is the hottest step of a run (FACTS.md: ~20 µs per number),
 * so every pattern is compiled once here, the common case (one number, or an already
 * E.164 string) takes the shortest path, and the repair attempts (international
 * prefix, vanity letters) run only after a plain parse has failed and are kept only
 * when they produce a number the metadata calls valid. Nothing is ever guessed into
 * validity: a spreadsheet's scientific notation is reported, not reconstructed.
 *
 * `max` metadata because validity matters (FACTS.md: `min` disagrees with
 * google-libphonenumber on ~1% of verdicts).
 *
 * A number written with digits and punctuation only (~96% of them) is parsed and
 * validated by phone-parse.ts, libphonenumber-js's own steps on its own metadata with
 * the patterns compiled once, and so is the length verdict of one that fails; the rest
 * go through the library, validated by phone-validity.ts. Both give the library's answers
 * exactly: test/phone-fast-identity compares the whole cell normalizer with the
 * pre-optimization one (parse, isValid() and validatePhoneNumberLength() of the library).
 */
import {
  ParseError,
  isSupportedCountry,
  parsePhoneNumberWithError,
  validatePhoneNumberLength,
  type PhoneNumber,
} from 'libphonenumber-js/max';
import type { CountryCode } from 'libphonenumber-js';
import type { Phone } from '../contact.js';
import type { ErrorCode } from '../errors.js';
import { COUNTRY_TABLE, countryKey } from './countries.js';
import { LOCAL_COUNTRY_NAMES } from './country-names.js';
import { isValidParsed, type ParsedNumber } from './phone-validity.js';
import { parsePlain, plainLength } from './phone-parse.js';

export interface PhoneProblem { code: ErrorCode; raw: string; message: string }
export interface PhoneCellResult { phones: Phone[]; problems: PhoneProblem[] }

// ---------------------------------------------------------------- countries

const ALPHA3 = new Map<string, CountryCode>();
const NAMES = new Map<string, CountryCode>();
for (const [code, entry] of Object.entries(COUNTRY_TABLE)) {
  if (!isSupportedCountry(code)) continue;
  const [alpha3, ...names] = entry.split('|');
  ALPHA3.set(alpha3, code);
  for (const n of names) NAMES.set(countryKey(n), code);
}
// The same countries' names in the other languages init reads headers in (generated: no name
// there is another country's key, so none overrides the English table).
for (const [code, entry] of Object.entries(LOCAL_COUNTRY_NAMES)) {
  if (!isSupportedCountry(code)) continue;
  for (const n of entry.split('|')) NAMES.set(countryKey(n), code);
}

const TWO_LETTERS = /^[A-Za-z]{2}$/;
const THREE_LETTERS = /^[A-Za-z]{3}$/;
// A country column has few distinct values, so resolving each once is enough; the cap
// only guards against a column that is really free text.
const COUNTRY_CACHE_MAX = 2048;
const countryCache = new Map<string, CountryCode | undefined>();

/** Is this a two-letter code libphonenumber knows? (used to validate mapping.phone.defaultCountry) */
export function isKnownCountry(code: string): boolean {
  return TWO_LETTERS.test(code) && isSupportedCountry(code.toUpperCase());
}

/**
 * Resolve a per-row country cell: ISO alpha-2 ("us", "GB"), alpha-3 ("DEU"), or a country
 * name in English ("United Kingdom", "Germany", "UK", "USA", "England") or in German, French,
 * Spanish, Italian, Portuguese or Dutch ("Frankreich", "Royaume-Uni", "Países Bajos").
 * undefined when unknown, or when libphonenumber has no metadata for the country.
 */
export function resolveCountry(value: string): CountryCode | undefined {
  if (countryCache.has(value)) return countryCache.get(value);
  const resolved = lookupCountry(value.trim());
  if (countryCache.size >= COUNTRY_CACHE_MAX) countryCache.clear();
  countryCache.set(value, resolved);
  return resolved;
}

function lookupCountry(v: string): CountryCode | undefined {
  if (!v) return undefined;
  if (TWO_LETTERS.test(v)) {
    const up = v.toUpperCase();
    if (isSupportedCountry(up)) return up;
  } else if (THREE_LETTERS.test(v)) {
    const c = ALPHA3.get(v.toUpperCase());
    if (c) return c;
  }
  return NAMES.get(countryKey(v));
}

// ---------------------------------------------------------------- cells

const ALREADY_E164 = /^\+[1-9]\d{6,14}$/;
const NON_ASCII = /[^\x00-\x7f]/;
// Bidi marks and zero-width characters arrive with numbers copied from web pages,
// Outlook and Excel; they are invisible in the report but break parsing.
const INVISIBLE = /[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]/g;
const DASHES = /[\u2010-\u2015\u2212\u30fc\ufe58\ufe63\uff0d]/g;
const BLANK = /^(?:-+|n\/?a|n\.a\.?|none|null|nil)$/i;
const HAS_DIGIT = /\p{Nd}/u;
// Excel shows a long number as 4.15555E+09 and a CSV export keeps that text: the
// trailing digits are gone for good.
const SCIENTIFIC = /^[+-]?\d+(?:[.,]\d*)?\s*e\s*[+-]?\d+$/i;
// "4155552671.0": a float column; nothing was lost.
const FLOAT_ZERO = /^(\+?\d+)\.0+$/;

// Separators between numbers. `;` is not one when it starts an RFC 3966 ";ext=".
// " ::: " is how Google Contacts exports several values of one kind in one cell.
// The capture group keeps the separators so that a soft one can be put back.
const SEPARATOR_TEST = /[\r\n|;,/]|\sor\s|:::/i;
const SEPARATOR_SPLIT = /(\r\n?|\n|\||:::|;(?!\s*ext=)|\s+or\s+|,|\/)/i;
// A segment that is only an extension ("ext 3" in "+1 (415) 555-2671, ext 3").
const EXT_ONLY = /^(?:ext(?:ension|n)?|x|#)[\s.:=]*(\d{1,10})$/i;
// Commas and slashes also sit inside one number ("030/1234567", "415, 555 2671");
// they separate two numbers only when both sides are long enough to be one.
const MIN_FULL_NUMBER = 7;

// Vanity numbers: starts like a number, has letters, possibly an extension after.
const VANITY = /^(\s*\+?\s*\(?\s*\d[\d\s().-]*[A-Za-z][A-Za-z\d\s().-]*?)(?:[\s,;]*(?:ext(?:ension|n)?|x|#)[\s.:=]*(\d{1,10}))?\s*$/i;
const LETTER = /[A-Za-z]/g;
const LOWERCASE = /[a-z]/;
const MIN_VANITY_LETTERS = 3;
const KEYPAD = '22233344455566677778889999';
const keypadDigit = (ch: string) => KEYPAD[(ch.charCodeAt(0) | 0x20) - 97];

// International prefixes written instead of "+": 00 (most of the world), 011 (NANP),
// 0011 (Australia). Only tried after the number failed with the default country,
// because 011x is also a British area code (0113 Leeds). Exported so that the phone
// benchmark can give google-libphonenumber the same rule.
export const INTL_PREFIX = /^(?:0011|011|00)[\s.-]*(?=[1-9])/;

/** One number's parse and check: the valid number, or why not (a ParseError reason, or '' for "parsed but not valid"). */
export type PhoneAttempt = (text: string, country: CountryCode | undefined) => Found | string;

/**
 * validatePhoneNumberLength() of a number that parsed but is not valid: TOO_SHORT,
 * TOO_LONG, INVALID_LENGTH (or a ParseError reason), '' when its length is possible.
 */
export type PhoneLength = (text: string, country: CountryCode | undefined) => string;

/** How one number is read: its parse-and-check, and the length verdict of one that fails it. */
export interface PhoneReader { attempt: PhoneAttempt; length: PhoneLength }

/**
 * The cell normalizer (splitting, extensions, the international-prefix and vanity retries,
 * the messages) around one number reader. The tool uses its fast `attempt` and `length`;
 * test/helpers/phone-reference.ts passes the plain library calls, so the identity test
 * compares exactly what the fast path changed.
 */
export function phoneCellNormalizer(read: PhoneReader) {
  return (raw: string, opts: { defaultCountry?: CountryCode; label?: string }): PhoneCellResult => normalizeCell(raw, opts, read);
}

/** Normalize one cell that may hold zero, one or several numbers. */
export const normalizePhoneCell = phoneCellNormalizer({ attempt, length: plainOrLibraryLength });

function normalizeCell(
  raw: string,
  opts: { defaultCountry?: CountryCode; label?: string },
  read: PhoneReader,
): PhoneCellResult {
  const out: PhoneCellResult = { phones: [], problems: [] };
  let text = raw.trim();
  if (!text) return out;
  if (ALREADY_E164.test(text)) {
    normalizeOne(text, opts.defaultCountry, opts.label, out, read);
    return out;
  }
  if (NON_ASCII.test(text)) {
    // NFKC folds full-width digits and "+", and NBSP / ideographic spaces, to ASCII.
    text = text.normalize('NFKC').replace(INVISIBLE, '').replace(DASHES, '-').trim();
    if (!text) return out;
  }
  if (BLANK.test(text)) return out;
  if (!SEPARATOR_TEST.test(text) || SCIENTIFIC.test(text)) {
    normalizeOne(text, opts.defaultCountry, opts.label, out, read);
    return out;
  }
  for (const piece of splitNumbers(text)) normalizeOne(piece, opts.defaultCountry, opts.label, out, read);
  return out;
}

/** The numbers of a cell that holds several, split as normalization splits them (draft.ts judges columns by it). */
export function splitNumbers(text: string): string[] {
  const parts = text.split(SEPARATOR_SPLIT);
  const pieces: string[] = [];
  let cur = parts[0];
  for (let i = 1; i < parts.length; i += 2) {
    const sep = parts[i];
    const next = parts[i + 1];
    const ext = EXT_ONLY.exec(next.trim());
    if (ext) {
      cur += ' ext ' + ext[1];
    } else if ((sep !== ',' && sep !== '/') || (numberish(cur) >= MIN_FULL_NUMBER && numberish(next) >= MIN_FULL_NUMBER)) {
      pieces.push(cur);
      cur = next;
    } else {
      // libphonenumber reads "415/555-2671" but not "415, 555 2671".
      cur += (sep === ',' ? ' ' : sep) + next;
    }
  }
  pieces.push(cur);
  return pieces;
}

/** Digits plus capital letters (vanity numbers count their letters). */
function numberish(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c >= 48 && c <= 57) || (c >= 65 && c <= 90)) n++;
  }
  return n;
}

function normalizeOne(piece: string, country: CountryCode | undefined, label: string | undefined, out: PhoneCellResult, read: PhoneReader) {
  const t = piece.trim();
  if (!t || BLANK.test(t)) return;
  if (SCIENTIFIC.test(t)) {
    out.problems.push({
      code: 'PHONE_MANGLED',
      raw: t,
      message: `expected the number's digits, got ${JSON.stringify(t)} (scientific notation from a spreadsheet: the last digits are lost)`,
    });
    return;
  }
  if (!HAS_DIGIT.test(t)) {
    out.problems.push(failure('PHONE_NOT_A_NUMBER', t, 'NOT_A_NUMBER: no digits'));
    return;
  }
  const zero = FLOAT_ZERO.exec(t);
  const text = zero ? zero[1] : t;

  let found = read.attempt(text, country);
  if (typeof found === 'string') {
    const firstReason = found;
    const intl = INTL_PREFIX.exec(text);
    const retry = intl ? '+' + text.slice(intl[0].length) : text;
    if (intl) found = read.attempt(retry, country);
    const vanity = typeof found === 'string' ? vanityDigits(retry) : undefined;
    if (vanity !== undefined) found = read.attempt(vanity, country);
    if (typeof found === 'string') {
      let reason = lengthVerdict(firstReason, text, country, read);
      // "1-800-MATTRESS" is better explained by its keypad digits (one too many) than
      // by "not a number"; lowercase words are more likely a label ("555 0123 home").
      if (vanity !== undefined && reason === 'NOT_A_NUMBER' && !LOWERCASE.test(retry)) {
        reason = lengthVerdict(found, vanity, country, read);
      }
      out.problems.push(explain(reason, t, country));
      return;
    }
  }
  const e164 = found.number;
  const ext = found.ext;
  for (const p of out.phones) if (p.e164 === e164 && p.ext === ext) return;
  const phone: Phone = { e164 };
  if (ext) phone.ext = ext;
  if (label !== undefined) phone.label = label;
  out.phones.push(phone);
}

export interface Found { number: string; ext?: string }

/** A valid number, or why not: a ParseError reason, or '' for "parsed but not valid". */
function attempt(text: string, country: CountryCode | undefined): Found | string {
  const digits = plainDigits(text);
  if (digits !== undefined) return parsePlain(digits, country) ?? parseAndValidate(text, country);
  const withExt = plainWithExtension(text);
  if (withExt) {
    const fast = parsePlain(withExt.digits, country);
    if (fast !== undefined) return typeof fast === 'string' ? fast : { number: fast.number, ext: withExt.ext };
  }
  return parseAndValidate(text, country);
}

function parseAndValidate(text: string, country: CountryCode | undefined): Found | string {
  let p: PhoneNumber;
  try {
    p = parsePhoneNumberWithError(text, country);
  } catch (e) {
    if (e instanceof ParseError) return e.message;
    throw e;
  }
  return isValidParsed(p as unknown as ParsedNumber) ? p : '';
}

// A text made only of digits, spaces, "()", ".", "-" and "/", with at least 3 digits,
// starting with "+", "(" or a digit and ending with a digit, is read by libphonenumber
// as its "+"? + digits and nothing else: it is viable as a whole (every such character
// is libphonenumber punctuation), it holds no extension (those need letters, "#", ","
// or ";"), extraction starts at its first "+" or digit and keeps its last digit, and
// parseIncompletePhoneNumber() keeps only the leading "+" and the digits. That covers
// ~96% of the bench's numbers, and those go through phone-parse.ts, as do plain texts
// with an extension in a usual form (plainWithExtension); any other text (letters,
// non-ASCII, odd punctuation) through the library itself.
const MAX_PLAIN_LENGTH = 40;
const PLUS = 43;
const OPEN = 40;

/** What libphonenumber reads in a plain text ("+"? + digits), or undefined when the text is not plain. */
function plainDigits(text: string): string | undefined {
  const n = text.length;
  if (n === 0 || n > MAX_PLAIN_LENGTH) return undefined;
  let digits = '';
  let i = 0;
  const first = text.charCodeAt(0);
  if (first === PLUS) {
    digits = '+';
    i = 1;
  } else if (first === OPEN) i = 1;
  if (i >= n || !isDigit(text.charCodeAt(i)) || !isDigit(text.charCodeAt(n - 1))) return undefined;
  let count = 0;
  for (; i < n; i++) {
    const c = text.charCodeAt(i);
    if (isDigit(c)) {
      digits += text[i];
      count++;
    } else if (c !== 32 && c !== 40 && c !== 41 && c !== 45 && c !== 46 && c !== 47) return undefined;
  }
  return count < 3 ? undefined : digits;
}

const isDigit = (c: number) => c >= 48 && c <= 57;

// A plain text followed by an extension in one of the usual ways: "x12", " ext. 12",
// " Ext: 12", " extension 12", " #12", ";ext=12". The library takes such an extension off
// the end (extractExtension(), a regular expression of every known label, at its first
// separator) and reads what is left exactly as it reads that text alone, so the number is
// the plain text's and the extension the digits (phone-fast-identity.test.ts holds both
// to the library). The bench's 6,020 such numbers in 200k rows took 16-19 µs each through
// the library and take 1.6-2.8 µs here; a CRM's office numbers often carry one. Anything
// else (commas, dashes, non-ASCII digits, a trailing "#", more digits than the library's
// limit for the label) goes to the library.
const EXT_LABELLED = /^(.*\d) *(?:(ext(?:ension|n)?)|x|#)[.:]? *(\d+)$/i;
const EXT_RFC3966 = /^(.*\d);ext=(\d{1,20})$/;
/** The library's longest extension after an explicit label ("ext", "extension") and after "x" or "#". */
const MAX_EXT_EXPLICIT = 20;
const MAX_EXT_AMBIGUOUS = 9;

/** The plain number's digits and the extension, when `text` is a plain text and an extension. */
function plainWithExtension(text: string): { digits: string; ext: string } | undefined {
  if (text.length > MAX_PLAIN_LENGTH + 40) return undefined;
  const m = EXT_LABELLED.exec(text);
  let main: string;
  let ext: string;
  if (m) {
    if (m[3].length > (m[2] ? MAX_EXT_EXPLICIT : MAX_EXT_AMBIGUOUS)) return undefined;
    main = m[1];
    ext = m[3];
  } else {
    const r = EXT_RFC3966.exec(text);
    if (!r) return undefined;
    main = r[1];
    ext = r[2];
  }
  const digits = plainDigits(main);
  return digits === undefined ? undefined : { digits, ext };
}

/** The text with keypad digits for its letters, when it looks like a vanity number. */
function vanityDigits(text: string): string | undefined {
  const m = VANITY.exec(text);
  if (!m) return undefined;
  const main = m[1];
  let letters = 0;
  for (let i = 0; i < main.length; i++) {
    const c = main.charCodeAt(i) | 0x20;
    if (c >= 97 && c <= 122) letters++;
  }
  if (letters < MIN_VANITY_LETTERS) return undefined;
  const digits = main.replace(LETTER, keypadDigit);
  return m[2] ? `${digits} ext ${m[2]}` : digits;
}

const REASON_CODES: Record<string, ErrorCode> = {
  TOO_SHORT: 'PHONE_TOO_SHORT',
  TOO_LONG: 'PHONE_TOO_LONG',
  INVALID_COUNTRY: 'PHONE_INVALID_COUNTRY',
  NOT_A_NUMBER: 'PHONE_NOT_A_NUMBER',
};

/** A parse that succeeded but is not valid gets the length verdict, which tells a
 * missing area code (TOO_SHORT) from two numbers run together (TOO_LONG). */
function lengthVerdict(reason: string, text: string, country: CountryCode | undefined, read: PhoneReader): string {
  return reason || read.length(text, country) || 'INVALID';
}

/**
 * The tool's length verdict: phone-parse.ts for a plain text (the library compiles its
 * patterns on every call: 7-16 µs a number more, measured on the bench's failing numbers),
 * else the library.
 */
function plainOrLibraryLength(text: string, country: CountryCode | undefined): string {
  const digits = plainDigits(text);
  const fast = digits === undefined ? undefined : plainLength(digits, country);
  return fast ?? validatePhoneNumberLength(text, country) ?? '';
}

function explain(reason: string, raw: string, country: CountryCode | undefined): PhoneProblem {
  const code = REASON_CODES[reason] ?? 'PHONE_INVALID';
  let detail = reason;
  if (reason === 'INVALID_COUNTRY') detail += country ? ': the country code is not one that exists' : ': no +country code and no default country';
  else if (code === 'PHONE_INVALID') detail += country ? `: not a valid number for ${country} or its +country code` : ': not a valid number for its +country code';
  return failure(code, raw, detail);
}

function failure(code: ErrorCode, raw: string, detail: string): PhoneProblem {
  return { code, raw, message: `expected a number convertible to E.164, got ${JSON.stringify(raw)} (${detail})` };
}
