/**
 * What the upload will carry: the column plan computed from the mapping, and its check
 * against the module's properties (every column's property key must exist before any
 * file is sent).
 */
import { closest, distance } from 'fastest-levenshtein';
import { ImportError } from '../../errors.js';
import type { Mapping } from '../../mapping/schema.js';
import { CANONICAL_SOURCES, DEFAULT_PROPERTIES, propertyColumns, type PropertyColumn } from './payload.js';
import type { SamespaceModule, SamespaceProperty } from './client.js';

/** Whether the mapping can give the canonical source a value (a field not mapped is not uploaded). */
export function isFed(mapping: Mapping, source: string): boolean {
  const f = mapping.fields;
  const fromName = f.name !== undefined && mapping.names.splitName;
  switch (source) {
    case 'firstName': return f.firstName !== undefined || fromName;
    case 'lastName': return f.lastName !== undefined || fromName;
    case 'name': return f.name !== undefined || (mapping.names.joinFirstLast && (f.firstName !== undefined || f.lastName !== undefined));
    case 'email': return f.emails !== undefined;
    case 'phoneNumber': case 'phone': return f.phones !== undefined;
    case 'website': return f.websites !== undefined;
    case 'id': case 'company': case 'title': case 'address': case 'photoUrl': case 'twitter': case 'url': case 'owner':
      return f[source] !== undefined;
    default: return false;
  }
}

/** Where in the mapping a column comes from, for messages. */
export function mappingPathOf(col: PropertyColumn, overrides: Record<string, string> | undefined): string {
  if ('custom' in col.from) return `fields.custom.${col.from.custom}`;
  const canonical = col.from.canonical;
  return overrides?.[canonical] !== undefined ? `targets.samespace.properties.${canonical}` : `fields (${canonical} -> ${col.key})`;
}

export function columnPlan(mapping: Mapping): PropertyColumn[] {
  const overrides = mapping.targets.samespace?.properties;
  for (const canonical of Object.keys(overrides ?? {})) {
    if (!(CANONICAL_SOURCES as readonly string[]).includes(canonical)) {
      const guess = closest(canonical, CANONICAL_SOURCES as readonly string[]);
      throw new ImportError('MAPPING_INVALID',
        `"${canonical}" is not a canonical field a Samespace property can take its value from` +
        `${distance(canonical, guess) <= 3 ? `; did you mean "${guess}"?` : ''} Expected one of: ${CANONICAL_SOURCES.join(', ')}`,
        { mappingPath: `targets.samespace.properties.${canonical}` });
    }
  }
  const cols = propertyColumns(overrides, Object.keys(mapping.fields.custom ?? {}), (c) => isFed(mapping, c));
  const seen = new Map<string, PropertyColumn>();
  for (const col of cols) {
    // Samespace may answer the upload's columns in lower case, so keys equal but for case would collide.
    const prior = seen.get(col.key.toLowerCase());
    if (prior) {
      throw new ImportError('MAPPING_INVALID',
        `two columns of the Samespace upload would be named "${prior.key}" and "${col.key}" (Samespace compares column names without case); map them to different property keys`,
        { mappingPath: mappingPathOf(col, overrides) });
    }
    seen.set(col.key.toLowerCase(), col);
  }
  if (cols.length === 0) {
    throw new ImportError('MAPPING_INVALID',
      `nothing to upload to Samespace: map at least one of ${Object.keys(DEFAULT_PROPERTIES).join(', ')} (fields) or a fields.custom property`,
      { mappingPath: 'fields' });
  }
  return cols;
}

