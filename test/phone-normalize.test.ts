import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
import { isKnownCountry, normalizePhoneCell, resolveCountry } from '../pipeline/transforms/phone.js';
import { COUNTRY_TABLE, countryKey } from '../pipeline/transforms/countries.js';
import { LOCAL_COUNTRY_NAMES } from '../pipeline/transforms/country-names.js';
import { ERROR_CODES } from '../pipeline/errors.js';

// google-libphonenumber ships no types; only these calls are used, as the reference.
interface GoogleNumber { getExtension(): string | undefined }
interface GoogleUtil {
  parseAndKeepRawInput(text: string, region: string): GoogleNumber;
  isValidNumber(n: GoogleNumber): boolean;
  format(n: GoogleNumber, format: number): string;
}
const google = createRequire(import.meta.url)('google-libphonenumber') as {
  PhoneNumberUtil: { getInstance(): GoogleUtil };
  PhoneNumberFormat: { E164: number };
};
const gutil = google.PhoneNumberUtil.getInstance();

/** The reference's verdict: E.164 (+ "x" ext) when valid, undefined when invalid or unparseable. */
function reference(text: string, country?: CountryCode): string | undefined {
  try {
    const n = gutil.parseAndKeepRawInput(text, country ?? 'ZZ');
    if (!gutil.isValidNumber(n)) return undefined;
    const ext = n.getExtension();
    return gutil.format(n, google.PhoneNumberFormat.E164) + (ext ? `x${ext}` : '');
  } catch {
    return undefined;
  }
}

/** One cell's outcome as a compact string: "+14155552671x12", or the problem code. */
function outcome(raw: string, country?: CountryCode): string {
  const r = normalizePhoneCell(raw, { defaultCountry: country });
  return [...r.phones.map((p) => p.e164 + (p.ext ? `x${p.ext}` : '')), ...r.problems.map((p) => p.code)].join(' ');
}

interface Case {
  raw: string;
  country?: CountryCode;
  /** E.164 (with "x" + extension) or the expected problem code. */
  want: string;
  /** Repairs the reference does not attempt (00 with a non-00 country, 011 with no country, ".0"). */
  beyondReference?: true;
}

