/**
 * The optimized phone normalizer must give exactly the answers of the straightforward
 * one (test/helpers/phone-reference.ts: the same cell normalizer with the parse-and-check it had before the performance work, every
 * number through parsePhoneNumberWithError + isValid()): same E.164, same extension,
 * same label, same problems with the same messages, in the same order.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { getCountries, getCountryCallingCode, parsePhoneNumberWithError, ParseError, validatePhoneNumberLength, type CountryCode } from 'libphonenumber-js/max';
import { normalizePhoneCell, resolveCountry } from '../pipeline/transforms/phone.js';
import { parsePlain, plainLength } from '../pipeline/transforms/phone-parse.js';
import { isValidParsed, type ParsedNumber } from '../pipeline/transforms/phone-validity.js';
import { normalizePhoneCell as referenceCell } from './helpers/phone-reference.js';
import { generateRows, GENERATED_COUNTRIES, Rng } from './bench/generate.js';

const COUNTRIES = getCountries();

function same(raw: string, country: CountryCode | undefined, label?: string) {
  const opts = { defaultCountry: country, label };
  assert.deepEqual(normalizePhoneCell(raw, opts), referenceCell(raw, opts), `${JSON.stringify(raw)} with default ${country ?? 'none'}`);
}

describe('same answers as the reference', () => {
  test('every phone cell and every written number of 50,000 generated rows, all 13 countries', () => {
    const seen = new Set<string>();
    let cells = 0;
    for (const row of generateRows(50_000, 7)) {
      const country = ((row.values[8] && resolveCountry(row.values[8])) || 'US') as CountryCode;
      for (const col of [6, 7]) {
        if (!row.values[col]) continue;
        same(row.values[col], country, col === 6 ? 'work' : 'other');
        cells++;
      }
      for (const n of row.numbers) {
        if (n.iso) seen.add(n.iso);
        // The number on its own with the country it was written for, and with none.
        same(n.text, (n.iso || 'US') as CountryCode);
        same(n.text, undefined);
      }
    }
    assert.ok(cells > 50_000, `${cells} cells`);
    assert.deepEqual([...seen].sort(), [...GENERATED_COUNTRIES].sort());
  });

  test('every string of the real-world table (test/phone-normalize.test.ts), with several default countries', () => {
    const source = readFileSync(new URL('./phone-normalize.test.ts', import.meta.url), 'utf8');
    const strings = new Set<string>();
    for (const m of source.matchAll(/'((?:[^'\\\n]|\\.)*)'/g)) {
      if (/\d/.test(m[1])) strings.add(JSON.parse('"' + m[1].replace(/\\'/g, "'").replace(/"/g, '\\"') + '"'));
    }
    assert.ok(strings.size >= 150, `${strings.size} strings`);
    for (const s of strings) {
      for (const c of [undefined, 'US', 'GB', 'DE', 'FR', 'AU', 'IN', 'BR', 'JP', 'NL', 'CA'] as (CountryCode | undefined)[]) {
        same(s, c);
      }
    }
  });

  test('random strings of digits, "+", spaces and punctuation, random default countries', () => {
    const chars = fc.constantFrom(...'0123456789 +-().#/,;x'.split(''), 'ext', ' or ', '\u00a0', '\u2013', '０', '00', '011');
    const country = fc.option(fc.constantFrom(...COUNTRIES), { nil: undefined });
    fc.assert(fc.property(fc.array(chars, { maxLength: 30 }), country, (parts, c) => {
      same(parts.join(''), c);
    }), { numRuns: 8000, seed: 11 });
  });

  test('numbers with an extension: every label, separator and digit count around the library\'s limits', () => {
    // What phone.ts reads itself (plain number + " x12", " ext. 12", ";ext=12"...) and what
    // it must leave to the library (commas, dashes, a trailing "#", other labels, too many digits).
    const main = fc.constantFrom('415 555 2671', '(415) 555-2671', '+44 20 7946 0958', '020 7946 0958', '+1-604-906-3547',
      '305.783.8022', '030 901820', '+33 1 42 68 53 00', '1 (702) 240 7802', '12', '+999 123 4567', '555 0123 4567 8901 2345');
    const before = fc.constantFrom('', ' ', '  ', ',', ' ,', '\t', '\u00a0', ', ');
    const label = fc.constantFrom('x', 'X', 'ext', 'Ext', 'EXT', 'extn', 'xt', 'extension', 'Extension', 'extensión', '#', '~', 'int',
      'anexo', ';ext=', ',,', ';', ',', 'ｘ', 'e x t', 'ex');
    const after = fc.constantFrom('', '.', ':', ' ', '. ', ': ', '-', ' - ', '.-', '..');
    const country = fc.option(fc.constantFrom('US', 'GB', 'DE', 'FR', 'CA', 'IN', 'AU', 'BR', 'JP'), { nil: undefined });
    fc.assert(fc.property(main, before, label, after, fc.integer({ min: 1, max: 24 }), fc.constantFrom('', '#', ' '), country,
      (m, b, l, a, n, end, c) => {
        same(`${m}${b}${l}${a}${'123456789'.repeat(3).slice(0, n)}${end}`, c as CountryCode | undefined);
      }), { numRuns: 6000, seed: 13 });
  });

  test('random numbers built to be near-valid: calling codes, trunk and international prefixes, separators', () => {
    const prefix = fc.constantFrom('+', '00', '011', '0011', '', '0', '+ ', '(+', '1 ', '8');
    const code = fc.constantFrom(...COUNTRIES.map((c) => getCountryCallingCode(c)));
    const body = fc.array(fc.tuple(fc.stringMatching(/^\d{1,4}$/), fc.constantFrom('', ' ', '-', '.', ') ', ' (0) ', '/')), { minLength: 1, maxLength: 5 });
    const country = fc.option(fc.constantFrom(...COUNTRIES), { nil: undefined });
    fc.assert(fc.property(prefix, fc.boolean(), code, body, country, (p, withCode, cc, parts, c) => {
      const text = p + (withCode ? cc + ' ' : '') + parts.map(([d, s]) => d + s).join('').trim();
      same(text, c);
    }), { numRuns: 15000, seed: 12 });
  });
});

describe('isValidParsed', () => {
  test('gives isValid()\'s verdict for random national numbers of every country, at every possible length', () => {
    const r = new Rng(5);
    let valid = 0;
    let checked = 0;
    for (const country of COUNTRIES) {
      for (let i = 0; i < 150; i++) {
        const text = r.digits(4 + r.int(10));
        // National and international: the second exercises the calling-code plans.
        for (const [t, c] of [[text, country], ['+' + getCountryCallingCode(country) + text, undefined]] as const) {
          let p;
          try { p = parsePhoneNumberWithError(t, c); } catch (e) { if (e instanceof ParseError) continue; throw e; }
          const want = p.isValid();
          assert.equal(isValidParsed(p as unknown as ParsedNumber), want, `${t} ${c ?? ''}`);
          checked++;
          if (want) valid++;
        }
      }
    }
    assert.ok(checked > 50_000 && valid > 1000, `${checked} checked, ${valid} valid`);
  });
});

describe('parsePlain', () => {
  /** The library's answer in parsePlain's terms. */
  function library(digits: string, country: CountryCode | undefined): string {
    try {
      const p = parsePhoneNumberWithError(digits, country);
      return p.isValid() ? p.number : 'invalid';
    } catch (e) {
      if (e instanceof ParseError) return e.message;
      throw e;
    }
  }
  function fast(digits: string, country: CountryCode | undefined): string | undefined {
    const a = parsePlain(digits, country);
    return a === undefined ? undefined : typeof a === 'string' ? a || 'invalid' : a.number;
  }

  test('answers as parse + isValid() for every generated number\'s digits, and leaves almost none to the library', () => {
    let answered = 0;
    let total = 0;
    const verdicts = new Map<string, number>();
    for (const row of generateRows(20_000, 3)) {
      for (const n of row.numbers) {
        const m = /^(\+?)[^\d]*([\d\s().\/-]*\d)$/.exec(n.text.trim());
        if (!m) continue;
        const digits = m[1] + m[2].replace(/\D/g, '');
        if (digits.replace('+', '').length < 3) continue;
        for (const c of [(n.iso || 'US') as CountryCode, undefined]) {
          total++;
          const got = fast(digits, c);
          if (got === undefined) continue;
          answered++;
          assert.equal(got, library(digits, c), `${digits} ${c ?? ''}`);
          const v = got.startsWith('+') ? 'valid' : got;
          verdicts.set(v, (verdicts.get(v) ?? 0) + 1);
        }
      }
    }
    assert.ok(answered / total > 0.999, `${answered} of ${total}`);
    // Every kind of answer was compared, not only the happy path.
    for (const v of ['valid', 'invalid', 'INVALID_COUNTRY']) assert.ok((verdicts.get(v) ?? 0) > 0, `${v}: ${JSON.stringify([...verdicts])}`);
  });

  test('answers as parse + isValid() for random digit strings: national, "+", IDD prefixes, every country', () => {
    const lead = fc.constantFrom('', '+', '0', '00', '011', '0011', '810', '+0', '1', '8', '+1', '+7', '+44', '+39');
    const country = fc.option(fc.constantFrom(...COUNTRIES), { nil: undefined });
    let answered = 0;
    fc.assert(fc.property(lead, fc.stringMatching(/^\d{1,18}$/), country, (l, d, c) => {
      const digits = l + d;
      // phone.ts hands it at least 3 digits: shorter texts are not viable numbers to libphonenumber.
      if (digits.replace('+', '').length < 3) return;
      const got = fast(digits, c);
      if (got === undefined) return;
      answered++;
      assert.equal(got, library(digits, c), `${digits} ${c ?? ''}`);
    }), { numRuns: 20000, seed: 13 });
    assert.ok(answered > 18_000, `${answered}`);
  });

  test('keeps a national prefix whose removal would break the national pattern (found by search, rare in random input)', () => {
    for (const [digits, country, want] of [
      ['9004929598', 'BR', '+559004929598'],
      ['8000502839', 'BY', '+3758000502839'],
      ['007878362293', 'JP', '+81007878362293'],
      ['007980274696', 'KR', '+82007980274696'],
    ] as const) {
      assert.equal(library(digits, country), want);
      assert.equal(fast(digits, country), want, `${digits} ${country}`);
      same(digits, country);
    }
  });

  test('plainLength answers as validatePhoneNumberLength() for random digit strings: national, "+", IDD prefixes, every country', () => {
    const lead = fc.constantFrom('', '+', '0', '00', '011', '0011', '1', '8', '+1', '+7', '+44', '+52 1', '+39');
    const country = fc.option(fc.constantFrom(...COUNTRIES), { nil: undefined });
    let answered = 0;
    const verdicts = new Map<string, number>();
    fc.assert(fc.property(lead, fc.stringMatching(/^\d{1,18}$/), country, (l, d, c) => {
      const digits = (l + d).replace(' ', '');
      if (digits.replace('+', '').length < 3) return;
      const got = plainLength(digits, c);
      if (got === undefined) return;
      answered++;
      const want = validatePhoneNumberLength(digits, c) ?? '';
      assert.equal(got, want, `${digits} ${c ?? ''}`);
      verdicts.set(got, (verdicts.get(got) ?? 0) + 1);
    }), { numRuns: 20000, seed: 17 });
    assert.ok(answered > 18_000, `${answered}`);
    // Every verdict was compared: possible (''), too short, too long, a length between, and a parse error.
    for (const v of ['', 'TOO_SHORT', 'TOO_LONG', 'INVALID_LENGTH', 'INVALID_COUNTRY']) assert.ok((verdicts.get(v) ?? 0) > 0, `${v}: ${JSON.stringify([...verdicts])}`);
  });

  test('leaves non-geographic calling codes to the library', () => {
    assert.equal(parsePlain('+80012345678', undefined), undefined);
    assert.equal(plainLength('+800123', undefined), undefined);
    assert.equal(library('+80012345678', undefined), '+80012345678');
    assert.equal(normalizePhoneCell('+800 1234 5678', {}).phones[0]?.e164, '+80012345678');
  });
});