export function resolveModule(modules: SamespaceModule[], wanted: string): SamespaceModule {
  const byId = modules.find((m) => m._id === wanted);
  if (byId) return byId;
  const byName = modules.filter((m) => m.name.toLowerCase() === wanted.toLowerCase());
  if (byName.length === 1) return byName[0];
  const list = modules.map((m) => `${m.name} (${m._id})`).join(', ') || 'none';
  if (byName.length > 1) {
    throw new ImportError('MAPPING_INVALID',
      `Samespace has ${byName.length} modules named "${wanted}"; set targets.samespace.module to the id of one: ${byName.map((m) => m._id).join(', ')}`,
      { mappingPath: 'targets.samespace.module' });
  }
  const names = modules.map((m) => m.name);
  const guess = names.length ? closest(wanted, names) : undefined;
  throw new ImportError('MAPPING_INVALID',
    `Samespace has no module "${wanted}"${guess && distance(wanted.toLowerCase(), guess.toLowerCase()) <= Math.max(2, wanted.length / 3) ? `; did you mean "${guess}"?` : ''} Modules: ${list}`,
    { mappingPath: 'targets.samespace.module' });
}

export function humanize(key: string): string {
  const words = key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean);
  return words.map((w) => w[0].toUpperCase() + w.slice(1)).join(' ') || key;
}

/** The property key nearest to `key` (by key or label, ignoring case), if near enough to suggest. */
export function didYouMean(key: string, props: readonly SamespaceProperty[]): string | undefined {
  let best: { key: string; d: number } | undefined;
  const k = key.toLowerCase();
  for (const p of props) {
    for (const candidate of [p.key, p.label ?? '']) {
      if (!candidate) continue;
      const d = distance(k, candidate.toLowerCase().replace(/\s+/g, ''));
      if (!best || d < best.d) best = { key: p.key, d };
    }
  }
  return best && best.d <= Math.max(2, Math.floor(key.length / 3)) ? best.key : undefined;
}

export function missingPropertyError(
  missing: readonly PropertyColumn[], props: readonly SamespaceProperty[], moduleName: string, overrides: Record<string, string> | undefined,
): ImportError {
  const parts = missing.map((col) => {
    const guess = didYouMean(col.key, props);
    return `"${col.key}" (from ${mappingPathOf(col, overrides)})${guess ? `; did you mean "${guess}"?` : ''}`;
  });
  const available = props.map((p) => `${p.key} (${p.label ?? p.key})`).join(', ') || 'none';
  return new ImportError('TARGET_PROPERTY_MISSING',
    `Samespace module "${moduleName}" has no propert${missing.length === 1 ? 'y' : 'ies'} ${parts.join(', ')}. Available properties: ${available}`,
    { mappingPath: mappingPathOf(missing[0], overrides) },
    { missing: missing.map((c) => c.key), available: props.map((p) => ({ key: p.key, label: p.label })) });
}

/** Property value types for createProperty: the document shows STRING for a TEXT property. */
export function valueTypeFor(type: string): string {
  return type === 'NUMBER' ? 'NUMBER' : 'STRING';
}

/** The Contact field the validate stage checks for each canonical source. */
const CONTACT_FIELD: Readonly<Record<string, string>> = { email: 'emails', phoneNumber: 'phones', phone: 'phones', website: 'websites' };

/**
 * Canonical fields every contact needs because the module requires the property they
 * feed, so the validate stage rejects such rows before anything is sent. Required custom
 * properties are left to Samespace, which reports them per row.
 */
export function requiredFieldsFor(cols: readonly PropertyColumn[], props: readonly SamespaceProperty[]): string[] {
  const out: string[] = [];
  for (const col of cols) {
    if (!('canonical' in col.from) || !props.some((p) => p.key === col.key && p.required === true)) continue;
    const field = CONTACT_FIELD[col.from.canonical] ?? col.from.canonical;
    if (!out.includes(field)) out.push(field);
  }
  return out;
}

/** Required properties of the module that no column of the upload feeds (system ones aside). */
export function unfedRequired(cols: readonly PropertyColumn[], props: readonly SamespaceProperty[]): SamespaceProperty[] {
  return props.filter((p) => p.required === true && !cols.some((c) => c.key === p.key));
}