const CASES: Case[] = [
  // United States
  { raw: '(201) 555-0123', country: 'US', want: '+12015550123' },
  { raw: '201.555.0123', country: 'US', want: '+12015550123' },
  { raw: '+1 212 736 5000', country: 'US', want: '+12127365000' },
  { raw: '212-736-5000', country: 'US', want: '+12127365000' },
  { raw: '1 (650) 253-0000', country: 'US', want: '+16502530000' },
  { raw: '650 253 0000', country: 'US', want: '+16502530000' },
  { raw: '+1-312-555-0147', country: 'US', want: '+13125550147' },
  { raw: '(617) 253-1000', country: 'US', want: '+16172531000' },
  { raw: '415-555-2671 x12', country: 'US', want: '+14155552671x12' },
  { raw: '+1 (201) 555-0123, ext 3', country: 'US', want: '+12015550123x3' },
  { raw: '1-800-FLOWERS', country: 'US', want: '+18003569377' },
  { raw: '+1 800 GO FEDEX', country: 'US', want: '+18004633339' },
  { raw: '2015550123', want: 'PHONE_INVALID_COUNTRY' },
  { raw: '+1 555 555 5555', country: 'US', want: 'PHONE_INVALID' },
  { raw: '(555) 123-4567', country: 'US', want: 'PHONE_INVALID' },
  { raw: '555-0123', country: 'US', want: 'PHONE_TOO_SHORT' },
  { raw: '+1 201 555 01234', country: 'US', want: 'PHONE_TOO_LONG' },
  { raw: '12', country: 'US', want: 'PHONE_TOO_SHORT' },
  { raw: '4155552671.0', country: 'US', want: '+14155552671', beyondReference: true },
  // Canada
  { raw: '(416) 555-0123', country: 'CA', want: '+14165550123' },
  { raw: '+1 604 555 0199', country: 'CA', want: '+16045550199' },
  { raw: '416-979-2020', country: 'CA', want: '+14169792020' },
  { raw: '(514) 555-0188', country: 'CA', want: '+15145550188' },
  { raw: '613.992.4793', country: 'CA', want: '+16139924793' },
  // United Kingdom
  { raw: '020 7946 0958', country: 'GB', want: '+442079460958' },
  { raw: '+44 (0)20 7946 0958', country: 'GB', want: '+442079460958' },
  { raw: '+44 (0)20 7946 0958', country: 'US', want: '+442079460958' },
  { raw: '0161 496 0000', country: 'GB', want: '+441614960000' },
  { raw: '0113 496 0000', country: 'GB', want: '+441134960000' },
  { raw: '+44 7911 123456', country: 'GB', want: '+447911123456' },
  { raw: '(+44) 131 496 0000', country: 'US', want: '+441314960000' },
  { raw: '0044 20 7946 0958', country: 'US', want: '+442079460958', beyondReference: true },
  { raw: '011 44 20 7946 0958', country: 'US', want: '+442079460958' },
  { raw: '011 44 20 7946 0958', want: '+442079460958', beyondReference: true },
  { raw: '44 20 7946 0958', country: 'GB', want: '+442079460958' },
  { raw: '07700 900123', country: 'GB', want: 'PHONE_INVALID' },
  { raw: '+44 20 7946 095', country: 'GB', want: 'PHONE_INVALID' },
  // Australia
  { raw: '02 9876 5432', country: 'AU', want: '+61298765432' },
  { raw: '(02) 9374 4000', country: 'AU', want: '+61293744000' },
  { raw: '0412 345 678', country: 'AU', want: '+61412345678' },
  { raw: '+61 3 9876 5432', country: 'AU', want: '+61398765432' },
  { raw: '0011 44 20 7946 0958', country: 'AU', want: '+442079460958' },
  { raw: '1300 655 506', country: 'AU', want: '+611300655506' },
  // India
  { raw: '98765 43210', country: 'IN', want: '+919876543210' },
  { raw: '+91 98765 43210', country: 'IN', want: '+919876543210' },
  { raw: '022 2282 1234', country: 'IN', want: '+912222821234' },
  { raw: '011 2345 6789', country: 'IN', want: '+911123456789' },
  { raw: '+91-80-2852-1234', country: 'IN', want: '+918028521234' },
  { raw: '09876543210', country: 'IN', want: '+919876543210' },
  // Germany
  { raw: '030 12345678', country: 'DE', want: '+493012345678' },
  { raw: '030/12345678', country: 'DE', want: '+493012345678' },
  { raw: '+49 (0)30 12345678', country: 'DE', want: '+493012345678' },
  { raw: '0151 23456789', country: 'DE', want: '+4915123456789' },
  { raw: '0049 89 1234567', country: 'DE', want: '+49891234567' },
  { raw: '+49 171 1234567', country: 'DE', want: '+491711234567' },
  // France
  { raw: '01 23 45 67 89', country: 'FR', want: '+33123456789' },
  { raw: '06 12 34 56 78', country: 'FR', want: '+33612345678' },
  { raw: '+33 (0)1 42 68 53 00', country: 'FR', want: '+33142685300' },
  { raw: '01.42.68.53.00', country: 'FR', want: '+33142685300' },
  { raw: '0033 1 42 68 53 00', country: 'FR', want: '+33142685300' },
  { raw: '0 20 7946 0958', country: 'FR', want: 'PHONE_TOO_LONG' },
  // Brazil
  { raw: '(11) 91234-5678', country: 'BR', want: '+5511912345678' },
  { raw: '+55 11 91234-5678', country: 'BR', want: '+5511912345678' },
  { raw: '(21) 2345-6789', country: 'BR', want: '+552123456789' },
  { raw: '+55 (61) 3322-1234', country: 'BR', want: '+556133221234' },
  // Japan
  { raw: '03-1234-5678', country: 'JP', want: '+81312345678' },
  { raw: '090-1234-5678', country: 'JP', want: '+819012345678' },
  { raw: '+81 3-1234-5678', country: 'JP', want: '+81312345678' },
  { raw: '06-6123-4567', country: 'JP', want: '+81661234567' },
  { raw: '０３－１２３４－５６７８', country: 'JP', want: '+81312345678' },
  // Mexico
  { raw: '55 1234 5678', country: 'MX', want: '+525512345678' },
  { raw: '+52 55 1234 5678', country: 'MX', want: '+525512345678' },
  { raw: '(33) 1234 5678', country: 'MX', want: '+523312345678' },
  // The pre-2019 mobile "1" is no longer dialled; the reference rejects it too.
  { raw: '+52 1 55 1234 5678', country: 'MX', want: 'PHONE_TOO_LONG' },
  // Elsewhere
  { raw: '+34 612 34 56 78', country: 'ES', want: '+34612345678' },
  { raw: '06 1234 5678', country: 'IT', want: '+390612345678' },
  { raw: '+39 06 1234 5678', country: 'IT', want: '+390612345678' },
  { raw: '020 123 4567', country: 'NL', want: '+31201234567' },
  { raw: '+27 21 123 4567', country: 'ZA', want: '+27211234567' },
  { raw: '+65 6123 4567', country: 'SG', want: '+6561234567' },
  { raw: '+971 50 123 4567', country: 'AE', want: '+971501234567' },
  { raw: '+64 21 123 4567', country: 'NZ', want: '+64211234567' },
];

