/**
 * PhoneNumber.isValid() with its regular expressions compiled once.
 *
 * libphonenumber-js answers isValid() through getNumberType(), whose matchesEntirely()
 * builds a `new RegExp` from the metadata's pattern text on every call: the national
 * pattern, then fixed-line, then each other type in turn until one matches. The
 * profile of a 200k-row run showed that regex construction as the largest single cost
 * of the phone step. This module applies the same test to the same `max` metadata
 * with the same patterns, compiled once per numbering plan, so the verdict cannot
 * differ (test/phone-fast-identity.test.ts compares it with isValid() on every plan).
 *
 * The tool only needs the verdict, not the type, so it stops at the first type that
 * matches instead of telling FIXED_LINE from FIXED_LINE_OR_MOBILE.
 */
import { Metadata } from 'libphonenumber-js/core';

// Fixed line first, then getNumberType()'s order: the order changes nothing about the
// verdict, it only puts the common types first.
const TYPES = ['FIXED_LINE', 'MOBILE', 'PREMIUM_RATE', 'TOLL_FREE', 'SHARED_COST', 'VOIP', 'PERSONAL_NUMBER', 'PAGER', 'UAN', 'VOICEMAIL'] as const;

interface TypeRule { re: RegExp; lengths: number[] | undefined }
interface PlanRule { national: RegExp; types: TypeRule[] | undefined }

// Keyed by what isValid() selects the plan by: the country, else the calling code
// (non-geographic numbers like +800 have no country). About 250 plans at most.
// The metadata is the one the number was parsed with (PhoneNumber.getMetadata()), as in
// isValid(); phone.ts only ever parses with `max`, so one table serves.
const plans = new Map<string, PlanRule>();

const whole = (pattern: string) => new RegExp('^(?:' + pattern + ')$');

interface MetadataPlan {
  selectNumberingPlan(plan: string): void;
  hasTypes(): boolean;
  nationalNumberPattern(): string;
  type(t: string): { pattern(): string; possibleLengths(): number[] | undefined } | undefined;
}

function compile(plan: string, metadata: object): PlanRule {
  const m = new Metadata(metadata as never) as unknown as MetadataPlan;
  m.selectNumberingPlan(plan);
  const national = whole(m.nationalNumberPattern());
  if (!m.hasTypes()) return { national, types: undefined };
  const types: TypeRule[] = [];
  for (const t of TYPES) {
    const def = m.type(t);
    // getNumberType() skips a type that is absent or has an empty pattern.
    if (!def || !def.pattern()) continue;
    types.push({ re: whole(def.pattern()), lengths: def.possibleLengths() });
  }
  return { national, types };
}

export interface ParsedNumber { country?: string; countryCallingCode: string; nationalNumber: string; getMetadata(): object }

/** The verdict of `PhoneNumber.isValid()` for a number parsed with `max` metadata. */
export function isValidParsed(p: ParsedNumber): boolean {
  const key = p.country || p.countryCallingCode;
  let rule = plans.get(key);
  if (rule === undefined) {
    rule = compile(key, p.getMetadata());
    plans.set(key, rule);
  }
  const nn = p.nationalNumber;
  if (!rule.national.test(nn)) return false;
  if (rule.types === undefined) return true;
  for (const t of rule.types) {
    if (t.lengths && t.lengths.indexOf(nn.length) < 0) continue;
    if (t.re.test(nn)) return true;
  }
  return false;
}
