/**
 * The mapping file schema: one zod schema that validates the YAML and gives the
 * TypeScript types. Unknown keys are rejected everywhere (strict objects) so a typo
 * never silently does nothing. mappings/README.md documents every key.
 */
import { z } from 'zod';

export const TRANSFORMS = ['trim', 'collapseSpaces', 'lower', 'upper', 'title', 'firstWord', 'afterFirstWord', 'digits'] as const;
export type TransformName = (typeof TRANSFORMS)[number];

const columnName = z.string().min(1, 'a column name cannot be empty');

/**
 * A map whose keys the user names (custom properties, survivorship rules, Samespace property
 * keys). zod drops a "__proto__" key without a word (assigning it would set the object's
 * prototype), so whatever it said would vanish: it is refused by name instead.
 */
function keyedBy<K extends z.ZodType<string>, V extends z.ZodType>(key: K, value: V) {
  return z.preprocess((v, ctx) => {
    if (v !== null && typeof v === 'object' && Object.hasOwn(v, '__proto__')) {
      ctx.addIssue({ code: 'custom', path: ['__proto__'], message: 'a key cannot be "__proto__" (JavaScript reserves the name): rename it' });
    }
    return v;
  }, z.record(key, value));
}

/**
 * What is wrong with a template's braces, if anything. Braces only mark column names
 * ("{First Name} {Last Name}"): a "{" never closed, a "}" never opened, "{}" or a brace
 * inside a name would otherwise reach every contact as text ("Ava {Last Name"), and a
 * template with no {column} at all is one constant text. There are no escapes ("{{" is
 * refused, not read as a literal brace), so one can be added later without changing
 * what an accepted template means.
 */
export function templateProblem(t: string): string | undefined {
  const at = (i: number) => `at character ${i + 1}`;
  let open = -1;
  let columns = 0;
  for (let i = 0; i < t.length; i++) {
    if (t[i] === '{') {
      if (open >= 0) return `the "{" ${at(open)} is not closed before the next "{" ${at(i)} in ${JSON.stringify(t)}; write each column as {Column Name} (there is no escape for a literal brace)`;
      open = i;
    } else if (t[i] === '}') {
      if (open < 0) return `the "}" ${at(i)} has no "{" before it in ${JSON.stringify(t)}; write each column as {Column Name} (there is no escape for a literal brace)`;
      if (!t.slice(open + 1, i).trim()) return `"{}" ${at(open)} names no column in ${JSON.stringify(t)}`;
      open = -1;
      columns++;
    }
  }
  if (open >= 0) return `the "{" ${at(open)} is not closed in ${JSON.stringify(t)}: add a "}" after ${JSON.stringify(t.slice(open + 1).trim())}`;
  if (!columns) return `${JSON.stringify(t)} names no column: write columns as {Column Name}, or use \`value:\` for a constant text`;
  return undefined;
}

/**
 * A field source, in one of these shapes:
 *   "Column"                                 one column
 *   { column: "Column" }                     the same, with options
 *   { columns: [A, B] }                      the first non-empty of several, in order of preference
 *   { columns: [A, B], join: " " }           several joined with a separator (empty ones skipped)
 *   { template: "{First} {Last}" }           a template over column names
 *   { value: "constant" }                    a constant
 * Options: transform (list, applied in order), default (when the result is empty).
 */
const fieldObject = z.strictObject({
  column: columnName.optional(),
  columns: z.array(columnName).min(1).optional(),
  join: z.string().optional(),
  template: z.string().min(1).superRefine((t, ctx) => {
    const problem = templateProblem(t);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }).optional(),
  value: z.string().optional(),
  transform: z.array(z.enum(TRANSFORMS)).optional(),
  default: z.string().optional(),
  /** For phones: a label such as mobile / work (reported and sent where a target has one). */
  label: z.string().optional(),
}).superRefine((f, ctx) => {
  const given = (['column', 'columns', 'template', 'value'] as const).filter((k) => f[k] !== undefined);
  if (given.length !== 1) {
    ctx.addIssue({
      code: 'custom',
      message: given.length === 0
        ? 'expected one of column, columns, template or value'
        : `expected only one of column, columns, template or value, got ${given.join(' and ')}`,
    });
  }
  if (f.join !== undefined && f.columns === undefined) {
    ctx.addIssue({ code: 'custom', message: '`join` goes with `columns`', path: ['join'] });
  }
});

export const fieldSpec = z.union([columnName, fieldObject]);
export type FieldSpec = z.infer<typeof fieldSpec>;
export type FieldObject = z.infer<typeof fieldObject>;

/** List fields (phones, emails, websites) take one spec or a list; every non-empty one contributes. */
const listSpec = z.union([fieldSpec, z.array(fieldSpec).min(1)]);

const sourceSchema = z.strictObject({
  /** Sheet name, or 1-based index (XLS/XLSX). Default: the first sheet with data. */
  sheet: z.union([z.string().min(1), z.number().int().min(1)]).optional(),
  /** 1-based row number of the header row. Default: 1, or for spreadsheets the first row that looks like a header. */
  headerRow: z.number().int().min(1).optional(),
  delimiter: z.enum(['auto', ',', ';', '\t', '|']).default('auto'),
  encoding: z.enum(['auto', 'utf-8', 'utf-16le', 'utf-16be', 'windows-1252', 'latin1']).default('auto'),
}).default({ delimiter: 'auto', encoding: 'auto' });

