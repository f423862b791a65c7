/**
 * Loads a mapping file: YAML -> zod schema, every problem reported at once with the
 * file, the line and the path inside it; unknown keys get a "did you mean".
 */
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import YAML, { LineCounter, isNode } from 'yaml';
import type { z } from 'zod';
import { closest, distance } from 'fastest-levenshtein';
import { ImportError } from '../errors.js';
import { mappingSchema, type Mapping } from './schema.js';
import { isKnownCountry } from '../transforms/phone.js';

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

/** Suggest the nearest of `options` when it is close enough to be a typo. */
export function didYouMean(word: string, options: readonly string[]): string | undefined {
  if (!options.length) return undefined;
  const best = closest(word, options as string[]);
  const d = distance(word.toLowerCase(), best.toLowerCase());
  return d <= Math.max(2, Math.floor(best.length / 3)) ? best : undefined;
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
    for (const issue of parsed.error.issues) {
      if (issue.code === 'unrecognized_keys') {
        const allowed = keysAt(mappingSchema as unknown as AnySchema, issue.path);
        for (const key of issue.keys) {
          const guess = didYouMean(key, allowed);
          problems.push({
            path: formatPath([...issue.path, key]),
            line: keyLine(doc, counter, issue.path, key),
            message: `unknown key "${key}"${guess ? `, did you mean "${guess}"?` : ''} (expected one of: ${allowed.join(', ')})`,
          });
        }
      } else if (issue.code === 'invalid_union') {
        problems.push({ path: formatPath(issue.path), line: lineOf(doc, counter, issue.path), message: describeUnion(issue) });
      } else if (issue.code === 'invalid_value' && 'values' in issue) {
        const got = getIn(data, issue.path);
        const options = (issue.values as unknown[]).map(String);
        const guess = typeof got === 'string' ? didYouMean(got, options) : undefined;
        problems.push({
          path: formatPath(issue.path), line: lineOf(doc, counter, issue.path),
          message: `expected one of ${options.map((o) => JSON.stringify(o)).join(', ')}, got ${JSON.stringify(got)}${guess ? `; did you mean "${guess}"?` : ''}`,
        });
      } else if (issue.code === 'invalid_type' && getIn(data, issue.path) === undefined && issue.path.length) {
        const key = String(issue.path[issue.path.length - 1]);
        problems.push({
          path: formatPath(issue.path), line: lineOf(doc, counter, issue.path),
          message: `the key "${key}" is missing (expected ${issue.expected === 'object' ? 'a section of key: value pairs' : issue.expected})`,
        });
      } else {
        const got = getIn(data, issue.path);
        problems.push({
          path: formatPath(issue.path), line: lineOf(doc, counter, issue.path),
          message: `${issue.message}${got !== undefined && typeof got !== 'object' ? `, got ${JSON.stringify(got)}` : ''}`,
        });
      }
    }
  }
  if (parsed.success) problems.push(...semanticProblems(parsed.data, doc, counter));
  if (problems.length) throw mappingError(file, problems);
  return parsed.data!;
}

function describeUnion(issue: z.core.$ZodIssue): string {
  const inner = (issue as { errors?: z.core.$ZodIssue[][] }).errors ?? [];
  // The branch that got furthest is the one the user meant: show its first problem.
  const flat = inner.map((branch) => branch[0]).filter(Boolean);
  const objectBranch = flat.find((i) => i.code !== 'invalid_type');
  if (objectBranch) {
    if (objectBranch.code === 'unrecognized_keys') {
      return `unknown key ${objectBranch.keys.map((k) => `"${k}"`).join(', ')}; a field takes a column name, or one of column, columns, join, template, value, transform, default, label`;
    }
    return `${objectBranch.message}${objectBranch.path.length ? ` at ${formatPath(objectBranch.path)}` : ''}`;
  }
  return 'expected a column name, or an object with one of column, columns, template or value (see mappings/README.md)';
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
    at(['phone', 'defaultCountry'], `"${m.phone.defaultCountry}" is not a country code libphonenumber knows; use an ISO code such as US, GB, DE, IN`);
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
  const ruleFields = new Set(['id', 'name', 'firstName', 'lastName', 'company', 'title', 'address', 'photoUrl', 'twitter', 'url', 'owner', 'websites']);
  for (const f of Object.keys(m.dedupe.rules)) {
    if (!ruleFields.has(f) && !f.startsWith('custom.')) {
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
