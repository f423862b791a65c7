/**
 * Samespace API client (samespace-contacts-api.txt): the GraphQL endpoint `{base}/crm/api`
 * and the REST upload `{base}/manage/api/v3/csv/upload`, both authenticated with the
 * `x-api-key` header. It knows requests and authentication only; batching and outcomes
 * live in loader.ts.
 *
 * Failures are classified once, here:
 *  - 401 / 403 / 404 mean the whole run cannot work: an ImportError of kind 'abort'.
 *  - anything else that leaves an operation without a usable answer is a SamespaceFailure,
 *    and the caller decides whether it aborts (open) or fails one chunk (upload/import).
 */
// form-data (with mime-db, ≈ 12 MB of memory) is imported by the first upload, not by every run.
import type FormDataType from 'form-data';
import { ImportError } from '../../errors.js';
import { apiBase, HttpError, redactUrl, serverMessage, type HttpClient, type HttpResponse, type MultipartBody } from '../http.js';

export const KEY_HINT = 'SAMESPACE_API_KEY must be an API key of type Voice, created by an Admin';

export interface SamespaceConfig {
  baseUrl: string;
  apiKey: string;
}

/** The two endpoints under the cluster base. */
const GRAPHQL_PATH = '/crm/api';
const UPLOAD_PATH = '/manage/api/v3/csv/upload';

/** Reads SAMESPACE_URL and SAMESPACE_API_KEY; names a missing one, never prints a value. */
export function samespaceConfig(env: NodeJS.ProcessEnv): SamespaceConfig {
  const baseUrl = env.SAMESPACE_URL?.trim();
  // Both missing: both named at once, so that fixing one does not reveal the other.
  if (!baseUrl && !env.SAMESPACE_API_KEY) {
    throw new ImportError('CONFIG_MISSING', `SAMESPACE_URL and SAMESPACE_API_KEY are not set (the cluster base, e.g. https://clusterid.samespace.com; ${KEY_HINT})`);
  }
  if (!baseUrl) throw new ImportError('CONFIG_MISSING', 'SAMESPACE_URL is not set (the cluster base, e.g. https://clusterid.samespace.com)');
  try {
    const u = new URL(baseUrl);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error('not http(s)');
  } catch {
    throw new ImportError('CONFIG_MISSING', 'SAMESPACE_URL is not an http(s) URL (expected e.g. https://clusterid.samespace.com)');
  }
  const apiKey = env.SAMESPACE_API_KEY;
  if (!apiKey) throw new ImportError('CONFIG_MISSING', `SAMESPACE_API_KEY is not set (${KEY_HINT})`);
  return { baseUrl: samespaceBase(baseUrl), apiKey };
}

/**
 * The cluster base in SAMESPACE_URL (set), as the client and the ledger's account use it: the
 * endpoint URLs as Samespace's document writes them (https://clusterid.samespace.com/crm/api,
 * …/manage/api/v3/csv/upload) mean the same cluster.
 */
export function samespaceBase(url: string): string {
  return apiBase(url, [GRAPHQL_PATH, UPLOAD_PATH]);
}

export type FailureKind =
  /** network errors, 429 or 5xx that outlasted the retries */
  | 'transient'
  /** the server answered with GraphQL errors or a 4xx: it refused the request */
  | 'rejected'
  /** an answer the document does not describe */
  | 'protocol';

export class SamespaceFailure extends Error {
  constructor(readonly operation: string, readonly kind: FailureKind, message: string) {
    super(message);
    this.name = 'SamespaceFailure';
  }
}

export interface SamespaceModule {
  _id: string;
  name: string;
  createdAt?: string | null;
  modifiedAt?: string | null;
}

export interface SamespaceProperty {
  _id: string;
  label: string | null;
  key: string;
  type: string | null;
  required: boolean | null;
}

export interface UploadAnswer {
  fileUuid: string;
  filename?: string;
  columns: string[];
  preview?: Record<string, unknown>;
}

export interface ImportFailure {
  contact: Record<string, unknown>;
  reason: string;
  key?: string | null;
}

export interface ImportAnswer {
  success: number;
  failed: ImportFailure[];
  merged: number;
}

