/**
 * libphonenumber-js's parse + isValid() for a number already reduced to "+"? + digits,
 * with every metadata pattern compiled once.
 *
 * Why: a 200k-row profile put most of the phone step inside libphonenumber-js, and
 * most of that in helpers/matchesEntirely.js, which builds a `new RegExp` from pattern
 * text on each call, several times per number (national prefix, national pattern,
 * each number type, each country sharing a calling code). This module walks the same
 * steps as libphonenumber-js 1.13 (parse.js parsePhoneNumber, extractCountryCallingCode,
 * stripIddPrefix, extractCountryCallingCodeFromInternationalNumberWithoutPlusSign,
 * extractNationalNumber, getCountryByCallingCode, checkNumberLength, isValid) in the
 * same order, on the same `max` metadata read through the library's own Metadata class,
 * so it gives the same answer; test/phone-fast-identity.test.ts holds it to that
 * against the library on every generated bench number and on random input.
 *
 * It covers the plain case only: the caller passes digits it has extracted from text
 * made of digits and libphonenumber punctuation (see phone.ts plainDigits). Non-geographic
 * calling codes (+800, +881, ...) are left to the library (the answer is `undefined`).
 */
import { Metadata } from 'libphonenumber-js/core';
import metadataMax from 'libphonenumber-js/metadata.max.json';

/** A valid number's E.164, or why not: a ParseError reason, or '' for "parsed but not valid". */
export type FastAnswer = { number: string } | string;

// libphonenumber-js constants (constants.js).
const MIN_LENGTH_FOR_NSN = 2;
const MAX_LENGTH_FOR_NSN = 17;
const MAX_LENGTH_COUNTRY_CODE = 3;
const TYPES = ['FIXED_LINE', 'MOBILE', 'PREMIUM_RATE', 'TOLL_FREE', 'SHARED_COST', 'VOIP', 'PERSONAL_NUMBER', 'PAGER', 'UAN', 'VOICEMAIL'] as const;

interface MetadataApi {
  selectNumberingPlan(plan: string): void;
  hasCountry(country: string): boolean;
  hasCallingCode(code: string): boolean;
  getCountryCodesForCallingCode(code: string): string[] | undefined;
  isNonGeographicCallingCode(code: string): boolean;
  hasTypes(): boolean;
  nationalNumberPattern(): string;
  possibleLengths(): number[] | undefined;
  nationalPrefixForParsing(): string | undefined;
  nationalPrefixTransformRule(): string | undefined;
  leadingDigits(): string | undefined;
  IDDPrefix(): string;
  type(t: string): { pattern(): string; possibleLengths(): number[] | undefined } | undefined;
  numberingPlan: { callingCode(): string; nationalPrefix(): string | undefined; possibleLengths(): number[] | undefined };
}

interface Plan {
  callingCode: string;
  national: RegExp;
  /** Type patterns with their possible lengths; undefined when the plan has no types. */
  types: { re: RegExp; lengths: number[] | undefined }[] | undefined;
  possibleLengths: number[] | undefined;
  prefixForParsing: RegExp | undefined;
  transformRule: string | undefined;
  nationalPrefix: string | undefined;
  leadingDigits: RegExp | undefined;
  idd: RegExp | undefined;
}

const meta = new Metadata(metadataMax as never) as unknown as MetadataApi;
// Keyed the way the library selects a plan: a country ("US") or a calling code ("1",
// meaning that code's main country). At most a few hundred.
const plans = new Map<string, Plan>();

