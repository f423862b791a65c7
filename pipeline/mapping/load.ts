/**
 * Loads a mapping file: YAML -> zod schema, every problem reported at once with the
 * file, the line and the path inside it; unknown keys get a "did you mean".
 */
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import YAML, { LineCounter, isNode } from 'yaml';
import { z } from 'zod';
import { ImportError } from '../errors.js';
import { mappingSchema, type Mapping } from './schema.js';
import { didYouMean } from './did-you-mean.js';
import { isKnownCountry, resolveCountry } from '../transforms/phone.js';

export interface LoadedMapping {
  mapping: Mapping;
  path: string;
  sha256: string;
}

export interface MappingProblem {
  path: string;
  line?: number;
  message: string;
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out || '(top level)';
}

type AnySchema = z.ZodType & { _zod: { def: Record<string, unknown> } };

/** The object keys the schema accepts at a path (for "did you mean"). */
function keysAt(schema: AnySchema, path: readonly PropertyKey[]): string[] {
  const out = new Set<string>();
  const visit = (s: AnySchema | undefined, i: number) => {
    if (!s) return;
    const def = s._zod.def as Record<string, unknown> & { type: string };
    switch (def.type) {
      case 'optional': case 'default': case 'nullable': case 'prefault': case 'readonly': case 'catch':
        return visit(def.innerType as AnySchema, i);
      case 'pipe': return visit(def.in as AnySchema, i);
      case 'union': for (const o of def.options as AnySchema[]) visit(o, i); return;
      case 'array': if (typeof path[i] === 'number') visit(def.element as AnySchema, i + 1); return;
      case 'record': if (i < path.length) visit(def.valueType as AnySchema, i + 1); return;
      case 'object': {
        const shape = def.shape as Record<string, AnySchema>;
        if (i === path.length) { for (const k of Object.keys(shape)) out.add(k); return; }
        visit(shape[String(path[i])], i + 1);
        return;
      }
      default: return;
    }
  };
  visit(schema as AnySchema, 0);
  return [...out];
}

function lineOf(doc: YAML.Document, counter: LineCounter, path: readonly PropertyKey[]): number | undefined {
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path as unknown[], true);
    const target = n === path.length ? node : doc.getIn(path.slice(0, n) as unknown[], true);
    if (isNode(target) && target.range) return counter.linePos(target.range[0]).line;
  }
  return undefined;
}

/** Key line of an unknown key inside the object at `path`. */
function keyLine(doc: YAML.Document, counter: LineCounter, path: readonly PropertyKey[], key: string): number | undefined {
  const parent = path.length ? doc.getIn(path as unknown[], true) : doc.contents;
  if (parent && YAML.isMap(parent)) {
    for (const pair of parent.items) {
      if (isNode(pair.key) && String((pair.key as YAML.Scalar).value) === key && pair.key.range) {
        return counter.linePos(pair.key.range[0]).line;
      }
    }
  }
  return lineOf(doc, counter, path);
}

