/**
 * Phone agreement: every number the generator wrote, normalized by the tool
 * (normalizePhoneCell) and by google-libphonenumber, the reference implementation.
 * They agree when both give the same E.164 or both refuse the number. Each is also
 * compared with the number the generator meant to write, and the disagreements are
 * listed (grouped by text and region, most frequent first) for someone to explain.
 *
 * Both sides get the same region: the row's country when the country cell is filled,
 * else the mapping's default (US). Country-name resolution is not what is measured here.
 *
 * Two figures. The raw one gives google-libphonenumber the text as written. The tool
 * has one documented rule google does not: a number that fails with its region and
 * starts with an international prefix (00, 011, 0011) is read again with "+" for the
 * prefix (phone.ts INTL_PREFIX), while google accepts only the region's own IDD (011
 * for US, 00 for GB, 0011 for AU). The second figure (`sameInput`) applies that rule
 * to google's input as well, so both sides parse the same thing; every difference left
 * there is listed by kind and must be explained or fixed in the tool.
 */
import { createRequire } from 'node:module';
import { generateRows, type WrittenNumber } from './generate.js';
import { INTL_PREFIX } from '../../pipeline/transforms/phone.js';

interface GPhoneNumber { getExtension(): string | undefined }
interface GoogleLib {
  PhoneNumberUtil: { getInstance(): {
    parse(text: string, region: string): GPhoneNumber;
    isValidNumber(n: GPhoneNumber): boolean;
    format(n: GPhoneNumber, f: number): string;
  } };
  PhoneNumberFormat: { E164: number };
}
type NormalizePhoneCell = (raw: string, opts: { defaultCountry?: string }) => {
  phones: { e164: string; ext?: string }[];
  problems: { code: string }[];
};

const DEFAULT_REGION = 'US';
const CHUNK = 50_000;
const MAX_DISTINCT_DIFFS = 50_000;

export interface PhoneDiff {
  text: string;
  region: string;
  countryCell: string;
  /** What the generator wrote it from (absent for garbage). */
  intended?: string;
  tool: string;
  google: string;
  kind: 'differentNumber' | 'toolOnly' | 'googleOnly';
  count: number;
}

export interface PhoneAgreement {
  rows: number;
  numbers: number;
  agree: number;
  agreeShare: number;
  byKind: { same: number; bothInvalid: number; differentNumber: number; toolOnly: number; googleOnly: number };
  /** Extension differences among numbers both read the same (not counted as disagreement). */
  extensionDiffers: number;
  intended: { numbers: number; toolMatches: number; googleMatches: number; toolShare: number; googleShare: number };
  byCountry: Record<string, { numbers: number; agree: number; share: number }>;
  toolProblems: Record<string, number>;
  microsPerNumber: { tool: number; google: number };
  /** Disagreements by how the text starts: an international prefix (00, 011, 0011), +, a trunk 0, other. */
  diffsByPrefix: Record<string, number>;
  /**
   * Numbers the generator wrote from a real number that the tool did not return, by the
   * tool's problem code, for rows with and without a country (without one, a national
   * number is read as the default country's and usually fails: expected).
   */
  toolMissedIntended: { countryFilled: Record<string, number>; countryBlank: Record<string, number>; examples: { text: string; region: string; intended: string; tool: string; google: string }[] };
  distinctDiffs: number;
  /** Differing numbers not grouped because the table of distinct cases was full. */
  diffsBeyondCap: number;
  diffs: PhoneDiff[];
  /** The same comparison with the tool's international-prefix rule applied to google's input too. */
  sameInput: {
    agree: number;
    agreeShare: number;
    byKind: { same: number; bothInvalid: number; differentNumber: number; toolOnly: number; googleOnly: number };
    /** Numbers google refused as written and read once "00"/"011"/"0011" became "+". */
    googleReadWithPlus: number;
    extensionDiffers: number;
    diffsByPrefix: Record<string, number>;
    distinctDiffs: number;
    diffsBeyondCap: number;
    diffs: PhoneDiff[];
  };
}

