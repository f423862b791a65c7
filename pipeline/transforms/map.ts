/**
 * The map stage: a mapping compiled against one file's header into plain functions
 * from a row's cells to the raw values of each canonical field. Compiling once per
 * file keeps the per-row work to array reads and string operations.
 */
import { ImportError } from '../errors.js';
import type { FieldSpec, Mapping, TransformName } from '../mapping/schema.js';
import { didYouMean } from '../mapping/did-you-mean.js';
import { SCALAR_FIELDS, type ScalarField } from '../contact.js';

export interface RawListItem { value: string; label?: string; column?: string }

export interface MappedRow {
  scalars: Partial<Record<ScalarField, string>>;
  phones: RawListItem[];
  emails: RawListItem[];
  websites: RawListItem[];
  custom: Record<string, string>;
  country?: string;
  date?: string;
}

type Getter = (cells: string[]) => string;

export interface CompiledMapping {
  map(cells: string[]): MappedRow;
  /** The columns feeding each canonical field, for messages ("name" from "Full Name"). */
  columnsOf: Record<string, string[]>;
}

// Whitespace other than one space between words: the only text collapseSpaces changes.
const UNTIDY_SPACE = /[^\S ]| {2}|^ | $/;
/** Runs of whitespace to one space, trimmed; tidy text (most cells) comes back as is, without a copy. */
export const collapseSpaces = (s: string) => (UNTIDY_SPACE.test(s) ? s.replace(/\s+/g, ' ').trim() : s);

const TRANSFORM_FNS: Record<TransformName, (s: string) => string> = {
  trim: (s) => s.trim(),
  collapseSpaces,
  lower: (s) => s.toLowerCase(),
  upper: (s) => s.toUpperCase(),
  title: (s) => titleCase(s),
  firstWord: (s) => s.trim().split(/\s+/)[0] ?? '',
  afterFirstWord: (s) => s.trim().split(/\s+/).slice(1).join(' '),
  digits: (s) => s.replace(/\D+/g, ''),
};

