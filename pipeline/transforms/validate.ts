/**
 * The validate stage: fields the mapping requires and fields the target requires
 * (Spoke needs id, name and owner, for instance). Each missing field is one problem
 * that names the columns it comes from.
 */
import type { Contact } from '../contact.js';
import type { RowProblem } from './normalize.js';

export type Requirement = string; // canonical field, or 'phoneOrEmail'

/** Whether `c` fills `field` as a requirement sees it (what a target's REQUIRED_MISSING check asks). */
export function hasField(c: Contact, field: Requirement): boolean {
  switch (field) {
    case 'phones': return c.phones.length > 0;
    case 'emails': return c.emails.length > 0;
    case 'websites': return c.websites.length > 0;
    case 'phoneOrEmail': return c.phones.length > 0 || c.emails.length > 0;
    default: return Boolean((c as unknown as Record<string, unknown>)[field]);
  }
}

export function createValidator(mappingRequired: readonly string[], target: { name: string; fields: readonly string[] } | undefined,
  columnsOf: Record<string, string[]>) {
  const reqs: { field: string; by: string }[] = mappingRequired.map((f) => ({ field: f, by: 'the mapping' }));
  for (const f of target?.fields ?? []) if (!reqs.some((r) => r.field === f)) reqs.push({ field: f, by: `target ${target!.name}` });
  const colsOf = (field: string) => field === 'phoneOrEmail' ? [...(columnsOf.phones ?? []), ...(columnsOf.emails ?? [])]
    : field === 'name' ? [...(columnsOf.name ?? []), ...(columnsOf.firstName ?? []), ...(columnsOf.lastName ?? [])]
      : field === 'firstName' || field === 'lastName' ? [...(columnsOf[field] ?? []), ...(columnsOf.name ?? [])]
        : columnsOf[field] ?? [];
  const describe = (field: string) => {
    const cols = colsOf(field);
    return cols.length ? ` (from column${cols.length > 1 ? 's' : ''} ${cols.map((c) => `"${c}"`).join(', ')})` : ' (not mapped)';
  };
  return function validate(c: Contact): RowProblem[] {
    const out: RowProblem[] = [];
    for (const r of reqs) {
      if (!hasField(c, r.field)) {
        out.push({
          code: 'REQUIRED_MISSING',
          message: `${r.field === 'phoneOrEmail' ? 'a phone or an email' : `"${r.field}"`} is required by ${r.by} but empty${describe(r.field)}`,
          column: colsOf(r.field)[0],
        });
      }
    }
    return out;
  };
}