export async function phoneAgreement(rows: number, seed: number, maxListed: number, normalizePhoneCell: NormalizePhoneCell): Promise<PhoneAgreement> {
  const google = createRequire(import.meta.url)('google-libphonenumber') as GoogleLib;
  const util = google.PhoneNumberUtil.getInstance();
  const E164 = google.PhoneNumberFormat.E164;

  const byKind = { same: 0, bothInvalid: 0, differentNumber: 0, toolOnly: 0, googleOnly: 0 };
  const byCountry: PhoneAgreement['byCountry'] = {};
  const toolProblems: Record<string, number> = {};
  const diffs = new Map<string, PhoneDiff>();
  let overflow = 0;
  let extensionDiffers = 0;
  let intendedN = 0;
  let toolMatches = 0;
  let googleMatches = 0;
  let toolMs = 0;
  let googleMs = 0;
  let numbers = 0;
  const diffsByPrefix: Record<string, number> = {};
  const missed = { countryFilled: {} as Record<string, number>, countryBlank: {} as Record<string, number>, examples: [] as PhoneAgreement['toolMissedIntended']['examples'] };

  const chunk: WrittenNumber[] = [];
  const toolOut: { e164: string; ext: string; code: string }[] = [];
  const googleOut: { e164: string; ext: string }[] = [];
  const googleSame: { e164: string; ext: string }[] = [];
  const same = {
    byKind: { same: 0, bothInvalid: 0, differentNumber: 0, toolOnly: 0, googleOnly: 0 },
    googleReadWithPlus: 0, extensionDiffers: 0, diffsByPrefix: {} as Record<string, number>,
    diffs: new Map<string, PhoneDiff>(), overflow: 0,
  };
  const googleParse = (text: string, region: string) => {
    try {
      const n = util.parse(text, region);
      if (util.isValidNumber(n)) return { e164: util.format(n, E164), ext: n.getExtension() ?? '' };
    } catch { /* google-libphonenumber throws for text it cannot read: invalid */ }
    return { e164: '', ext: '' };
  };
  const regionOf = (n: WrittenNumber) => (n.countryCell ? n.iso : DEFAULT_REGION);

  const flush = () => {
    // Two passes over the same chunk so that each library is timed on its own.
    let t = performance.now();
    for (let i = 0; i < chunk.length; i++) {
      const r = normalizePhoneCell(chunk[i].text, { defaultCountry: regionOf(chunk[i]) });
      const p = r.phones[0];
      toolOut[i] = { e164: p?.e164 ?? '', ext: p?.ext ?? '', code: p ? '' : (r.problems[0]?.code ?? 'NO_NUMBER') };
    }
    toolMs += performance.now() - t;
    t = performance.now();
    for (let i = 0; i < chunk.length; i++) googleOut[i] = googleParse(chunk[i].text, regionOf(chunk[i]));
    googleMs += performance.now() - t;
    // The tool's rule, in the tool's order: only a number refused as written is read again.
    for (let i = 0; i < chunk.length; i++) {
      const text = chunk[i].text.trim();
      const intl = googleOut[i].e164 ? null : INTL_PREFIX.exec(text);
      googleSame[i] = intl ? googleParse('+' + text.slice(intl[0].length), regionOf(chunk[i])) : googleOut[i];
      if (intl && googleSame[i].e164) same.googleReadWithPlus++;
    }

    for (let i = 0; i < chunk.length; i++) {
      const n = chunk[i];
      const a = toolOut[i];
      const b = googleOut[i];
      if (a.code) toolProblems[a.code] = (toolProblems[a.code] ?? 0) + 1;
      let kind: PhoneDiff['kind'] | 'same' | 'bothInvalid';
      if (a.e164 && b.e164) kind = a.e164 === b.e164 ? 'same' : 'differentNumber';
      else if (!a.e164 && !b.e164) kind = 'bothInvalid';
      else kind = a.e164 ? 'toolOnly' : 'googleOnly';
      byKind[kind]++;
      const c = (byCountry[n.iso] ??= { numbers: 0, agree: 0, share: 0 });
      c.numbers++;
      if (kind === 'same' || kind === 'bothInvalid') {
        c.agree++;
        if (kind === 'same' && a.ext !== b.ext) extensionDiffers++;
      } else {
        const region = regionOf(n);
        const prefix = prefixClass(n.text);
        diffsByPrefix[`${kind} ${prefix}`] = (diffsByPrefix[`${kind} ${prefix}`] ?? 0) + 1;
        const key = `${region}\u0000${n.text}`;
        const d = diffs.get(key);
        if (d) d.count++;
        else if (diffs.size < MAX_DISTINCT_DIFFS) {
          diffs.set(key, {
            text: n.text, region, countryCell: n.countryCell, intended: n.e164,
            tool: a.e164 || a.code, google: b.e164 || 'invalid', kind, count: 1,
          });
        } else overflow++;
      }
      tally(same, n, a, googleSame[i], regionOf(n));
      if (n.e164) {
        intendedN++;
        if (a.e164 === n.e164) toolMatches++;
        else {
          const bucket = n.countryCell ? missed.countryFilled : missed.countryBlank;
          const why = a.e164 ? 'OTHER_NUMBER' : a.code;
          bucket[why] = (bucket[why] ?? 0) + 1;
          if (n.countryCell && missed.examples.length < 200) {
            missed.examples.push({ text: n.text, region: regionOf(n), intended: n.e164, tool: a.e164 || a.code, google: b.e164 || 'invalid' });
          }
        }
        if (b.e164 === n.e164) googleMatches++;
      }
    }
    numbers += chunk.length;
    chunk.length = 0;
  };

  for (const row of generateRows(rows, seed)) {
    for (const n of row.numbers) {
      chunk.push(n);
      if (chunk.length >= CHUNK) flush();
    }
  }
  flush();

  for (const c of Object.values(byCountry)) c.share = round4(c.agree / c.numbers);
  const agree = byKind.same + byKind.bothInvalid;
  const sameAgree = same.byKind.same + same.byKind.bothInvalid;
  const listed = [...diffs.values()].sort((x, y) => y.count - x.count || x.text.localeCompare(y.text)).slice(0, maxListed);
  return {
    rows,
    numbers,
    agree,
    agreeShare: round4(agree / Math.max(numbers, 1)),
    byKind,
    extensionDiffers,
    intended: {
      numbers: intendedN, toolMatches, googleMatches,
      toolShare: round4(toolMatches / Math.max(intendedN, 1)), googleShare: round4(googleMatches / Math.max(intendedN, 1)),
    },
    byCountry,
    toolProblems,
    microsPerNumber: { tool: round2((toolMs * 1000) / Math.max(numbers, 1)), google: round2((googleMs * 1000) / Math.max(numbers, 1)) },
    diffsByPrefix,
    toolMissedIntended: missed,
    distinctDiffs: diffs.size,
    diffsBeyondCap: overflow,
    diffs: listed,
    sameInput: {
      agree: sameAgree,
      agreeShare: round4(sameAgree / Math.max(numbers, 1)),
      byKind: same.byKind,
      googleReadWithPlus: same.googleReadWithPlus,
      extensionDiffers: same.extensionDiffers,
      diffsByPrefix: same.diffsByPrefix,
      distinctDiffs: same.diffs.size,
      diffsBeyondCap: same.overflow,
      diffs: [...same.diffs.values()].sort((x, y) => y.count - x.count || x.text.localeCompare(y.text)).slice(0, maxListed),
    },
  };
}