describe('real-world numbers (table)', () => {
  test('the table is wide enough to mean something', () => {
    assert.ok(CASES.length >= 70, `${CASES.length} cases`);
    const countries = new Set(CASES.map((c) => c.country).filter(Boolean));
    assert.ok(countries.size >= 9, [...countries].join(' '));
  });

  for (const c of CASES) {
    test(`${JSON.stringify(c.raw)} with default ${c.country ?? 'none'} -> ${c.want}`, () => {
      assert.equal(outcome(c.raw, c.country), c.want);
      const valid = c.want.startsWith('+');
      if (valid) {
        // The expected value itself must be what the reference calls a valid E.164 number...
        assert.equal(reference(c.want.split('x')[0]), c.want.split('x')[0], 'reference rejects the expected number');
      }
      // ...and, where the reference reads the input itself, it must agree with us.
      if (!c.beyondReference) assert.equal(reference(c.raw, c.country), valid ? c.want : undefined, 'google-libphonenumber disagrees');
    });
  }
});

describe('several numbers in one cell', () => {
  const both = '+12015550123 +12015550124';
  for (const [name, raw] of [
    ['comma', '201-555-0123, 201-555-0124'],
    ['spaced slash', '201-555-0123 / 201-555-0124'],
    ['slash', '201-555-0123/201-555-0124'],
    ['semicolon', '201-555-0123; 201-555-0124'],
    ['newline', '201-555-0123\n201-555-0124'],
    ['CRLF', '201-555-0123\r\n201-555-0124'],
    ['or', '201-555-0123 or 201-555-0124'],
    ['OR', '201-555-0123 OR 201-555-0124'],
    ['pipe', '201-555-0123|201-555-0124'],
    ['Google " ::: "', '201-555-0123 ::: 201-555-0124'],
    ['":::" without spaces', '(201) 555-0123:::+1 201 555 0124'],
    ['mixed countries', '+1 201 555 0123 / 0044 20 7946 0958'],
  ] as const) {
    test(`split on ${name}`, () => {
      assert.equal(outcome(raw, 'US'), name === 'mixed countries' ? '+12015550123 +442079460958' : both);
    });
  }

  test('the label is copied to every number of the cell, and omitted when not given', () => {
    const r = normalizePhoneCell('201-555-0123; 201-555-0124', { defaultCountry: 'US', label: 'mobile' });
    assert.deepEqual(r.phones, [{ e164: '+12015550123', label: 'mobile' }, { e164: '+12015550124', label: 'mobile' }]);
    assert.deepEqual(normalizePhoneCell('+12015550123', {}).phones, [{ e164: '+12015550123' }]);
  });

  test('Google " ::: " cells: each value is its own number, extensions and bad values stay with theirs', () => {
    assert.equal(outcome('+1 201-555-0123 ::: +44 20 7946 0958 ::: 201-555-0124 x12', 'US'), '+12015550123 +442079460958 +12015550124x12');
    const r = normalizePhoneCell('201-555-0123 ::: 555-01', { defaultCountry: 'US' });
    assert.deepEqual(r.phones.map((p) => p.e164), ['+12015550123']);
    assert.deepEqual(r.problems.map((p) => [p.raw, p.code]), [['555-01', 'PHONE_TOO_SHORT']]);
  });

  test('digit groups of one number are never split', () => {
    assert.equal(outcome('+1 (415) 555-2671, ext 3', 'US'), '+14155552671x3');
    assert.equal(outcome('415, 555 2671', 'US'), '+14155552671');
    assert.equal(outcome('030/12345678', 'DE'), '+493012345678');
    assert.equal(outcome('0151/234 567 89', 'DE'), '+4915123456789');
    assert.equal(outcome('030 / 1234567 / 0171 1234567', 'DE'), '+49301234567 +491711234567');
  });

  test('duplicates within a cell are dropped; the same number with another extension is kept', () => {
    assert.equal(outcome('201-555-0123; (201) 555-0123\n+1 201 555 0123', 'US'), '+12015550123');
    assert.equal(outcome('201-555-0123 x1; 201-555-0123 x2; 201-555-0123 x1', 'US'), '+12015550123x1 +12015550123x2');
  });

  test('a bad number next to a good one is reported alone, with its own text as raw', () => {
    const r = normalizePhoneCell('201-555-0123; 12 | n/a', { defaultCountry: 'US' });
    assert.deepEqual(r.phones, [{ e164: '+12015550123' }]);
    assert.deepEqual(r.problems, [{ code: 'PHONE_TOO_SHORT', raw: '12', message: 'expected a number convertible to E.164, got "12" (TOO_SHORT)' }]);
  });
});