export function parseMapping(text: string, file: string): Mapping {
  const counter = new LineCounter();
  const doc = YAML.parseDocument(text, { lineCounter: counter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length) {
    const e = doc.errors[0];
    const line = e.linePos?.[0]?.line;
    throw new ImportError('MAPPING_YAML', `${file}${line ? `:${line}` : ''}: YAML syntax error: ${e.message.split('\n')[0].replace(/:\s*$/, '')}`,
      { file, line });
  }
  const data = doc.toJS() as unknown;
  if (data === null || data === undefined) {
    throw new ImportError('MAPPING_INVALID', `${file}: the mapping is empty; expected at least a "fields:" section`, { file });
  }
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw new ImportError('MAPPING_INVALID',
      `${file}: expected a mapping (key: value pairs such as "fields:") at the top level, got ${Array.isArray(data) ? 'a list' : `the ${typeof data} ${JSON.stringify(data).slice(0, 40)}`}`, { file });
  }
  const problems: MappingProblem[] = [];
  const parsed = mappingSchema.safeParse(data);
  if (!parsed.success) {
    for (const { issue, path } of flattenIssues(parsed.error.issues, [])) {
      if (issue.code === 'unrecognized_keys') {
        const allowed = keysAt(mappingSchema as unknown as AnySchema, path);
        for (const key of issue.keys) {
          const guess = didYouMean(key, allowed);
          problems.push({
            path: formatPath([...path, key]),
            line: keyLine(doc, counter, path, key),
            message: `unknown key "${key}"${guess ? `, did you mean "${guess}"?` : ''} (expected one of: ${allowed.join(', ')})`,
          });
        }
      } else {
        problems.push({ path: formatPath(path), line: lineOf(doc, counter, path), message: describeIssue(issue, path, data) });
      }
    }
  }
  if (parsed.success) problems.push(...semanticProblems(parsed.data, doc, counter));
  if (problems.length) throw mappingError(file, problems);
  return parsed.data!;
}

type Issue = z.core.$ZodIssue;
type UnionIssue = Issue & { errors: Issue[][] };

/** A union branch whose shape the value does not even have (text where a list goes, ...). */
function shapeMismatch(branch: readonly Issue[]): boolean {
  return branch.every((i) => i.path.length === 0 &&
    (i.code === 'invalid_type' || (i.code === 'invalid_union' && (i as UnionIssue).errors.every(shapeMismatch))));
}

/**
 * Issues with their full paths, unions resolved. zod reports a field that fails as "no
 * shape matched", with every shape's issues inside; the shape the value has (an object
 * for `{ column: ... }`, a list for `[A, B]`) is the one the user meant, so its issues
 * are reported at their own paths ("fields.name.transform[1]"). Only a value that has
 * none of the shapes stays one union issue.
 */
function flattenIssues(issues: readonly Issue[], base: readonly PropertyKey[]): { issue: Issue; path: PropertyKey[] }[] {
  const out: { issue: Issue; path: PropertyKey[] }[] = [];
  for (const issue of issues) {
    const path = [...base, ...issue.path];
    const branch = issue.code === 'invalid_union' ? (issue as UnionIssue).errors.find((b) => !shapeMismatch(b)) : undefined;
    if (branch) out.push(...flattenIssues(branch, path));
    else out.push({ issue, path });
  }
  return out;
}

const EN = z.locales.en();
/** zod's own English ("Too small: ..."), as opposed to a message schema.ts words itself. */
const isLibraryMessage = (issue: Issue) => issue.message === EN.localeError(issue as never);

/** The value as a message quotes it. */
function show(v: unknown): string {
  if (v === null) return 'nothing (an empty value)';
  if (Array.isArray(v)) return v.length ? 'a list' : 'an empty list';
  if (typeof v === 'object') return 'a section of key: value pairs';
  if (typeof v === 'string') return v ? JSON.stringify(v) : 'an empty text ""';
  return String(v);
}

/** What a type is called in a YAML file. */
function typeWord(t: string): string {
  switch (t) {
    case 'string': return 'text';
    case 'number': return 'a number';
    case 'int': return 'a whole number';
    case 'boolean': return 'boolean (true or false)';
    case 'array': return 'a list';
    case 'object': case 'record': return 'a section of key: value pairs';
    default: return t;
  }
}

/** The types the branches of a union wanted, for "expected text or a number". */
function expectedTypes(issues: readonly Issue[]): string[] {
  const out: string[] = [];
  for (const i of issues) {
    if (i.path.length) continue;
    if (i.code === 'invalid_type') out.push(typeWord(i.expected));
    else if (i.code === 'invalid_union') for (const b of (i as UnionIssue).errors) out.push(...expectedTypes(b));
  }
  return [...new Set(out)];
}

