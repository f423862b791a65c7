/**
 * The data side of the Samespace emulator (samespace-contacts-api.txt): modules, their
 * properties and contacts, uploaded files, the import rules, and the GraphQL schema and
 * resolvers of every documented operation. The HTTP side (auth, multipart, faults) is in
 * samespace.ts.
 *
 * Where the document is silent, the emulator picks one plausible behaviour and says so:
 *  - importContacts validates required properties, EMAIL, PHONE (digits, optional +) and
 *    the owner reference; a failure names the offending property in `key`.
 *  - an incoming contact whose email or phoneNumber equals an existing contact's (or an
 *    earlier row's of the same file) is merged into it: empty fields are filled, nothing
 *    is overwritten, and it counts in `merged`.
 *  - importContacts is idempotent per fileUuid: a second call for a file already imported
 *    answers the first result and imports nothing (see importContacts below).
 */
import { buildSchema, type GraphQLSchema } from 'graphql';
import { randomUUID } from 'node:crypto';
import Papa from 'papaparse';

export interface PropertyOption { label: string; key: string }

export interface EmuProperty {
  _id: string;
  label: string;
  key: string;
  type: string;
  description: string | null;
  options: PropertyOption[] | null;
  optionsType: string | null;
  referenceModule: string | null;
  addToView: boolean;
  displayOrder: number;
  required: boolean;
  valueType: string | null;
  default: boolean;
  createdBy: string | null;
}

type Typed = Record<string, { value: unknown; type: string }>;

export interface EmuContact {
  _id: string;
  module: string;
  properties: Record<string, { value: unknown; type: string }>;
}

export interface EmuModule {
  _id: string;
  name: string;
  createdAt: string;
  modifiedAt: string;
  properties: EmuProperty[];
  /** By _id, in creation order. */
  contacts: Map<string, EmuContact>;
}

export interface EmuUser { _id: string; email: string }

export interface ImportFailure { contact: Record<string, string>; reason: string; key: string }
export interface ImportResult { success: number; failed: ImportFailure[]; merged: number }

export interface StoredFile {
  fileUuid: string;
  filename: string;
  /** The header as it was in the file. */
  header: string[];
  /** The column names the upload answered (what mapAttributes must refer to). */
  columns: string[];
  rows: string[][];
  /** Set by the first importContacts of this file. */
  imported?: { module: string; result: ImportResult };
  importCalls: number;
}

/** The standard property set of a new module; firstName is required, lastName is not. */
export interface PropertySpec {
  key: string;
  label: string;
  type: string;
  required?: boolean;
  /** A system property: set by Samespace, not importable (owner is, by user email or id). */
  system?: boolean;
  referenceModule?: string;
}

export const STANDARD_PROPERTIES: readonly PropertySpec[] = [
  { key: 'firstName', label: 'First Name', type: 'TEXT', required: true },
  { key: 'lastName', label: 'Last Name', type: 'TEXT' },
  { key: 'email', label: 'Email', type: 'EMAIL' },
  { key: 'phoneNumber', label: 'Phone Number', type: 'PHONE' },
  { key: 'company', label: 'Company', type: 'TEXT' },
  { key: 'owner', label: 'Contact Owner', type: 'REFERENCE', system: true, referenceModule: 'users' },
  { key: 'createdBy', label: 'Created By', type: 'REFERENCE', system: true, referenceModule: 'users' },
  { key: 'createdAt', label: 'Created At', type: 'DATE_TIME', system: true },
];

/** Set by Samespace on every contact; left out of `plainContacts` unless asked for. */
export const SYSTEM_KEYS = ['owner', 'createdBy', 'createdAt'] as const;
const NOT_IMPORTABLE = new Set(['createdBy', 'createdAt']);

export const PROPERTY_TYPES = ['TEXT', 'TEXTAREA', 'EMAIL', 'PHONE', 'NUMBER', 'DATE', 'DATE_TIME', 'URL', 'REFERENCE', 'DROPDOWN', 'CHECKBOX'];

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const PHONE = /^\+?\d{3,15}$/;

/** The key Samespace derives from a new property's label ("Loyalty Tier" -> "loyaltyTier"). */
export function keyFromLabel(label: string): string {
  const words = label.split(/[^A-Za-z0-9]+/).filter(Boolean);
  return words.map((w, i) => (i === 0 ? w[0].toLowerCase() + w.slice(1) : w[0].toUpperCase() + w.slice(1))).join('');
}

/** Thrown by resolvers: becomes a GraphQL error with this message. */
class GqlError extends Error {}

