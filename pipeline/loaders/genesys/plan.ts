/**
 * What exists on Genesys and what each incoming contact should do to it.
 *
 * The index holds the custom contacts (by id, by phone, by lowercase name) and the
 * read-only User and Queue contacts (by phone). Phones from the server are written by
 * people ("415-555-2671"), so they are normalized to E.164 with the mapping's default
 * country; what cannot be parsed is kept as its digits.
 */
import { writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';
import type { ContactRecord } from '../../contact.js';
import { csvLine } from '../../report/csv-safe.js';
import type { GenesysContactBody } from './payload.js';

export interface IndexEntry {
  id: string;
  name: string;
  phoneNumber: string;
  type: string;
  /** E.164 when the server's number parses, else its digits. */
  phoneKey: string;
  nameKey: string;
}

const digits = (s: string) => s.replace(/\D/g, '');
const nameKeyOf = (name: string) => name.trim().toLowerCase();

export function phoneKey(raw: string, defaultCountry?: string): string {
  if (!raw.trim()) return '';
  const parsed = parsePhoneNumberFromString(raw, defaultCountry as CountryCode | undefined);
  return parsed ? parsed.number : digits(raw);
}

/** The keys an incoming E.164 number may be indexed under (E.164, or digits for unparsed server numbers). */
function lookupKeys(e164: string): string[] {
  return [e164, digits(e164)];
}

export class GenesysIndex {
  private readonly custom = new Map<string, IndexEntry>();
  private readonly customByPhone = new Map<string, string[]>();
  private readonly customByName = new Map<string, string[]>();
  private readonly directoryByPhone = new Map<string, IndexEntry>();

  constructor(private readonly defaultCountry?: string) {}

  get customCount(): number {
    return this.custom.size;
  }

  entryOf(c: { id: string; name: string; phoneNumber: string; type: string }): IndexEntry {
    return { id: c.id, name: c.name, phoneNumber: c.phoneNumber, type: c.type, phoneKey: phoneKey(c.phoneNumber, this.defaultCountry), nameKey: nameKeyOf(c.name) };
  }

  /** Adds a custom contact, or replaces the one with the same id. */
  putCustom(c: { id: string; name: string; phoneNumber: string }): IndexEntry {
    this.removeCustom(c.id);
    const e = this.entryOf({ ...c, type: 'Custom' });
    this.custom.set(e.id, e);
    if (e.phoneKey) push(this.customByPhone, e.phoneKey, e.id);
    if (e.nameKey) push(this.customByName, e.nameKey, e.id);
    return e;
  }

  removeCustom(id: string): void {
    const e = this.custom.get(id);
    if (!e) return;
    this.custom.delete(id);
    pull(this.customByPhone, e.phoneKey, id);
    pull(this.customByName, e.nameKey, id);
  }

  /** The custom contact with this id, as last read or written. */
  customById(id: string): IndexEntry | undefined {
    return this.custom.get(id);
  }

  /** The custom contact a write of this number would update (the first holding it), by phone only. */
  customByPhoneNumber(e164: string): IndexEntry | undefined {
    for (const k of lookupKeys(e164)) {
      const id = this.customByPhone.get(k)?.[0];
      if (id) return this.custom.get(id);
    }
    return undefined;
  }

  /** A User or Queue contact (read-only; only its phone matters). */
  addDirectory(c: { id: string; name: string; phoneNumber: string; type: string }): void {
    const e = this.entryOf(c);
    if (e.phoneKey && !this.directoryByPhone.has(e.phoneKey)) this.directoryByPhone.set(e.phoneKey, e);
  }

  findDirectory(e164: string): IndexEntry | undefined {
    for (const k of lookupKeys(e164)) {
      const e = this.directoryByPhone.get(k);
      if (e) return e;
    }
    return undefined;
  }

  /** The existing custom contact for a phone (first), else for a name (case-insensitive). */
  matchCustom(e164: string, name: string): { entry: IndexEntry; by: 'phone' | 'name' } | undefined {
    const byPhone = this.customByPhoneNumber(e164);
    if (byPhone) return { entry: byPhone, by: 'phone' };
    const id = this.customByName.get(nameKeyOf(name))?.[0];
    return id ? { entry: this.custom.get(id)!, by: 'name' } : undefined;
  }

  /** True when a server contact holds the same number as an incoming E.164 number. */
  static samePhone(entry: IndexEntry, e164: string): boolean {
    return lookupKeys(e164).includes(entry.phoneKey);
  }
}

function push(m: Map<string, string[]>, k: string, id: string): void {
  const list = m.get(k);
  if (list) list.push(id);
  else m.set(k, [id]);
}

function pull(m: Map<string, string[]>, k: string, id: string): void {
  const list = m.get(k);
  if (!list) return;
  const i = list.indexOf(id);
  if (i >= 0) list.splice(i, 1);
  if (!list.length) m.delete(k);
}

export type Plan =
  | { action: 'create'; body: GenesysContactBody }
  | { action: 'update'; body: GenesysContactBody; existing: IndexEntry; by: 'phone' | 'name' }
  | { action: 'unchanged'; body: GenesysContactBody; existing: IndexEntry }
  /** The phone belongs to a User or Queue contact: never created as a custom duplicate. */
  | { action: 'duplicate'; body: GenesysContactBody; owner: IndexEntry };

export function planContact(index: GenesysIndex, body: GenesysContactBody): Plan {
  const owner = index.findDirectory(body.phoneNumber);
  if (owner) return { action: 'duplicate', body, owner };
  const match = index.matchCustom(body.phoneNumber, body.name);
  if (!match) return { action: 'create', body };
  const { entry, by } = match;
  if (entry.name === body.name && GenesysIndex.samePhone(entry, body.phoneNumber)) return { action: 'unchanged', body, existing: entry };
  return { action: 'update', body, existing: entry, by };
}

/**
 * The index keys a plan reads or writes. Two plans that share a key must run one after
 * the other, so the second is planned against what the first left (a second contact with
 * the same phone becomes an update or "unchanged" of the first, never a second create).
 */
export function planKeys(plan: Plan): Set<string> {
  const keys = new Set<string>();
  for (const k of lookupKeys(plan.body.phoneNumber)) keys.add(`p:${k}`);
  keys.add(`n:${nameKeyOf(plan.body.name)}`);
  if (plan.action === 'update' || plan.action === 'unchanged') {
    keys.add(`i:${plan.existing.id}`);
    if (plan.existing.phoneKey) keys.add(`p:${plan.existing.phoneKey}`);
    keys.add(`n:${plan.existing.nameKey}`);
  }
  return keys;
}

/**
 * Dry runs index the contacts they would create under a made-up id, so that a later
 * contact with the same phone or name is planned against them; that id is never shown.
 */
export const PLANNED_ID_PREFIX = 'planned:';

export function realId(entry: IndexEntry): string | undefined {
  return entry.id.startsWith(PLANNED_ID_PREFIX) ? undefined : entry.id;
}

export const PLAN_COLUMNS = ['action', 'id', 'name', 'phoneNumber', 'previousName', 'previousPhoneNumber', 'rows'] as const;
export type PlanRow = Record<(typeof PLAN_COLUMNS)[number], string>;

/** Source rows of a record as "12;40" (the surviving row, then the rows merged into it). */
export function rowsOf(record: ContactRecord): string {
  return [record.ref.row, ...record.merged.map((m) => m.ref.row)].join(';');
}

export function planRow(plan: Plan, record: ContactRecord): PlanRow {
  const previous = plan.action === 'update' || plan.action === 'unchanged' ? plan.existing : undefined;
  return {
    action: plan.action === 'duplicate' ? 'fail' : plan.action,
    id: (previous && realId(previous)) ?? '',
    name: plan.body.name,
    phoneNumber: plan.body.phoneNumber,
    previousName: plan.action === 'update' ? previous!.name : '',
    previousPhoneNumber: plan.action === 'update' ? previous!.phoneNumber : '',
    rows: rowsOf(record),
  };
}

/**
 * Writes genesys-plan.csv like the run's other CSVs (BOM for Excel, CRLF, cells a
 * spreadsheet would run as formulas neutralized, E.164 phones left alone).
 */
export async function writePlanCsv(outDir: string, rows: PlanRow[]): Promise<string> {
  await mkdir(outDir, { recursive: true });
  const file = path.join(outDir, 'genesys-plan.csv');
  let csv = '\uFEFF' + csvLine(PLAN_COLUMNS);
  for (const r of rows) csv += csvLine(PLAN_COLUMNS.map((c) => r[c]));
  await writeFile(file, csv, 'utf8');
  return file;
}