describe('extensions', () => {
  for (const raw of [
    '201-555-0123 x12', '201-555-0123x12', '201-555-0123 x 12', '201-555-0123 X12', '201-555-0123 x.12',
    '201-555-0123 ext 12', '201-555-0123 ext. 12', '201-555-0123 Ext: 12', '201-555-0123 extension 12',
    '201-555-0123 #12', '201-555-0123;ext=12', 'tel:+1-201-555-0123;ext=12', '201-555-0123, ext 12', '201-555-0123; ext 12',
  ]) {
    test(JSON.stringify(raw), () => {
      assert.deepEqual(normalizePhoneCell(raw, { defaultCountry: 'US' }), { phones: [{ e164: '+12015550123', ext: '12' }], problems: [] });
    });
  }
  test('an extension on a number in international form', () => {
    assert.equal(outcome('+44 20 7946 0958 ext. 204'), '+442079460958x204');
  });
});

describe('vanity numbers', () => {
  for (const [raw, want] of [
    ['1-800-FLOWERS', '+18003569377'],
    ['1-800-flowers', '+18003569377'],
    ['+1 800 GO FEDEX', '+18004633339'],
    ['1 (800) GO-FEDEX', '+18004633339'],
    ['1-800-FLOWERS x12', '+18003569377x12'],
    ['800-FLOWERS', '+18003569377'],
  ] as const) {
    test(`${JSON.stringify(raw)} -> ${want}`, () => {
      assert.equal(outcome(raw, 'US'), want);
      assert.equal(reference(raw, 'US'), want);
    });
  }
  test('letters that do not spell a valid number fail with the length of their keypad digits', () => {
    const r = normalizePhoneCell('1-800-MATTRESS', { defaultCountry: 'US' });
    assert.deepEqual(r.phones, []);
    assert.deepEqual(r.problems.map((p) => [p.code, p.raw]), [['PHONE_TOO_LONG', '1-800-MATTRESS']]);
    assert.equal(outcome('1-800-ABC', 'US'), 'PHONE_TOO_SHORT');
  });
  test('lowercase words next to too few digits are text, not vanity letters', () => {
    assert.equal(outcome('555 0123 home', 'US'), 'PHONE_NOT_A_NUMBER');
  });
  test('a label written after a number is not read as vanity letters', () => {
    assert.equal(outcome('+1 201 555 0123 (mobile)', 'US'), '+12015550123');
    assert.equal(outcome('Mobile: 020 7946 0958', 'GB'), '+442079460958');
  });
});