const fieldsSchema = z.strictObject({
  id: fieldSpec.optional(),
  name: fieldSpec.optional(),
  firstName: fieldSpec.optional(),
  lastName: fieldSpec.optional(),
  company: fieldSpec.optional(),
  title: fieldSpec.optional(),
  address: fieldSpec.optional(),
  photoUrl: fieldSpec.optional(),
  twitter: fieldSpec.optional(),
  url: fieldSpec.optional(),
  owner: fieldSpec.optional(),
  phones: listSpec.optional(),
  emails: listSpec.optional(),
  websites: listSpec.optional(),
  /** Target-specific properties, e.g. Samespace custom property keys. */
  custom: keyedBy(z.string().min(1), fieldSpec).optional(),
});

const phoneSchema = z.strictObject({
  /** ISO 3166-1 alpha-2 country used when a number has no +country code. */
  defaultCountry: z.string().regex(/^[A-Za-z]{2}$/, 'expected a two-letter ISO country code such as US, GB, DE').transform((s) => s.toUpperCase()).optional(),
  /** A column holding each row's country (ISO code or English name). */
  countryColumn: columnName.optional(),
  /** true: an invalid number is dropped and the row loads without it (the report says so). */
  optional: z.boolean().default(false),
}).default({ optional: false });

const namesSchema = z.strictObject({
  /** Turn "JOHN SMITH" into "John Smith" (mixed-case names are left alone). */
  fixAllCaps: z.boolean().default(false),
  /** Build name from firstName + lastName when name is not mapped or empty (default true). */
  joinFirstLast: z.boolean().default(true),
  /** Split name into firstName / lastName when those are not mapped or empty (default true). */
  splitName: z.boolean().default(true),
}).default({ fixAllCaps: false, joinFirstLast: true, splitName: true });

export const SURVIVORSHIP = ['first', 'last', 'longest', 'mostComplete', 'newest'] as const;
export const MATCH_KEYS = ['id', 'phone', 'email', 'nameCompany'] as const;

const dedupeSchema = z.strictObject({
  /** Keys that make two rows the same contact; matches are transitive. None: nothing is merged. */
  keys: z.array(z.enum(MATCH_KEYS)).default([]),
  /** global, or owner: the same customer under two owners stays two contacts. */
  scope: z.enum(['global', 'owner']).default('global'),
  /** Per-field survivorship rule (default: first non-empty). */
  rules: keyedBy(z.string(), z.enum(SURVIVORSHIP)).default({}),
  /** Column with a date, for the `newest` rule. */
  dateColumn: columnName.optional(),
  /** Which row's id the merged contact keeps: first (default) or the one chosen by `rules.id`. */
  idFrom: z.enum(['first', 'rule']).default('first'),
}).default({ keys: [], scope: 'global', rules: {}, idFrom: 'first' });

const samespaceSchema = z.strictObject({
  /** Module name or id; default "Contacts". */
  module: z.string().min(1).default('Contacts'),
  /** Property key for each canonical field (defaults: firstName, lastName, email, phoneNumber, company). */
  properties: keyedBy(z.string(), z.string().min(1)).optional(),
  /** Types for custom properties created with --create-missing-properties. */
  propertyTypes: keyedBy(z.string(), z.enum(['TEXT', 'EMAIL', 'PHONE', 'NUMBER', 'DATE', 'DATE_TIME', 'URL', 'TEXTAREA'])).optional(),
  chunkSize: z.number().int().min(1).max(100_000).optional(),
  concurrency: z.number().int().min(1).max(8).optional(),
}).optional();

const spokeSchema = z.strictObject({
  batchSize: z.number().int().min(1).max(1000).optional(),
  concurrency: z.number().int().min(1).max(32).optional(),
}).optional();

const genesysSchema = z.strictObject({
  concurrency: z.number().int().min(1).max(32).optional(),
}).optional();

const talkdeskSchema = z.strictObject({}).optional();

export const mappingSchema = z.strictObject({
  /** Free text shown in reports. */
  description: z.string().optional(),
  source: sourceSchema,
  fields: fieldsSchema,
  phone: phoneSchema,
  names: namesSchema,
  /** Canonical fields that every row must have (after mapping and normalizing). */
  required: z.array(z.enum(['id', 'name', 'firstName', 'lastName', 'company', 'title', 'address', 'owner', 'phones', 'emails', 'websites', 'phoneOrEmail'])).default([]),
  dedupe: dedupeSchema,
  targets: z.strictObject({
    samespace: samespaceSchema,
    spoke: spokeSchema,
    genesys: genesysSchema,
    talkdesk: talkdeskSchema,
  }).default({}),
});

export type Mapping = z.infer<typeof mappingSchema>;
export type MappingInput = z.input<typeof mappingSchema>;
