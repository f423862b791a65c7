/**
 * The reference the phone fast path is checked against (test/phone-fast-identity.test.ts)
 * and timed against (test/bench/phone-speed.ts): the tool's cell normalizer with the
 * parse-and-check it had before the performance work (commit 3c50743), the plain
 * libphonenumber-js calls `parsePhoneNumberWithError` + `isValid()`, and the library's
 * `validatePhoneNumberLength()` for the length verdict of a number that fails. Everything else in a
 * cell (splitting, extensions, retries, messages) is the tool's own code, which that work
 * did not change. Not used by the tool.
 */
import { parsePhoneNumberWithError, ParseError, validatePhoneNumberLength, type CountryCode } from 'libphonenumber-js/max';
import { phoneCellNormalizer, type Found } from '../../pipeline/transforms/phone.js';

function libraryAttempt(text: string, country: CountryCode | undefined): Found | string {
  let p;
  try {
    p = parsePhoneNumberWithError(text, country);
  } catch (e) {
    if (e instanceof ParseError) return e.message;
    throw e;
  }
  return p.isValid() ? p : '';
}

export const normalizePhoneCell = phoneCellNormalizer({ attempt: libraryAttempt, length: (text, country) => validatePhoneNumberLength(text, country) ?? '' });