describe('spreadsheet damage', () => {
  for (const raw of ['4.15555E+09', '4,15555E+09', '1.44207946E+11', '4.15555e9', ' 4.15555E+09 ']) {
    test(`${JSON.stringify(raw)} is PHONE_MANGLED, never guessed`, () => {
      const r = normalizePhoneCell(raw, { defaultCountry: 'US' });
      assert.deepEqual(r.phones, []);
      assert.equal(r.problems.length, 1);
      assert.equal(r.problems[0].code, 'PHONE_MANGLED');
      assert.equal(r.problems[0].raw, raw.trim());
      assert.match(r.problems[0].message, /scientific notation/);
    });
  }
  test('a mangled number next to a good one', () => {
    assert.equal(outcome('4.15555E+09; 201-555-0123', 'US'), '+12015550123 PHONE_MANGLED');
  });
  test('a float with a trailing .0 lost nothing and is read as digits', () => {
    assert.equal(outcome('4155552671.0', 'US'), '+14155552671');
    assert.equal(outcome('442079460958.00', 'GB'), '+442079460958');
    assert.equal(outcome('+442079460958.0'), '+442079460958');
  });
});

describe('characters from other keyboards and programs', () => {
  test('full-width digits and plus', () => {
    assert.equal(outcome('１２０１５５５０１２３', 'US'), '+12015550123');
    assert.equal(outcome('＋４４ ２０ ７９４６ ０９５８'), '+442079460958');
  });
  test('NBSP, en-dash, em-dash, minus sign, bidi marks and zero-width spaces', () => {
    assert.equal(outcome('+1\u00a0201\u2013555\u20130123'), '+12015550123');
    assert.equal(outcome('201\u2014555\u22120123', 'US'), '+12015550123');
    assert.equal(outcome('\u202a+44\u00a020 7946\u00a00958\u202c'), '+442079460958');
    assert.equal(outcome('\ufeff+1 201\u200b555 0123'), '+12015550123');
  });
});

describe('blank and non-number cells', () => {
  for (const raw of ['', '   ', '\t\n', '\u00a0', '-', '--', 'n/a', 'N/A', 'na', 'None', 'NONE', 'null']) {
    test(`${JSON.stringify(raw)} gives nothing and no problem`, () => {
      assert.deepEqual(normalizePhoneCell(raw, { defaultCountry: 'US' }), { phones: [], problems: [] });
    });
  }
  test('text without digits is PHONE_NOT_A_NUMBER', () => {
    const r = normalizePhoneCell('call reception', { defaultCountry: 'US' });
    assert.deepEqual(r.phones, []);
    assert.deepEqual(r.problems.map((p) => [p.code, p.raw]), [['PHONE_NOT_A_NUMBER', 'call reception']]);
  });
});