function plan(key: string): Plan {
  let p = plans.get(key);
  if (p) return p;
  const m = new Metadata(metadataMax as never) as unknown as MetadataApi;
  m.selectNumberingPlan(key);
  let types: Plan['types'];
  if (m.hasTypes()) {
    types = [];
    for (const t of TYPES) {
      const def = m.type(t);
      if (def && def.pattern()) types.push({ re: whole(def.pattern()), lengths: def.possibleLengths() });
    }
  }
  const npp = m.nationalPrefixForParsing();
  const ld = m.leadingDigits();
  const idd = m.IDDPrefix();
  p = {
    callingCode: m.numberingPlan.callingCode(),
    national: whole(m.nationalNumberPattern()),
    types,
    possibleLengths: m.numberingPlan.possibleLengths(),
    prefixForParsing: npp ? new RegExp('^(?:' + npp + ')') : undefined,
    transformRule: m.nationalPrefixTransformRule(),
    nationalPrefix: m.numberingPlan.nationalPrefix(),
    leadingDigits: ld ? new RegExp(ld) : undefined,
    idd: idd ? new RegExp(idd) : undefined,
  };
  plans.set(key, p);
  return p;
}

const whole = (pattern: string) => new RegExp('^(?:' + pattern + ')$');

/** getNumberType() !== undefined: the national pattern and some type's pattern match. */
function hasType(p: Plan, nn: string): boolean {
  if (!p.national.test(nn) || p.types === undefined) return false;
  for (const t of p.types) {
    if (t.lengths && t.lengths.indexOf(nn.length) < 0) continue;
    if (t.re.test(nn)) return true;
  }
  return false;
}

/** isValid(): like hasType, except that a plan without types is judged by its national pattern. */
function isValid(p: Plan, nn: string): boolean {
  if (p.types === undefined) return p.national.test(nn);
  return hasType(p, nn);
}

/** getCountryByCallingCode(); undefined for a calling code no country has. */
function countryByCallingCode(cc: string, nn: string): string | undefined {
  const countries = meta.getCountryCodesForCallingCode(cc);
  if (!countries) return undefined;
  if (countries.length === 1) return countries[0];
  for (const c of countries) {
    const p = plan(c);
    if (p.leadingDigits) {
      if (nn && nn.search(p.leadingDigits) === 0) return c;
    } else if (hasType(p, nn)) return c;
  }
  return undefined;
}

/** checkNumberLength() without a type. */
function lengthVerdict(nn: string, p: Plan): string {
  const lengths = p.possibleLengths;
  if (!lengths) return 'IS_POSSIBLE';
  const n = nn.length;
  if (lengths[0] === n) return 'IS_POSSIBLE';
  if (lengths[0] > n) return 'TOO_SHORT';
  if (lengths[lengths.length - 1] < n) return 'TOO_LONG';
  return lengths.indexOf(n, 1) >= 0 ? 'IS_POSSIBLE' : 'INVALID_LENGTH';
}

/** extractNationalNumberFromPossiblyIncompleteNumber(): the number without its national prefix. */
function stripNationalPrefix(number: string, p: Plan): string {
  if (!number || !p.prefixForParsing) return number;
  const match = p.prefixForParsing.exec(number);
  if (!match) return number;
  const groups = match.length - 1;
  const hasGroups = groups > 0 && match[groups];
  if (p.transformRule && hasGroups) return number.replace(p.prefixForParsing, p.transformRule);
  return number.slice(match[0].length);
}

/** extractNationalNumber(number, undefined, metadata with plan p selected). */
function extractNationalNumber(number: string, p: Plan): string {
  const nn = stripNationalPrefix(number, p);
  if (nn !== number) {
    if (p.national.test(number) && !p.national.test(nn)) return number;
    if (p.possibleLengths) {
      const country = countryByCallingCode(p.callingCode, nn);
      const verdict = lengthVerdict(nn, country ? plan(country) : p);
      if (verdict === 'TOO_SHORT' || verdict === 'INVALID_LENGTH') return number;
    }
  }
  return nn;
}

/** stripIddPrefix(): the number after the country's IDD, or undefined. */
function stripIdd(number: string, country: string): string | undefined {
  const idd = plan(country).idd;
  if (!idd) return undefined;
  const m = idd.exec(number);
  if (!m || m.index !== 0) return undefined;
  const rest = number.slice(m[0].length);
  if (rest.length > 0 && rest[0] === '0') return undefined;
  return rest;
}

/** What parse() makes of a number: its calling code, national number and the plan that judges it. */
interface Parsed { cc: string; nn: string; plan: Plan }

