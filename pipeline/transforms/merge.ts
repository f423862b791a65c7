/**
 * Survivorship: several records found to be one contact become one record.
 *
 * Scalar fields follow a per-field rule from the mapping (default: first non-empty), except
 * the name: `name`, `firstName` and `lastName` come together from the one row that `rules.name`
 * picks (by its name, or its first and last name joined), so that every target shows the
 * same person ("Ava" and "Ava Thompson" never become name "Ava" with last name "Thompson");
 * phones, emails and websites are unioned in row order without repeats. The merged
 * contact keeps the first row as its reference, and the id of the first row that has
 * one (or the id chosen by `rules.id` when the mapping says `idFrom: rule`).
 * When rows disagree on a field, the chosen and rejected values are recorded.
 */
import type { Contact, ContactRecord, FieldConflict, MergedRow, Phone } from '../contact.js';
import { SCALAR_FIELDS, customValue, emptyContact, personName, phoneKey } from '../contact.js';
import type { Mapping } from '../mapping/schema.js';
import { collapseSpaces } from './map.js';

export type Rule = Mapping['dedupe']['rules'][string];

export interface MergeOptions {
  rules: Mapping['dedupe']['rules'];
  idFrom: Mapping['dedupe']['idFrom'];
}

/** One member of a cluster, in row order; `key` says how it joined (absent for the first). */
export interface Member {
  rec: ContactRecord;
  key?: string;
}

const sameValue = (s: string) => collapseSpaces(s).toLowerCase();

/** Non-empty fields, as a measure of how complete a record is (for the mostComplete rule). */
export function completeness(c: Contact): number {
  let n = 0;
  for (const f of SCALAR_FIELDS) if (c[f]) n++;
  return n + c.phones.length + c.emails.length + c.websites.length + Object.values(c.custom).filter(Boolean).length;
}

/** Date.parse understands ISO 8601 and RFC 2822; other text counts as oldest. */
function dateValue(s: string | undefined): number {
  if (!s) return -Infinity;
  const t = Date.parse(s);
  return Number.isNaN(t) ? -Infinity : t;
}

/** Index of the member whose value the rule picks, among members with a non-empty value. */
function pick(values: (string | undefined)[], rule: Rule, scores: { complete: number[]; date: number[] }): number {
  let best = -1;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!v) continue;
    if (best < 0) { best = i; continue; }
    switch (rule) {
      case 'first': break;
      case 'last': best = i; break;
      case 'longest': if (v.length > values[best]!.length) best = i; break;
      case 'mostComplete': if (scores.complete[i] > scores.complete[best]) best = i; break;
      // Ties go to the later row: a later line of an export is usually the later edit.
      case 'newest': if (scores.date[i] >= scores.date[best]) best = i; break;
    }
  }
  return best;
}

/** The name fields, which survive together (see the file's comment). */
const NAME_PARTS = new Set<string>(['name', 'firstName', 'lastName']);

/** The other values of a field than the chosen one (which may be empty: then every other value is rejected). */
function conflictOf(field: string, values: (string | undefined)[], chosen: number): FieldConflict | undefined {
  const seen = new Set<string>([sameValue(values[chosen] ?? '')]);
  const rejected: string[] = [];
  for (const v of values) {
    if (!v) continue;
    const k = sameValue(v);
    if (seen.has(k)) continue;
    seen.add(k);
    rejected.push(v);
  }
  return rejected.length ? { field, chosen: values[chosen] ?? '', rejected } : undefined;
}

export function mergeMembers(members: Member[], opts: MergeOptions): ContactRecord {
  if (members.length === 1) return members[0].rec;
  const contacts = members.map((m) => m.rec.contact);
  const scores = {
    complete: contacts.map(completeness),
    date: members.map((m) => dateValue(m.rec.date)),
  };
  const out = emptyContact();
  const conflicts: FieldConflict[] = [];

  // What the name rule compares: the name, else the first and last name joined.
  const nameAt = pick(contacts.map(personName), opts.rules.name ?? 'first', scores);
  for (const f of SCALAR_FIELDS) {
    const values = contacts.map((c) => c[f]);
    if (NAME_PARTS.has(f)) {
      if (nameAt < 0) continue;
      if (values[nameAt]) out[f] = values[nameAt];
      const conflict = conflictOf(f, values, nameAt);
      if (conflict) conflicts.push(conflict);
      continue;
    }
    let rule: Rule = opts.rules[f] ?? 'first';
    if (f === 'id' && opts.idFrom === 'first') rule = 'first';
    const at = pick(values, rule, scores);
    if (at < 0) continue;
    out[f] = values[at];
    const conflict = conflictOf(f, values, at);
    if (conflict) conflicts.push(conflict);
  }

  const customKeys: string[] = [];
  for (const c of contacts) for (const k of Object.keys(c.custom)) if (!customKeys.includes(k)) customKeys.push(k);
  for (const k of customKeys) {
    const values = contacts.map((c) => customValue(c, k));
    const at = pick(values, opts.rules[`custom.${k}`] ?? opts.rules[k] ?? 'first', scores);
    if (at < 0) continue;
    out.custom[k] = values[at]!;
    const conflict = conflictOf(`custom.${k}`, values, at);
    if (conflict) conflicts.push(conflict);
  }

  const phoneSeen = new Set<string>();
  const emailSeen = new Set<string>();
  const siteSeen = new Set<string>();
  for (const c of contacts) {
    for (const p of c.phones) {
      const k = phoneKey(p);
      if (!phoneSeen.has(k)) { phoneSeen.add(k); out.phones.push({ ...p } as Phone); }
    }
    for (const e of c.emails) {
      const k = e.toLowerCase();
      if (!emailSeen.has(k)) { emailSeen.add(k); out.emails.push(e); }
    }
    for (const w of c.websites) if (!siteSeen.has(w)) { siteSeen.add(w); out.websites.push(w); }
  }

  const notes: string[] = [];
  for (const m of members) for (const n of m.rec.notes) if (!notes.includes(n)) notes.push(n);
  const merged: MergedRow[] = members.slice(1).map((m) => ({ ref: m.rec.ref, key: m.key ?? 'unknown' }));
  return { contact: out, ref: members[0].rec.ref, merged, conflicts, notes, date: members[0].rec.date };
}