export interface NewProperty {
  label: string;
  type: string;
  valueType: string | null;
}

export interface QueryInput {
  skip?: number;
  limit?: number;
  fields?: string[];
  [k: string]: unknown;
}

export interface StoredContact {
  _id: string;
  module: string;
  properties: Record<string, { value: unknown; type?: string } | null>;
}

// The operations, exactly as the document writes them.
/** The property selection, as the document lists it for getProperties and createProperty. */
const PROPERTY_FIELDS = `{
_id
label
key
type
options {
label
key
}
optionsType
referenceModule
addToView
displayOrder
required
valueType
default
createdBy
}`;

const Q = {
  getModules: `query GetModules {
getModules {
_id
name
createdAt
modifiedAt
}
}`,
  getProperties: `query GetProperties($module: ID, $moduleName: String, $payload: GetPropertiesInput) {
getProperties(module: $module, moduleName: $moduleName, payload: $payload) ${PROPERTY_FIELDS}
}`,
  createProperty: `mutation CreateProperty($payload: CreatePropertyInput!, $module: ID, $moduleName: String) {
createProperty(payload: $payload, module: $module, moduleName: $moduleName) ${PROPERTY_FIELDS}
}`,
  importContacts: `mutation ImportContacts($fileUuid: String!, $mapAttributes: [KeyValueInput!]!, $module: ID, $moduleName: String) {
importContacts(
fileUuid: $fileUuid
mapAttributes: $mapAttributes
module: $module
moduleName: $moduleName
)
}`,
  getContacts: `query GetContacts($module: ID, $moduleName: String, $query: QueryInput) {
getContacts(module: $module, moduleName: $moduleName, query: $query) {
_id
properties
module
}
}`,
  deleteContacts: `mutation DeleteContacts($module: ID, $moduleName: String, $id: [ID!], $filter: JSON, $all: Boolean) {
deleteContacts(
module: $module
moduleName: $moduleName
_id: $id
filter: $filter
all: $all
)
}`,
} as const;

export class SamespaceClient {
  readonly graphqlUrl: string;
  readonly uploadUrl: string;

  constructor(private readonly http: HttpClient, private readonly config: SamespaceConfig) {
    this.graphqlUrl = `${config.baseUrl}${GRAPHQL_PATH}`;
    this.uploadUrl = `${config.baseUrl}${UPLOAD_PATH}`;
  }

  async getModules(): Promise<SamespaceModule[]> {
    const data = await this.gql('getModules', Q.getModules, {});
    const list = data.getModules;
    if (!Array.isArray(list) || !list.every((m) => isObject(m) && typeof m._id === 'string' && typeof m.name === 'string')) {
      throw new SamespaceFailure('getModules', 'protocol', `getModules answered ${preview(list)}, expected a list of {_id, name}`);
    }
    return list as SamespaceModule[];
  }

  async getPropertiesPage(moduleId: string, skip: number, limit: number): Promise<SamespaceProperty[]> {
    const data = await this.gql('getProperties', Q.getProperties, { module: moduleId, payload: { query: { skip, limit } } });
    const list = data.getProperties;
    if (!Array.isArray(list) || !list.every((p) => isObject(p) && typeof p.key === 'string')) {
      throw new SamespaceFailure('getProperties', 'protocol', `getProperties answered ${preview(list)}, expected a list of properties with a key`);
    }
    return list as SamespaceProperty[];
  }

  /** Every property of the module, page by page until a short page. */
  async getAllProperties(moduleId: string, pageSize = 100): Promise<SamespaceProperty[]> {
    const all: SamespaceProperty[] = [];
    const seen = new Set<string>();
    for (let skip = 0; ; skip += pageSize) {
      const page = await this.getPropertiesPage(moduleId, skip, pageSize);
      const fresh = page.filter((p) => !seen.has(p._id ?? p.key));
      for (const p of fresh) { seen.add(p._id ?? p.key); all.push(p); }
      // A server that ignores `skip` would page forever: a full page of known properties ends it.
      if (page.length < pageSize || fresh.length === 0) return all;
    }
  }