export class SamespaceStore {
  readonly modules = new Map<string, EmuModule>();
  readonly files = new Map<string, StoredFile>();
  readonly users: EmuUser[];
  /** Imports actually performed (a replayed importContacts of the same file is not one). */
  importsApplied = 0;
  private seq = 0;
  private clock = Date.parse('2024-01-15T09:00:00.000Z');

  constructor(o: { users?: string[]; modules?: string[]; properties?: readonly PropertySpec[] } = {}) {
    this.users = (o.users ?? ['admin@example.com']).map((email) => ({ _id: this.newId(), email: email.toLowerCase() }));
    for (const name of o.modules ?? ['Contacts']) this.addModule(name, o.properties ?? STANDARD_PROPERTIES);
  }

  /** A 24-hex id like Mongo's ObjectId, deterministic for a store. */
  newId(): string {
    return '64' + (++this.seq).toString(16).padStart(22, '0');
  }

  private now(): string {
    this.clock += 1000;
    return new Date(this.clock).toISOString();
  }

  addModule(name: string, specs: readonly PropertySpec[]): EmuModule {
    const created = String(this.clock);
    const m: EmuModule = { _id: this.newId(), name, createdAt: created, modifiedAt: created, properties: [], contacts: new Map() };
    specs.forEach((s, i) => m.properties.push({
      _id: this.newId(), label: s.label, key: s.key, type: s.type, description: null, options: null, optionsType: null,
      referenceModule: s.referenceModule ?? null, addToView: !s.system, displayOrder: i + 1, required: s.required ?? false,
      valueType: null, default: s.system ?? false, createdBy: null,
    }));
    this.modules.set(m._id, m);
    return m;
  }

  moduleByName(name: string): EmuModule | undefined {
    return [...this.modules.values()].find((m) => m.name.toLowerCase() === name.toLowerCase());
  }

  /** The module an operation addresses (module id, else moduleName), or a GraphQL error. */
  resolveModule(args: { module?: string | null; moduleName?: string | null }): EmuModule {
    if (args.module) {
      const m = this.modules.get(args.module);
      if (!m) throw new GqlError(`Module not found: ${args.module}`);
      return m;
    }
    if (args.moduleName) {
      const m = this.moduleByName(args.moduleName);
      if (!m) throw new GqlError(`Module not found: ${args.moduleName}`);
      return m;
    }
    throw new GqlError('module or moduleName is required');
  }

  /** Stores an uploaded CSV; `answerColumn` names each header column in the answer. */
  storeFile(filename: string, text: string, answerColumn: (h: string) => string): StoredFile | { error: string } {
    const parsed = Papa.parse<string[]>(text.replace(/^\uFEFF/, ''), { header: false, skipEmptyLines: 'greedy' });
    if (parsed.errors.some((e) => e.type === 'Quotes')) return { error: `The file could not be parsed: ${parsed.errors[0].message} (row ${parsed.errors[0].row})` };
    const [header, ...rows] = parsed.data;
    if (!header || header.every((h) => !h.trim())) return { error: 'The file is empty' };
    const file: StoredFile = {
      fileUuid: randomUUID(), filename, header, columns: header.map(answerColumn), rows, importCalls: 0,
    };
    this.files.set(file.fileUuid, file);
    return file;
  }

  /**
   * Idempotent per fileUuid: the emulator assumes, like a file-based import should
   * behave, that a file is imported once and a repeated importContacts of it answers the
   * same result. A client whose answer was lost (the connection dropped after the server
   * did the work) can therefore retry with the same fileUuid without importing twice.
   */
  importContacts(args: { fileUuid: string; mapAttributes: { key: string; value: unknown }[]; module?: string | null; moduleName?: string | null }): ImportResult {
    const file = this.files.get(args.fileUuid);
    if (!file) throw new GqlError('Invalid fileUuid');
    file.importCalls++;
    if (file.imported) return structuredClone(file.imported.result);
    const m = this.resolveModule(args);
    const plan: { col: number; prop: EmuProperty }[] = [];
    for (const a of args.mapAttributes) {
      const col = file.columns.indexOf(a.key);
      if (col < 0) throw new GqlError(`Column "${a.key}" is not in the uploaded file (columns: ${file.columns.join(', ')})`);
      const prop = m.properties.find((p) => p.key === a.value);
      if (!prop) throw new GqlError(`Property "${String(a.value)}" does not exist in module "${m.name}"`);
      if (NOT_IMPORTABLE.has(prop.key)) throw new GqlError(`Property "${prop.key}" is set by Samespace and cannot be imported`);
      if (plan.some((p) => p.prop.key === prop.key)) throw new GqlError(`Property "${prop.key}" is mapped twice`);
      plan.push({ col, prop });
    }
    const result: ImportResult = { success: 0, failed: [], merged: 0 };
    const index = new DuplicateIndex(m);
    for (const row of file.rows) {
      const values: Record<string, string> = {};
      for (const { col, prop } of plan) {
        const v = (row[col] ?? '').trim();
        if (v) values[prop.key] = v;
      }
      const outcome = this.upsert(m, values, index);
      if (typeof outcome === 'object') result.failed.push(outcome);
      else result[outcome]++;
    }
    this.importsApplied++;
    file.imported = { module: m._id, result };
    return structuredClone(result);
  }

