/** Canonical contact -> one row of the CSV uploaded to Samespace (samespace-contacts-api.txt). */
import { customValue, type Contact } from '../../contact.js';

/** Canonical field -> Samespace standard property key, unless the mapping says otherwise. */
export const DEFAULT_PROPERTIES: Readonly<Record<string, string>> = {
  firstName: 'firstName',
  lastName: 'lastName',
  email: 'email',
  phoneNumber: 'phoneNumber',
  company: 'company',
};

/** Canonical sources that a property can take its value from (keys of `targets.samespace.properties`). */
export const CANONICAL_SOURCES = [
  'email', 'phoneNumber', 'phone', 'firstName', 'lastName', 'company', 'name', 'title', 'address', 'id', 'owner',
  'url', 'twitter', 'photoUrl', 'website',
] as const;

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

export function propertyColumns(
  overrides: Record<string, string> | undefined,
  customKeys: readonly string[],
  /** Keeps only the canonical sources that can hold a value (the mapping feeds them). */
  isFed: (canonical: string) => boolean = () => true,
): PropertyColumn[] {
  const map = { ...DEFAULT_PROPERTIES, ...(overrides ?? {}) };
  const cols: PropertyColumn[] = Object.entries(map)
    .filter(([canonical]) => isFed(canonical))
    .map(([canonical, key]) => ({ key, from: { canonical } }));
  for (const k of customKeys) {
    if (!cols.some((c) => c.key === k)) cols.push({ key: k, from: { custom: k } });
  }
  return cols;
}

export function samespaceRow(c: Contact, cols: readonly PropertyColumn[]): string[] {
  return cols.map((col) => ('canonical' in col.from ? canonicalValue(c, col.from.canonical) : customValue(c, col.from.custom) ?? ''));
}

/** The row plus what it could not carry (for the report's notes). */
export function samespaceRecord(c: Contact, cols: readonly PropertyColumn[]): { row: string[]; notes: string[] } {
  const notes: string[] = [];
  const fedFrom = (source: string) => cols.some((col) => 'canonical' in col.from && col.from.canonical === source);
  if (c.emails.length > 1 && fedFrom('email')) {
    notes.push(`not sent to Samespace (one email property): ${c.emails.slice(1).join(', ')}`);
  }
  // The contact's own checks first: most contacts have nothing left out, and the column scans are per row.
  if ((c.phones.length > 1 || c.phones[0]?.ext) && (fedFrom('phoneNumber') || fedFrom('phone'))) {
    if (c.phones.length > 1) notes.push(`not sent to Samespace (one phone property): ${c.phones.slice(1).map((p) => p.e164).join(', ')}`);
    if (c.phones[0].ext) notes.push(`extension ${c.phones[0].ext} not sent to Samespace (the phone property holds E.164 only)`);
  }
  return { row: samespaceRow(c, cols), notes };
}

/**
 * The importContacts mapAttributes: file column -> property key. Columns are named after
 * keys; `fileColumns` are the column names as the upload answered them (Samespace may
 * lowercase them), in the same order, and are what the mutation must refer to.
 */
export function mapAttributes(cols: readonly PropertyColumn[], fileColumns?: readonly string[]): { key: string; value: string }[] {
  return cols.map((c, i) => ({ key: fileColumns?.[i] ?? c.key, value: c.key }));
}