  /**
   * createProperty is not idempotent: a lost answer retried blindly could create the
   * property twice. So it is sent without retries, and after a transient failure the
   * module's properties are read to see whether it landed before sending it again.
   */
  async createProperty(moduleId: string, p: NewProperty, attempts = 3): Promise<SamespaceProperty> {
    const payload = {
      label: p.label, type: p.type, description: null, options: null, optionsSortBy: null, optionsType: null,
      required: false, addToView: false, valueType: p.valueType, referenceModule: null,
    };
    for (let attempt = 1; ; attempt++) {
      try {
        const data = await this.gql('createProperty', Q.createProperty, { module: moduleId, payload }, false);
        const created = data.createProperty;
        if (!isObject(created) || typeof created.key !== 'string') {
          throw new SamespaceFailure('createProperty', 'protocol', `createProperty answered ${preview(created)}, expected a property with a key`);
        }
        return created as unknown as SamespaceProperty;
      } catch (e) {
        if (!(e instanceof SamespaceFailure) || e.kind !== 'transient') throw e;
        const landed = (await this.getAllProperties(moduleId)).find((q) => q.label === p.label);
        if (landed) return landed;
        if (attempt >= attempts) throw e;
      }
    }
  }

  /** Uploads one CSV file; retried as a unit (an orphan upload creates no contacts). */
  async uploadCsv(filename: string, csv: Buffer): Promise<UploadAnswer> {
    const FormData: typeof FormDataType = (await import('form-data')).default;
    const body = (): MultipartBody => {
      const form = new FormData();
      form.append('uploadFile', csv, { filename, contentType: 'text/csv', knownLength: csv.length });
      return {
        // A known length avoids chunked transfer encoding, which some upload servers refuse.
        getHeaders: () => ({ ...form.getHeaders(), 'content-length': String(form.getLengthSync()) }),
        pipe: (dest) => form.pipe(dest),
      };
    };
    const res = await this.send('upload', {
      method: 'POST', url: this.uploadUrl, headers: { 'x-api-key': this.config.apiKey, accept: 'application/json' }, body,
    });
    if (res.status < 200 || res.status >= 300) {
      throw this.failureFor('upload', res);
    }
    const j = res.json;
    if (!isObject(j) || typeof j.fileUuid !== 'string' || !j.fileUuid || !Array.isArray(j.columns) || !j.columns.every((c) => typeof c === 'string')) {
      throw new SamespaceFailure('upload', 'protocol', `POST ${redactUrl(this.uploadUrl)} answered ${res.status} ${preview(res.json ?? res.text)}, expected {fileUuid, columns}`);
    }
    return j as unknown as UploadAnswer;
  }

  /**
   * Retried (by the HttpClient) with the same fileUuid, never with a new upload. This
   * relies on Samespace treating a second importContacts of an already imported file as
   * the same import (idempotent by fileUuid), as a file-based import is expected to:
   * otherwise an answer lost after the server processed it would import the file twice.
   */
  async importContacts(fileUuid: string, mapAttributes: { key: string; value: string }[], moduleId: string): Promise<ImportAnswer> {
    const data = await this.gql('importContacts', Q.importContacts, { fileUuid, mapAttributes, module: moduleId });
    const r = data.importContacts;
    if (!isObject(r) || typeof r.success !== 'number' || typeof r.merged !== 'number' || !Array.isArray(r.failed)
      || !r.failed.every((f) => isObject(f) && isObject(f.contact))) {
      throw new SamespaceFailure('importContacts', 'protocol', `importContacts answered ${preview(r)}, expected {success, failed: [{contact, reason, key}], merged}`);
    }
    return {
      success: r.success,
      merged: r.merged,
      failed: (r.failed as Record<string, unknown>[]).map((f) => ({
        contact: f.contact as Record<string, unknown>,
        reason: typeof f.reason === 'string' ? f.reason : String(f.reason ?? 'no reason given'),
        key: typeof f.key === 'string' ? f.key : null,
      })),
    };
  }

  async getContacts(moduleId: string, query: QueryInput = { skip: 0, limit: 50 }): Promise<StoredContact[]> {
    const data = await this.gql('getContacts', Q.getContacts, { module: moduleId, query });
    const list = data.getContacts;
    if (!Array.isArray(list)) throw new SamespaceFailure('getContacts', 'protocol', `getContacts answered ${preview(list)}, expected a list`);
    return list as StoredContact[];
  }