  /** Why the values cannot be stored (first problem, by display order), or the typed properties. */
  private check(m: EmuModule, values: Record<string, string>, creating: boolean): { failure: ImportFailure } | { typed: Typed } {
    const typed: Typed = {};
    const props = [...m.properties].sort((a, b) => a.displayOrder - b.displayOrder);
    for (const p of props) {
      const v = values[p.key];
      const fail = (reason: string) => ({ failure: { contact: values, reason, key: p.key } });
      if (v === undefined) {
        if (creating && p.required) return fail(`"${p.label}" is required`);
        continue;
      }
      if (p.type === 'EMAIL' && !EMAIL.test(v)) return fail(`Invalid "${p.label}" input`);
      if (p.type === 'PHONE' && !PHONE.test(v)) return fail(`Invalid "${p.label}" input`);
      if (p.type === 'NUMBER' && !Number.isFinite(Number(v))) return fail(`Invalid "${p.label}" input`);
      if (p.type === 'REFERENCE') {
        const user = this.users.find((u) => u._id === v || u.email === v.toLowerCase());
        if (!user) return fail(`Invalid "${p.label}" input`);
        typed[p.key] = { value: user._id, type: p.type };
        continue;
      }
      typed[p.key] = { value: p.type === 'NUMBER' ? Number(v) : v, type: p.type };
    }
    for (const k of Object.keys(values)) {
      if (!m.properties.some((p) => p.key === k)) return { failure: { contact: values, reason: `Property "${k}" does not exist`, key: k } };
    }
    return { typed };
  }

  /** The existing contact an incoming one merges into: same email (any case) or same phone digits. */
  findDuplicate(m: EmuModule, values: Record<string, string>): EmuContact | undefined {
    const email = values.email?.toLowerCase();
    const phone = values.phoneNumber?.replace(/\D/g, '');
    if (!email && !phone) return undefined;
    for (const c of m.contacts.values()) {
      const ce = c.properties.email?.value;
      const cp = c.properties.phoneNumber?.value;
      if (email && typeof ce === 'string' && ce.toLowerCase() === email) return c;
      if (phone && typeof cp === 'string' && cp.replace(/\D/g, '') === phone) return c;
    }
    return undefined;
  }

  private upsert(m: EmuModule, values: Record<string, string>, index?: DuplicateIndex): 'success' | 'merged' | ImportFailure {
    const dup = index ? index.find(values) : this.findDuplicate(m, values);
    const checked = this.check(m, values, !dup);
    if ('failure' in checked) return checked.failure;
    if (dup) {
      for (const [k, v] of Object.entries(checked.typed)) {
        const have = dup.properties[k]?.value;
        if (have === undefined || have === null || have === '') dup.properties[k] = v;
      }
      index?.add(dup);
      return 'merged';
    }
    index?.add(this.create(m, checked.typed));
    return 'success';
  }

  create(m: EmuModule, typed: Typed): EmuContact {
    const admin = this.users[0]._id;
    const c: EmuContact = {
      _id: this.newId(),
      module: m._id,
      properties: {
        ...typed,
        owner: typed.owner ?? { value: admin, type: 'REFERENCE' },
        createdBy: { value: admin, type: 'REFERENCE' },
        createdAt: { value: this.now(), type: 'DATE_TIME' },
      },
    };
    m.contacts.set(c._id, c);
    return c;
  }

  /** Contacts an update or delete addresses: by ids, by a filter of property values, or all. */
  private select(m: EmuModule, args: { _id?: string[] | null; filter?: unknown; all?: boolean | null }): EmuContact[] {
    if (args.all) return [...m.contacts.values()];
    if (args._id?.length) return args._id.map((id) => m.contacts.get(id)).filter((c): c is EmuContact => !!c);
    if (args.filter && typeof args.filter === 'object') return [...m.contacts.values()].filter((c) => matches(c, args.filter as Record<string, unknown>));
    throw new GqlError('One of _id, filter or all is required');
  }

