/** Canonical contact -> one row of the CSV uploaded to Samespace (samespace-contacts-api.txt). */
import type { Contact } from '../../contact.js';

/** Canonical field -> Samespace standard property key, unless the mapping says otherwise. */
export const DEFAULT_PROPERTIES: Readonly<Record<string, string>> = {
  firstName: 'firstName',
  lastName: 'lastName',
  email: 'email',
  phoneNumber: 'phoneNumber',
  company: 'company',
};

/** Canonical sources that a property can take its value from. */
export function canonicalValue(c: Contact, source: string): string {
  switch (source) {
    case 'email': return c.emails[0] ?? '';
    case 'phoneNumber': return c.phones[0]?.e164 ?? '';
    case 'phone': return c.phones[0]?.e164 ?? '';
    case 'firstName': return c.firstName ?? '';
    case 'lastName': return c.lastName ?? '';
    case 'company': return c.company ?? '';
    case 'name': return c.name ?? '';
    case 'title': return c.title ?? '';
    case 'address': return c.address ?? '';
    case 'id': return c.id ?? '';
    case 'owner': return c.owner ?? '';
    case 'url': return c.url ?? '';
    case 'twitter': return c.twitter ?? '';
    case 'photoUrl': return c.photoUrl ?? '';
    case 'website': return c.websites[0] ?? '';
    default: return '';
  }
}

/**
 * The property plan: which property key each column of the upload holds and where its
 * value comes from. Standard properties come from canonical fields (mapping
 * `targets.samespace.properties` overrides: canonical -> property key); every
 * `fields.custom` entry becomes a property of the same key.
 */
export interface PropertyColumn { key: string; from: { canonical: string } | { custom: string } }

export function propertyColumns(overrides: Record<string, string> | undefined, customKeys: readonly string[]): PropertyColumn[] {
  const map = { ...DEFAULT_PROPERTIES, ...(overrides ?? {}) };
  const cols: PropertyColumn[] = Object.entries(map).map(([canonical, key]) => ({ key, from: { canonical } }));
  for (const k of customKeys) {
    if (!cols.some((c) => c.key === k)) cols.push({ key: k, from: { custom: k } });
  }
  return cols;
}

export function samespaceRow(c: Contact, cols: readonly PropertyColumn[]): string[] {
  return cols.map((col) => ('canonical' in col.from ? canonicalValue(c, col.from.canonical) : c.custom[col.from.custom] ?? ''));
}

/** The importContacts mapAttributes: file column -> property key (columns are named after keys). */
export function mapAttributes(cols: readonly PropertyColumn[]): { key: string; value: string }[] {
  return cols.map((c) => ({ key: c.key, value: c.key }));
}