  /** Not idempotent in its answer but safe to repeat: deleting a deleted id deletes nothing. */
  async deleteContacts(moduleId: string, ids: string[]): Promise<unknown> {
    if (ids.length === 0) return { success: true, message: 'nothing to delete' };
    const data = await this.gql('deleteContacts', Q.deleteContacts, { module: moduleId, id: ids });
    return data.deleteContacts;
  }

  /** One GraphQL operation; returns `data`, or throws with Samespace's message and the operation name. */
  private async gql(operation: string, query: string, variables: Record<string, unknown>, retry = true): Promise<Record<string, unknown>> {
    const res = await this.send(operation, {
      method: 'POST',
      url: this.graphqlUrl,
      headers: { 'x-api-key': this.config.apiKey, 'content-type': 'application/json', accept: 'application/json' },
      body: () => JSON.stringify({ query, variables }),
      retry,
    });
    const j = res.json;
    const errors = isObject(j) && Array.isArray(j.errors) && j.errors.length ? j.errors : undefined;
    if (errors) {
      const msg = this.scrub(errors.map((e) => (isObject(e) && typeof e.message === 'string' ? e.message : JSON.stringify(e))).join('; '));
      throw new SamespaceFailure(operation, res.status >= 500 || res.status === 429 ? 'transient' : 'rejected', `${operation}: ${clip(msg)}`);
    }
    if (res.status < 200 || res.status >= 300) throw this.failureFor(operation, res);
    if (!isObject(j) || !isObject(j.data) || !(operation in j.data)) {
      throw new SamespaceFailure(operation, 'protocol', `${operation}: POST ${redactUrl(this.graphqlUrl)} answered ${res.status} ${preview(j ?? res.text)}, expected {data: {${operation}}}`);
    }
    return j.data;
  }

  private async send(operation: string, o: Parameters<HttpClient['request']>[0]): Promise<HttpResponse> {
    let res: HttpResponse;
    try {
      res = await this.http.request(o);
    } catch (e) {
      if (e instanceof HttpError) throw new SamespaceFailure(operation, 'transient', `${operation}: ${e.message}`);
      throw e;
    }
    if (res.status !== 401 && res.status !== 403 && res.status !== 404) return res;
    // Only for a refusal: a success can carry a whole page of contacts to scan for a message.
    const where = `POST ${redactUrl(o.url)} answered ${res.status}`;
    const msg = this.scrub(serverMessage(res));
    if (res.status === 401) {
      throw new ImportError('AUTH_FAILED', `Samespace refused the API key (${operation}: ${where}${msg ? `: ${msg}` : ''}). ${KEY_HINT}.`);
    }
    if (res.status === 403) {
      throw new ImportError('AUTH_FORBIDDEN', `Samespace refused the API key's permissions (${operation}: ${where}${msg ? `: ${msg}` : ''}). ${KEY_HINT}.`);
    }
    throw new ImportError('TARGET_PROTOCOL', `${operation}: ${where}; check SAMESPACE_URL (the cluster base, e.g. https://clusterid.samespace.com)`);
  }

  private scrub(text: string): string {
    return scrubKey(text, this.config.apiKey);
  }

  private failureFor(operation: string, res: HttpResponse): SamespaceFailure {
    const msg = this.scrub(serverMessage(res));
    const url = operation === 'upload' ? this.uploadUrl : this.graphqlUrl;
    const kind: FailureKind = res.status === 429 || res.status >= 500 ? 'transient' : 'rejected';
    return new SamespaceFailure(operation, kind, `${operation}: POST ${redactUrl(url)} answered ${res.status}${msg ? `: ${msg}` : ''}`);
  }
}

/** A server that echoes the request's headers must not put the key into our messages. */
function scrubKey(text: string, key: string): string {
  return key ? text.split(key).join('[SAMESPACE_API_KEY]') : text;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function clip(s: string, n = 300): string {
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length > n ? one.slice(0, n) + '…' : one;
}

function preview(v: unknown): string {
  if (v === undefined) return 'nothing';
  return clip(typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v) ?? String(v), 120);
}