  /** Contacts as plain property -> value records, in creation order (system properties left out by default). */
  plainContacts(moduleName = 'Contacts', o: { system?: boolean } = {}): Record<string, unknown>[] {
    const m = this.moduleByName(moduleName);
    if (!m) return [];
    return [...m.contacts.values()].map((c) => {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(c.properties)) {
        if (!o.system && (SYSTEM_KEYS as readonly string[]).includes(k)) continue;
        out[k] = v.value;
      }
      return out;
    });
  }

  /** The rootValue for graphql(): one resolver per documented operation. */
  resolvers(): Record<string, (args: Record<string, unknown>) => unknown> {
    return {
      getModules: () => [...this.modules.values()].map(({ _id, name, createdAt, modifiedAt }) => ({ _id, name, createdAt, modifiedAt })),
      getProperties: (a) => {
        const m = this.resolveModule(a);
        const q = ((a.payload as { query?: { skip?: number; limit?: number } } | null)?.query) ?? {};
        const sorted = [...m.properties].sort((x, y) => x.displayOrder - y.displayOrder);
        const skip = q.skip ?? 0;
        return sorted.slice(skip, q.limit === undefined || q.limit === null ? undefined : skip + q.limit);
      },
      createProperty: (a) => {
        const m = this.resolveModule(a);
        const p = a.payload as Partial<EmuProperty> & { label: string; type: string };
        if (!p.label.trim()) throw new GqlError('label is required');
        if (!PROPERTY_TYPES.includes(p.type)) throw new GqlError(`Invalid property type "${p.type}"`);
        const key = keyFromLabel(p.label);
        if (!key) throw new GqlError(`label "${p.label}" gives no property key`);
        if (m.properties.some((x) => x.key === key)) throw new GqlError(`A property with key "${key}" already exists`);
        const prop: EmuProperty = {
          _id: this.newId(), label: p.label, key, type: p.type, description: p.description ?? null,
          options: p.options ?? null, optionsType: p.optionsType ?? null, referenceModule: p.referenceModule ?? null,
          addToView: p.addToView ?? false, displayOrder: Math.max(0, ...m.properties.map((x) => x.displayOrder)) + 1,
          required: p.required ?? false, valueType: p.valueType ?? null, default: false, createdBy: this.users[0]._id,
        };
        m.properties.push(prop);
        return prop;
      },
      updateProperty: (a) => {
        const m = this.resolveModule(a);
        const prop = m.properties.find((p) => p._id === a._id);
        if (!prop) throw new GqlError(`Property not found: ${String(a._id)}`);
        for (const [k, v] of Object.entries(a.payload as Record<string, unknown>)) {
          if (v !== undefined) (prop as unknown as Record<string, unknown>)[k] = v;
        }
        return prop;
      },
      getContacts: (a) => {
        const m = this.resolveModule(a);
        const q = (a.query ?? {}) as { skip?: number | null; limit?: number | null; filter?: unknown };
        const skip = q.skip ?? 0;
        const limit = q.limit ?? 50;
        // The document's example answers properties beyond `fields` (email, owner...): `fields` does not narrow the answer.
        let list = [...m.contacts.values()];
        if (q.filter && typeof q.filter === 'object') list = list.filter((c) => matches(c, q.filter as Record<string, unknown>));
        return list.slice(skip, skip + limit);
      },
      createContact: (a) => {
        const m = this.resolveModule(a);
        const values = keyValues(a.properties);
        const checked = this.check(m, values, true);
        if ('failure' in checked) throw new GqlError(checked.failure.reason);
        return { _id: this.create(m, checked.typed)._id };
      },
      updateContacts: (a) => {
        const m = this.resolveModule(a);
        const values = keyValues(a.properties);
        const checked = this.check(m, values, false);
        if ('failure' in checked) throw new GqlError(checked.failure.reason);
        for (const c of this.select(m, a as { _id?: string[] })) Object.assign(c.properties, checked.typed);
        return { success: true, message: 'Contact updated' };
      },
      deleteContacts: (a) => {
        const m = this.resolveModule(a);
        for (const c of this.select(m, a as { _id?: string[] })) m.contacts.delete(c._id);
        return { success: true, message: 'Contact deleted' };
      },
      importContacts: (a) => this.importContacts(a as unknown as Parameters<SamespaceStore['importContacts']>[0]),
    };
  }
}