describe('problem messages say what was expected and what was got', () => {
  const first = (raw: string, country?: CountryCode) => normalizePhoneCell(raw, { defaultCountry: country }).problems[0];
  test('TOO_SHORT', () => {
    assert.equal(first('12', 'US').message, 'expected a number convertible to E.164, got "12" (TOO_SHORT)');
  });
  test('TOO_LONG', () => {
    assert.equal(first('123456789012345678', 'US').code, 'PHONE_TOO_LONG');
  });
  test('INVALID_COUNTRY says how to fix it', () => {
    const p = first('2015550123');
    assert.equal(p.code, 'PHONE_INVALID_COUNTRY');
    assert.match(p.message, /got "2015550123" \(INVALID_COUNTRY: no \+country code and no default country\)/);
    assert.equal(first('+999 1234567', 'US').code, 'PHONE_INVALID_COUNTRY');
  });
  test('INVALID names the country it was checked against', () => {
    assert.match(first('(555) 123-4567', 'US').message, /got "\(555\) 123-4567" \(INVALID: not a valid number for US/);
  });
  test('every code used exists in the error catalog as a row error', () => {
    for (const code of ['PHONE_INVALID', 'PHONE_TOO_SHORT', 'PHONE_TOO_LONG', 'PHONE_INVALID_COUNTRY', 'PHONE_NOT_A_NUMBER', 'PHONE_MANGLED'] as const) {
      assert.equal(ERROR_CODES[code].kind, 'row');
    }
  });
});

describe('fast path for strings already in E.164', () => {
  const e164ish = fc.stringMatching(/^\+[1-9]\d{6,14}$/);
  test('gives exactly what libphonenumber-js (max) says, padded or not', () => {
    fc.assert(fc.property(e164ish, (s) => {
      const p = parsePhoneNumberFromString(s);
      const want = p?.isValid() ? p.number : undefined;
      for (const raw of [s, ` ${s} `, `${s}\n`]) {
        const r = normalizePhoneCell(raw, { defaultCountry: 'US' });
        if (want) assert.deepEqual(r, { phones: [{ e164: want }], problems: [] });
        else { assert.deepEqual(r.phones, []); assert.equal(r.problems.length, 1); }
      }
    }), { seed: 20240611, numRuns: 400 });
  });
});

describe('robustness', () => {
  test('any text gives E.164 numbers or PHONE_* problems, never an exception', () => {
    const E164 = /^\+[1-9]\d{6,14}$/;
    const phoneish = fc.string({ unit: fc.constantFrom(...'0123456789 +-().,;/|#xX\nEe'.split(''), 'ext', ' or ', 'FLOWERS', '０', '\u00a0'), maxLength: 40 });
    fc.assert(fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 40 }), phoneish), fc.constantFrom<CountryCode | undefined>(undefined, 'US', 'GB', 'DE', 'IN'), (raw, country) => {
      const r = normalizePhoneCell(raw, { defaultCountry: country });
      for (const p of r.phones) assert.match(p.e164, E164);
      for (const p of r.problems) { assert.match(p.code, /^PHONE_/); assert.ok(p.message.startsWith('expected ')); }
    }), { seed: 7, numRuns: 2000 });
  });
});

