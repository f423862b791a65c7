/**
 * The canonical contact: what mappings produce and loaders consume. It follows the
 * richest documented format (Talkdesk's) so that one mapping can feed any target.
 */

export interface Phone {
  /** E.164, e.g. +14155552671 */
  e164: string;
  /** Extension digits, kept apart from the number. */
  ext?: string;
  /** The label of the column or spec it came from (mobile, work, ...). */
  label?: string;
}

/** Where a row came from: enough to trace every outcome back to the input. */
export interface RowRef {
  /** Index into the run's list of inputs. */
  file: number;
  /** Spreadsheet row number as a person sees it (the header row is counted). */
  row: number;
  /** The row's original cells, in header order, unchanged. */
  values: string[];
}

export interface Contact {
  id?: string;
  name?: string;
  firstName?: string;
  lastName?: string;
  company?: string;
  title?: string;
  emails: string[];
  phones: Phone[];
  address?: string;
  websites: string[];
  photoUrl?: string;
  twitter?: string;
  url?: string;
  /** Email of the assigned user (personal phonebooks). */
  owner?: string;
  /** Target-specific properties (Samespace custom properties). */
  custom: Record<string, string>;
}

export const SCALAR_FIELDS = [
  'id', 'name', 'firstName', 'lastName', 'company', 'title', 'address', 'photoUrl', 'twitter', 'url', 'owner',
] as const;
export type ScalarField = (typeof SCALAR_FIELDS)[number];
export const LIST_FIELDS = ['emails', 'phones', 'websites'] as const;
export type ListField = (typeof LIST_FIELDS)[number];
export type CanonicalField = ScalarField | ListField;
export const CANONICAL_FIELDS: readonly CanonicalField[] = [...SCALAR_FIELDS, ...LIST_FIELDS];

/** A row merged into a surviving contact, with the key that matched. */
export interface MergedRow {
  ref: RowRef;
  /** e.g. phone=+14155552671 */
  key: string;
}

export interface FieldConflict {
  field: string;
  chosen: string;
  rejected: string[];
}

/**
 * A contact on its way through the pipeline: the contact, the row it came from,
 * and (after dedupe) the rows merged into it.
 */
export interface ContactRecord {
  contact: Contact;
  /** The surviving row. */
  ref: RowRef;
  merged: MergedRow[];
  conflicts: FieldConflict[];
  /** Things the report should say about this contact (a phone dropped as optional, ...). */
  notes: string[];
  /** The row's date (mapping dedupe.dateColumn), for the `newest` survivorship rule. */
  date?: string;
}

/** A phone's identity: the E.164 number and its extension (a switchboard number is not one person). */
export function phoneKey(p: Phone): string {
  return p.ext ? `${p.e164}x${p.ext}` : p.e164;
}

/**
 * The contact's custom property `key`, or undefined. Own properties only: a property the mapping
 * names like one every object inherits ("constructor", "toString") must read as absent on a
 * contact that has no value for it, not as Object's function.
 */
export function customValue(c: Contact, key: string): string | undefined {
  return Object.hasOwn(c.custom, key) ? c.custom[key] : undefined;
}

export function emptyContact(): Contact {
  return { emails: [], phones: [], websites: [], custom: {} };
}

/** The person's name: name, else first + last joined; undefined when none is there. */
export function personName(c: Contact): string | undefined {
  return c.name || [c.firstName, c.lastName].filter(Boolean).join(' ') || undefined;
}

/** A display name for reports and payloads: name, else first + last, else company. */
export function displayName(c: Contact): string {
  return personName(c) || c.company || '';
}