export function titleCase(s: string): string {
  return s.toLowerCase().replace(/(^|[\s\-'’.(])(\p{L})/gu, (_m, sep: string, ch: string) => sep + ch.toUpperCase());
}

const TEMPLATE_RE = /\{([^{}]+)\}/g;

/** Finds a column by exact name, then ignoring case and spaces (mappings/README.md). */
const looseKey = (s: string) => s.toLowerCase().replace(/\s+/g, '');
function resolveColumn(headers: readonly string[], name: string): number {
  const exact = headers.indexOf(name);
  if (exact >= 0) return exact;
  const want = looseKey(name);
  return headers.findIndex((h) => looseKey(h) === want);
}

/** `file` is the input file; `mappingFile`, when given, is named in the error too. */
export function compileMapping(mapping: Mapping, headers: readonly string[], file: string, mappingFile?: string): CompiledMapping {
  const missing: { path: string; column: string }[] = [];
  const columnsOf: Record<string, string[]> = {};

  const col = (name: string, path: string): Getter => {
    const i = resolveColumn(headers, name);
    if (i < 0) { missing.push({ path, column: name }); return () => ''; }
    (columnsOf[path.split(/[.[]/)[1] ?? path] ??= []).push(headers[i]);
    return (cells) => (cells[i] ?? '').trim();
  };

  const compileSpec = (spec: FieldSpec, path: string): { get: Getter; label?: string; column?: string } => {
    if (typeof spec === 'string') return { get: col(spec, path), column: spec };
    let get: Getter;
    let column: string | undefined;
    if (spec.column !== undefined) { get = col(spec.column, `${path}.column`); column = spec.column; }
    else if (spec.columns !== undefined) {
      const getters = spec.columns.map((c, i) => col(c, `${path}.columns[${i}]`));
      const sep = spec.join;
      get = sep === undefined
        ? (cells) => { for (const g of getters) { const v = g(cells); if (v) return v; } return ''; }
        : (cells) => getters.map((g) => g(cells)).filter(Boolean).join(sep);
    } else if (spec.template !== undefined) {
      const parts: (string | Getter)[] = [];
      let last = 0;
      for (const m of spec.template.matchAll(TEMPLATE_RE)) {
        if (m.index! > last) parts.push(spec.template.slice(last, m.index));
        parts.push(col(m[1], `${path}.template {${m[1]}}`));
        last = m.index! + m[0].length;
      }
      if (last < spec.template.length) parts.push(spec.template.slice(last));
      get = (cells) => collapseSpaces(parts.map((p) => (typeof p === 'string' ? p : p(cells))).join(''));
    } else {
      const constant = spec.value ?? '';
      get = () => constant;
    }
    if (spec.transform?.length) {
      const fns = spec.transform.map((t) => TRANSFORM_FNS[t]);
      const inner = get;
      get = (cells) => { let v = inner(cells); for (const f of fns) v = f(v); return v; };
    }
    if (spec.default !== undefined) {
      const inner = get;
      const dflt = spec.default;
      get = (cells) => inner(cells) || dflt;
    }
    return { get, label: spec.label, column };
  };

  const scalarGetters: [ScalarField, Getter][] = [];
  for (const f of SCALAR_FIELDS) {
    const spec = mapping.fields[f];
    if (spec !== undefined) scalarGetters.push([f, compileSpec(spec, `fields.${f}`).get]);
  }
  const listGetters = (name: 'phones' | 'emails' | 'websites') => {
    const spec = mapping.fields[name];
    if (spec === undefined) return [];
    const specs = Array.isArray(spec) ? spec : [spec];
    return specs.map((s, i) => compileSpec(s, Array.isArray(spec) ? `fields.${name}[${i}]` : `fields.${name}`));
  };
  const phones = listGetters('phones');
  const emails = listGetters('emails');
  const websites = listGetters('websites');
  const custom = Object.entries(mapping.fields.custom ?? {}).map(([k, s]) => [k, compileSpec(s, `fields.custom.${k}`).get] as const);
  const country = mapping.phone.countryColumn ? col(mapping.phone.countryColumn, 'phone.countryColumn') : undefined;
  const date = mapping.dedupe.dateColumn ? col(mapping.dedupe.dateColumn, 'dedupe.dateColumn') : undefined;

  if (missing.length) {
    const lines = missing.map((m) => {
      const guess = didYouMean(m.column, headers);
      return `  ${m.path}: no column "${m.column}"${guess ? `, did you mean "${guess}"?` : ''}`;
    });
    throw new ImportError('MAPPING_COLUMN_MISSING',
      `${file}: the mapping${mappingFile ? ` ${mappingFile}` : ''} names ${missing.length === 1 ? 'a column' : 'columns'} the file does not have:\n${lines.join('\n')}\n` +
      `  the file's columns are: ${headers.map((h) => JSON.stringify(h)).join(', ')}`,
      { file, mappingPath: missing[0].path, column: missing[0].column });
  }

  const list = (gs: ReturnType<typeof listGetters>, cells: string[]): RawListItem[] => {
    const out: RawListItem[] = [];
    for (const g of gs) {
      const v = g.get(cells);
      if (v) out.push({ value: v, label: g.label, column: g.column });
    }
    return out;
  };

  return {
    columnsOf,
    map(cells) {
      const scalars: MappedRow['scalars'] = {};
      for (const [f, g] of scalarGetters) {
        const v = g(cells);
        if (v) scalars[f] = v;
      }
      const customOut: Record<string, string> = {};
      for (const [k, g] of custom) {
        const v = g(cells);
        if (v) customOut[k] = v;
      }
      return {
        scalars,
        phones: list(phones, cells),
        emails: list(emails, cells),
        websites: list(websites, cells),
        custom: customOut,
        country: country?.(cells) || undefined,
        date: date?.(cells) || undefined,
      };
    },
  };
}