/**
 * One issue in plain words: what is allowed, the value found, and a guess when one is
 * close. zod's own wording ("Too small: expected number to be >=1", "Invalid option")
 * is never shown: it names neither the value nor, for options, the one meant.
 */
function describeIssue(issue: Issue, path: readonly PropertyKey[], data: unknown): string {
  const got = getIn(data, path);
  const gotText = got === undefined ? '' : `, got ${show(got)}`;
  switch (issue.code) {
    case 'invalid_type': {
      if (got === undefined && path.length) {
        return `the key "${String(path[path.length - 1])}" is missing (expected ${typeWord(issue.expected)})`;
      }
      if (issue.expected === 'object') {
        const keys = keysAt(mappingSchema as unknown as AnySchema, path);
        return `expected a section of key: value pairs on the indented lines below it${keys.length ? ` (keys: ${keys.join(', ')})` : ''}${gotText}`;
      }
      return `expected ${typeWord(issue.expected)}${gotText}`;
    }
    case 'invalid_union': {
      const types = expectedTypes((issue as UnionIssue).errors.flat());
      // Fields take a column name or a source object (lists: also a list of them), as mappings/README.md says.
      if (path[0] === 'fields') {
        return `expected a column name, or an object with one of column, columns, template or value${types.includes('a list') ? ', or a list of those' : ''} (see mappings/README.md)${gotText}`;
      }
      return `expected ${types.length ? types.join(' or ') : 'another kind of value'}${gotText}`;
    }
    case 'invalid_value': {
      const options = issue.values.map(String);
      const guess = suggestValue(path, got, options);
      return `expected ${options.length > 1 ? 'one of ' : ''}${options.map((o) => JSON.stringify(o)).join(', ')}${gotText}${guess ? `; did you mean "${guess}"?` : ''}`;
    }
    case 'too_small': case 'too_big': {
      if (!isLibraryMessage(issue)) return `${issue.message}${gotText}`;
      const small = issue.code === 'too_small';
      const bound = Number(small ? (issue as { minimum: number | bigint }).minimum : (issue as { maximum: number | bigint }).maximum);
      const inclusive = (issue as { inclusive?: boolean }).inclusive !== false;
      const op = small ? (inclusive ? '>=' : '>') : (inclusive ? '<=' : '<');
      const most = small ? 'at least' : 'at most';
      switch (issue.origin) {
        case 'number': case 'int': case 'bigint': return `expected a number ${op} ${bound}${gotText}`;
        case 'string': return small && bound === 1 ? `cannot be empty${gotText}` : `expected text of ${most} ${bound} characters${gotText}`;
        case 'array': case 'set': return `expected a list of ${most} ${bound} item${bound === 1 ? '' : 's'}${gotText}`;
        default: return `expected ${most} ${bound}${gotText}`;
      }
    }
    case 'invalid_format': {
      const guess = suggestValue(path, got, []);
      const what = isLibraryMessage(issue) ? `expected text of the form ${(issue as { pattern?: string }).pattern ?? issue.format}` : issue.message;
      return `${what}${gotText}${guess ? `; did you mean "${guess}"?` : ''}`;
    }
    case 'custom':
      // schema.ts words these itself, quoting the value where it helps.
      return issue.message;
    default:
      return `${isLibraryMessage(issue) ? 'not a value this key takes' : issue.message}${gotText}`;
  }
}

/**
 * A guess for a value that is not allowed: the nearest allowed one; for the default
 * country, the ISO code of what a country column would accept ("UK" -> "GB", "USA" ->
 * "US", "Germany" -> "DE").
 */
function suggestValue(path: readonly PropertyKey[], got: unknown, options: readonly string[]): string | undefined {
  if (typeof got !== 'string') return undefined;
  if (formatPath(path) === 'phone.defaultCountry') {
    const code = resolveCountry(got);
    return code && code !== got.toUpperCase() ? code : undefined;
  }
  return didYouMean(got, options);
}