interface Tally {
  byKind: PhoneAgreement['byKind'];
  extensionDiffers: number;
  diffsByPrefix: Record<string, number>;
  diffs: Map<string, PhoneDiff>;
  overflow: number;
}

/** Count one number's verdicts (tool vs google) into a tally, listing a difference. */
function tally(t: Tally, n: WrittenNumber, a: { e164: string; ext: string; code: string }, b: { e164: string; ext: string }, region: string) {
  let kind: PhoneDiff['kind'] | 'same' | 'bothInvalid';
  if (a.e164 && b.e164) kind = a.e164 === b.e164 ? 'same' : 'differentNumber';
  else if (!a.e164 && !b.e164) kind = 'bothInvalid';
  else kind = a.e164 ? 'toolOnly' : 'googleOnly';
  t.byKind[kind]++;
  if (kind === 'same' || kind === 'bothInvalid') {
    if (kind === 'same' && a.ext !== b.ext) t.extensionDiffers++;
    return;
  }
  const prefix = `${kind} ${prefixClass(n.text)}`;
  t.diffsByPrefix[prefix] = (t.diffsByPrefix[prefix] ?? 0) + 1;
  const key = `${region}\u0000${n.text}`;
  const d = t.diffs.get(key);
  if (d) d.count++;
  else if (t.diffs.size < MAX_DISTINCT_DIFFS) {
    t.diffs.set(key, {
      text: n.text, region, countryCell: n.countryCell, intended: n.e164,
      tool: a.e164 || a.code, google: b.e164 || 'invalid', kind, count: 1,
    });
  } else t.overflow++;
}

function prefixClass(text: string): string {
  const t = text.trim();
  if (/^0011/.test(t)) return '0011';
  if (/^011/.test(t)) return '011';
  if (/^00/.test(t)) return '00';
  if (t.startsWith('+')) return '+';
  if (t.startsWith('0')) return '0';
  return 'other';
}

const round4 = (x: number) => Math.round(x * 10000) / 10000;
const round2 = (x: number) => Math.round(x * 100) / 100;