describe('resolveCountry', () => {
  for (const [value, want] of [
    ['us', 'US'], ['GB', 'GB'], [' de ', 'DE'], ['In', 'IN'],
    ['USA', 'US'], ['gbr', 'GB'], ['DEU', 'DE'], ['BRA', 'BR'], ['JPN', 'JP'], ['MEX', 'MX'],
    ['United Kingdom', 'GB'], ['UK', 'GB'], ['U.K.', 'GB'], ['England', 'GB'], ['Scotland', 'GB'], ['Great Britain', 'GB'],
    ['United States', 'US'], ['United States of America', 'US'], ['U.S.A.', 'US'], ['America', 'US'],
    ['Germany', 'DE'], ['GERMANY', 'DE'], ['Deutschland', 'DE'], ['France', 'FR'], ['India', 'IN'], ['Australia', 'AU'],
    ['Canada', 'CA'], ['Brazil', 'BR'], ['Brasil', 'BR'], ['Japan', 'JP'], ['Mexico', 'MX'], ['México', 'MX'],
    ['The Netherlands', 'NL'], ['Holland', 'NL'], ["Côte d'Ivoire", 'CI'], ['Cote d’Ivoire', 'CI'], ['Ivory Coast', 'CI'],
    ['St. Kitts & Nevis', 'KN'], ['Saint Kitts and Nevis', 'KN'], ['Trinidad & Tobago', 'TT'], ['Guinea-Bissau', 'GW'],
    ['Turkey', 'TR'], ['Türkiye', 'TR'], ['South Korea', 'KR'], ['Korea', 'KR'], ['Czech Republic', 'CZ'], ['Czechia', 'CZ'],
    // The languages init reads headers in (country-names.ts).
    ['Frankreich', 'FR'], ['Vereinigte Staaten', 'US'], ['Großbritannien', 'GB'], ['Niederlande', 'NL'], ['Schweiz', 'CH'],
    ['Allemagne', 'DE'], ['Royaume-Uni', 'GB'], ['États-Unis', 'US'], ['Etats Unis', 'US'], ['Pays-Bas', 'NL'],
    ['Alemania', 'DE'], ['Reino Unido', 'GB'], ['EE. UU.', 'US'], ['Países Bajos', 'NL'], ['Francia', 'FR'],
    ['Germania', 'DE'], ['Regno Unito', 'GB'], ['Stati Uniti', 'US'], ['Alemanha', 'DE'], ['EUA', 'US'], ['Espanha', 'ES'],
    ['Duitsland', 'DE'], ['Verenigd Koninkrijk', 'GB'], ['Verenigde Staten', 'US'], ['Frankrijk', 'FR'], ['Ivoorkust', 'CI'],
  ] as const) {
    test(`${JSON.stringify(value)} -> ${want}`, () => assert.equal(resolveCountry(value), want));
  }
  for (const value of ['', '  ', 'Narnia', 'ZZ', 'XX', 'AQ', 'ZZZ', 'Europe', '44', 'U', 'United']) {
    test(`${JSON.stringify(value)} is unknown`, () => assert.equal(resolveCountry(value), undefined));
  }
  test('answers are stable when asked again (cached)', () => {
    assert.equal(resolveCountry('Germany'), 'DE');
    assert.equal(resolveCountry('Germany'), 'DE');
    assert.equal(resolveCountry('Narnia'), undefined);
    assert.equal(resolveCountry('Narnia'), undefined);
  });
  test('the name tables (English and the other languages) have no key that points at two countries, and cover every alpha-2 they list', () => {
    const seen = new Map<string, string>();
    const alpha3s = new Set(Object.values(COUNTRY_TABLE).map((e) => e.slice(0, 3)));
    const local = Object.entries(LOCAL_COUNTRY_NAMES).map(([code, entry]): [string, string] => [code, `${COUNTRY_TABLE[code].slice(0, 3)}|${entry}`]);
    for (const [code, entry] of [...Object.entries(COUNTRY_TABLE), ...local]) {
      const [alpha3, ...names] = entry.split('|');
      assert.match(alpha3, /^[A-Z]{3}$/, code);
      assert.equal(resolveCountry(alpha3), code, `${alpha3}`);
      for (const n of names) {
        // A two-letter name or another country's alpha-3 would be read as that code first.
        if (LOCAL_COUNTRY_NAMES[code]?.split('|').includes(n)) {
          assert.ok(countryKey(n).replace(/ /g, '').length > 2, `${n}: too short for a name`);
          assert.ok(!alpha3s.has(n.toUpperCase()) || n.toUpperCase() === alpha3, `${n}: another country's alpha-3`);
        }
        const k = countryKey(n);
        const other = seen.get(k);
        assert.ok(other === undefined || other === code, `"${n}" is both ${other} and ${code}`);
        seen.set(k, code);
        if (n.length !== 2) assert.equal(resolveCountry(n), code, n);
      }
    }
  });
});

describe('isKnownCountry', () => {
  for (const code of ['US', 'GB', 'DE', 'in', 'Br']) test(`${code} is known`, () => assert.equal(isKnownCountry(code), true));
  for (const code of ['ZZ', 'UK', 'AQ', 'USA', '', 'U', '1']) test(`${JSON.stringify(code)} is not`, () => assert.equal(isKnownCountry(code), false));
});