/**
 * parsePhoneNumberWithError(text, defaultCountry) then isValid(), for a text whose
 * libphonenumber reading is `digits` ("+"? and at least 3 digits: with fewer, the text
 * is not a viable number and parse() fails before any of this).
 * undefined when this case is left to the library.
 */
export function parsePlain(digits: string, defaultCountry: string | undefined): FastAnswer | undefined {
  const p = readPlain(digits, defaultCountry);
  if (p === undefined || typeof p === 'string') return p;
  return isValid(p.plan, p.nn) ? { number: '+' + p.cc + p.nn } : '';
}

/**
 * validatePhoneNumberLength(text, defaultCountry) for the same plain text: the ParseError
 * reason, the length verdict when it is not IS_POSSIBLE, or '' when the length is possible
 * (the library returns undefined). The library parses the text again (with extract: false,
 * which reads a plain text exactly as extraction does), selects the plan of the number's
 * country or else its calling code, and checks the national number's length against that
 * plan's possible lengths (checkNumberLength without a type), which is `lengthVerdict`
 * here. A failing number is asked this once or twice. undefined when left to the library.
 */
export function plainLength(digits: string, defaultCountry: string | undefined): string | undefined {
  const p = readPlain(digits, defaultCountry);
  if (p === undefined || typeof p === 'string') return p;
  const v = lengthVerdict(p.nn, p.plan);
  return v === 'IS_POSSIBLE' ? '' : v;
}

/** parse() up to the plan that judges the number, or the ParseError reason; undefined when left to the library. */
function readPlain(digits: string, defaultCountry: string | undefined): Parsed | string | undefined {
  if (defaultCountry !== undefined && !meta.hasCountry(defaultCountry)) return undefined;

  // extractCountryCallingCode()
  let number: string | undefined = digits;
  let cc: string | undefined;
  let withPlus = digits[0] === '+';
  if (!withPlus) {
    const withoutIdd = defaultCountry ? stripIdd(digits, defaultCountry) : undefined;
    if (withoutIdd && withoutIdd !== digits) {
      number = '+' + withoutIdd;
      withPlus = true;
    } else if (defaultCountry) {
      // extractCountryCallingCodeFromInternationalNumberWithoutPlusSign()
      const code = plan(defaultCountry).callingCode;
      if (digits.indexOf(code) === 0) {
        const p = plan(defaultCountry);
        const shorter = digits.slice(code.length);
        const shorterNN = extractNationalNumber(shorter, p);
        const nn = extractNationalNumber(digits, p);
        if ((!p.national.test(nn) && p.national.test(shorterNN)) || lengthVerdict(nn, p) === 'TOO_LONG') {
          cc = code;
          number = shorter;
        }
      }
    }
  }
  if (withPlus) {
    if (number[1] === '0') number = undefined;
    else {
      let found: string | undefined;
      for (let i = 2; i - 1 <= MAX_LENGTH_COUNTRY_CODE && i <= number.length; i++) {
        const code = number.slice(1, i);
        if (meta.hasCallingCode(code)) {
          found = code;
          number = number.slice(i);
          break;
        }
      }
      if (found === undefined) number = undefined;
      cc = found;
    }
  }

  // parsePhoneNumber()
  let country: string | undefined;
  let selected: Plan;
  if (cc) {
    if (meta.isNonGeographicCallingCode(cc)) return undefined;
    selected = plan(cc);
  } else if (number && defaultCountry) {
    country = defaultCountry;
    selected = plan(defaultCountry);
    cc = selected.callingCode;
  } else return 'INVALID_COUNTRY';
  if (!number) return 'TOO_SHORT';
  const nn = extractNationalNumber(number, selected);
  const exact = countryByCallingCode(cc, nn);
  if (exact) country = exact;

  // parse()
  if (!nn || nn.length < MIN_LENGTH_FOR_NSN) return 'TOO_SHORT';
  if (nn.length > MAX_LENGTH_FOR_NSN) return 'TOO_LONG';
  return { cc, nn, plan: plan(country || cc) };
}