function getIn(data: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = data;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[p];
  }
  return cur;
}

function semanticProblems(m: Mapping, doc: YAML.Document, counter: LineCounter): MappingProblem[] {
  const out: MappingProblem[] = [];
  const at = (path: PropertyKey[], message: string) => out.push({ path: formatPath(path), line: lineOf(doc, counter, path), message });
  const mapped = Object.entries(m.fields).filter(([k, v]) => v !== undefined && !(k === 'custom' && !Object.keys(v as object).length));
  if (!mapped.length) at(['fields'], 'the mapping maps nothing: give at least one field a column (e.g. `name: "Full Name"`)');
  if (m.phone.defaultCountry && !isKnownCountry(m.phone.defaultCountry)) {
    const guess = suggestValue(['phone', 'defaultCountry'], m.phone.defaultCountry, []);
    at(['phone', 'defaultCountry'], guess
      // "UK" is a name the country column accepts, not an ISO code.
      ? `"${m.phone.defaultCountry}" is not an ISO country code; did you mean "${guess}"? (a country column may hold names such as "${m.phone.defaultCountry}"; defaultCountry takes the two-letter code)`
      : `"${m.phone.defaultCountry}" is not a country code libphonenumber knows; use an ISO code such as US, GB, DE, IN`);
  }
  for (const r of m.required) {
    if (r === 'phoneOrEmail') {
      if (!m.fields.phones && !m.fields.emails) at(['required'], 'phoneOrEmail is required but neither phones nor emails is mapped');
      continue;
    }
    const derived = (r === 'name' && (m.fields.firstName || m.fields.lastName)) ||
      ((r === 'firstName' || r === 'lastName') && m.fields.name);
    if (!m.fields[r as keyof Mapping['fields']] && !derived) at(['required'], `"${r}" is required but fields.${r} is not mapped`);
  }
  const ruleFields = new Set(['id', 'name', 'company', 'title', 'address', 'photoUrl', 'twitter', 'url', 'owner', 'websites']);
  for (const f of Object.keys(m.dedupe.rules)) {
    if (f === 'firstName' || f === 'lastName') {
      at(['dedupe', 'rules', f], `name, firstName and lastName are kept together, from the row that rules.name picks: set dedupe.rules.name instead`);
    } else if (!ruleFields.has(f) && !f.startsWith('custom.')) {
      const guess = didYouMean(f, [...ruleFields]);
      at(['dedupe', 'rules', f], `no survivorship rule applies to "${f}"${guess ? `, did you mean "${guess}"?` : ''} (phones and emails are always unioned)`);
    }
  }
  if (Object.values(m.dedupe.rules).includes('newest') && !m.dedupe.dateColumn) {
    at(['dedupe', 'dateColumn'], 'the "newest" rule needs dedupe.dateColumn (the column holding each row\'s date)');
  }
  if (m.dedupe.scope === 'owner' && !m.fields.owner) at(['dedupe', 'scope'], 'scope "owner" needs fields.owner to be mapped');
  return out;
}

export function mappingError(file: string, problems: MappingProblem[]): ImportError {
  const lines = problems.map((p) => `  ${file}${p.line ? `:${p.line}` : ''} ${p.path}: ${p.message}`);
  const first = problems[0];
  return new ImportError('MAPPING_INVALID',
    `${file}: ${problems.length} problem${problems.length > 1 ? 's' : ''} in the mapping:\n${lines.join('\n')}`,
    { file, mappingPath: first.path, line: first.line }, problems);
}

export async function loadMapping(path: string): Promise<LoadedMapping> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new ImportError('MAPPING_NOT_FOUND', `cannot read the mapping file ${path}`, { file: path });
  }
  const mapping = parseMapping(text.replace(/^\uFEFF/, ''), path);
  return { mapping, path, sha256: createHash('sha256').update(text).digest('hex') };
}