function keyValues(list: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of (list as { key: string; value: unknown }[]) ?? []) {
    if (kv.value !== null && kv.value !== undefined && String(kv.value).trim() !== '') out[kv.key] = String(kv.value).trim();
  }
  return out;
}

/**
 * findDuplicate's answer in O(1): email and phone-digit keys -> the earliest contact
 * (creation order = _id order) holding them. Built once per import, so a 20,000-row
 * import is not quadratic; kept in step as the import creates and merges contacts.
 */
class DuplicateIndex {
  private readonly emails = new Map<string, EmuContact>();
  private readonly phones = new Map<string, EmuContact>();

  constructor(m: EmuModule) {
    for (const c of m.contacts.values()) this.add(c);
  }

  add(c: EmuContact): void {
    const e = c.properties.email?.value;
    const p = c.properties.phoneNumber?.value;
    if (typeof e === 'string' && e) this.keep(this.emails, e.toLowerCase(), c);
    if (typeof p === 'string' && p.replace(/\D/g, '')) this.keep(this.phones, p.replace(/\D/g, ''), c);
  }

  find(values: Record<string, string>): EmuContact | undefined {
    const byEmail = values.email ? this.emails.get(values.email.toLowerCase()) : undefined;
    const phone = values.phoneNumber?.replace(/\D/g, '');
    const byPhone = phone ? this.phones.get(phone) : undefined;
    if (byEmail && byPhone) return byEmail._id < byPhone._id ? byEmail : byPhone;
    return byEmail ?? byPhone;
  }

  private keep(map: Map<string, EmuContact>, key: string, c: EmuContact): void {
    const have = map.get(key);
    if (!have || c._id < have._id) map.set(key, c);
  }
}

function matches(c: EmuContact, filter: Record<string, unknown>): boolean {
  return Object.entries(filter).every(([k, v]) => c.properties[k]?.value === v);
}

/** The schema, transcribed from the document's operations. Plain-object answers are `JSON`. */
export const SCHEMA_SDL = /* GraphQL */ `
scalar JSON

type Contact {
  _id: ID!
  properties: JSON
  module: ID
}

type Module {
  _id: ID!
  name: String!
  createdAt: String
  modifiedAt: String
}

type PropertyOption {
  label: String
  key: String
}

type Property {
  _id: ID!
  label: String
  key: String!
  type: String
  description: String
  options: [PropertyOption]
  optionsType: String
  referenceModule: String
  addToView: Boolean
  displayOrder: Int
  required: Boolean
  valueType: String
  default: Boolean
  createdBy: String
}

input KeyValueInput {
  key: String!
  value: JSON
}

input QueryInput {
  skip: Int
  limit: Int
  fields: [String]
  filter: JSON
}

input GetPropertiesInput {
  query: QueryInput
}

input PropertyOptionInput {
  label: String
  key: String
}

input CreatePropertyInput {
  label: String!
  type: String!
  description: String
  options: [PropertyOptionInput]
  optionsSortBy: String
  optionsType: String
  required: Boolean
  addToView: Boolean
  valueType: String
  referenceModule: String
}

input UpdatePropertyInput {
  label: String
  description: String
  options: [PropertyOptionInput]
  optionsSortBy: String
  optionsType: String
  required: Boolean
  addToView: Boolean
  valueType: String
  referenceModule: String
}

type Query {
  getContacts(module: ID, moduleName: String, query: QueryInput): [Contact]
  getModules: [Module]
  getProperties(module: ID, moduleName: String, payload: GetPropertiesInput): [Property]
}

type Mutation {
  createContact(properties: [KeyValueInput!]!, module: ID, moduleName: String): Contact
  updateContacts(properties: [KeyValueInput!]!, module: ID, _id: [ID!], filter: JSON, all: Boolean, moduleName: String): JSON
  deleteContacts(module: ID, moduleName: String, _id: [ID!], filter: JSON, all: Boolean): JSON
  createProperty(payload: CreatePropertyInput!, module: ID, moduleName: String): Property
  updateProperty(_id: ID!, payload: UpdatePropertyInput!, module: ID, moduleName: String): Property
  importContacts(fileUuid: String!, mapAttributes: [KeyValueInput!]!, module: ID, moduleName: String): JSON
}
`;

let schema: GraphQLSchema | undefined;
export function samespaceSchema(): GraphQLSchema {
  return (schema ??= buildSchema(SCHEMA_SDL));
}
