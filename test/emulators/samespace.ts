/**
 * An in-process emulator of the Samespace contacts API (samespace-contacts-api.txt), for
 * loader, chaos, nightly and delete tests. It listens on 127.0.0.1, port 0:
 *
 *   POST {url}/crm/api                       GraphQL (getContacts, createContact, updateContacts,
 *                                            deleteContacts, getModules, getProperties,
 *                                            createProperty, updateProperty, importContacts)
 *   POST {url}/manage/api/v3/csv/upload      multipart/form-data, one file in field `uploadFile`
 *
 * Both check the `x-api-key` header: a missing or unknown key answers 401, the configured
 * non-Voice key answers 403 (the document requires a key of type Voice).
 *
 * Faults (switchable at run time through `faults`) are drawn from a seeded PRNG, so a test
 * sees the same decisions for the same sequence of requests. `faults.script` holds one-shot
 * faults for the next matching requests, for tests that need one exact fault.
 */
import http from 'node:http';
import { closeServer, listenLocal, trackInFlight } from './server.js';
import busboy from 'busboy';
import Papa from 'papaparse';
import { graphql, parse, type OperationDefinitionNode } from 'graphql';
import type { Contact } from '../../pipeline/contact.js';
import { samespaceRow, type PropertyColumn } from '../../pipeline/loaders/samespace/payload.js';
import { SamespaceStore, samespaceSchema, type ImportResult, type PropertySpec } from './samespace-store.js';
import { mulberry32 } from './prng.js';

export { mulberry32 };

export { SamespaceStore, STANDARD_PROPERTIES, keyFromLabel } from './samespace-store.js';
export type { EmuContact, EmuModule, EmuProperty, ImportResult, StoredFile } from './samespace-store.js';

export const SAMESPACE_TEST_API_KEY = 'emu-voice-key-Xo4FDQ34cNIsAvGg';
export const SAMESPACE_NON_VOICE_KEY = 'emu-crm-key-not-voice-7Hq2';

export const GRAPHQL_PATH = '/crm/api';
export const UPLOAD_PATH = '/manage/api/v3/csv/upload';

export type SamespaceRoute = 'POST /crm/api' | 'POST /manage/api/v3/csv/upload' | 'unknown';

/** A one-shot fault for the next request that matches. */
export interface ScriptedFault {
  /** Only this route (default: any). */
  route?: SamespaceRoute;
  /** Only GraphQL requests for this operation (its first field: importContacts, getModules...). */
  operation?: string;
  /** Answer this status instead of handling the request (503, 429, 500, 401...). */
  status?: number;
  retryAfterSec?: number;
  /** Destroy the socket without answering: before handling, or after the request was processed. */
  drop?: 'before' | 'after-apply';
  /** Answer 200 with this GraphQL error instead of running the operation. */
  graphqlError?: string;
  /** Let this many matching requests through first (counted down as they pass). */
  after?: number;
}

export interface SamespaceFaults {
  /** Share of requests answered 503. */
  rate503: number;
  /** Share of requests whose socket is destroyed before they are handled. */
  rateDrop: number;
  /** Share of requests answered 429 with Retry-After: retryAfterSec. */
  rate429: number;
  retryAfterSec: number;
  /** Added before each request is handled: fixed, or uniform in [min, max]. */
  latencyMs: number | { min: number; max: number };
  /** Requests in flight above this are answered 429 (with Retry-After: retryAfterSec). */
  maxInFlight: number;
  /** Share of importContacts requests that are processed and then lose their answer. */
  rateImportAnswerLost: number;
  /** Routes or GraphQL operation names the random faults hit; empty = every request. */
  only: string[];
  /** One-shot faults, consumed in order by the first requests they match. */
  script: ScriptedFault[];
  /** Rewrites the columns the upload answers (a server that reads the header differently). */
  uploadColumns?: (columns: string[]) => string[];
}

export interface SamespaceEmulatorOptions {
  apiKey?: string;
  /** A valid key that is not of type Voice: every request with it answers 403. */
  nonVoiceKey?: string;
  /** Users' emails (the first is the admin who owns imported contacts). */
  users?: string[];
  /** Module names; default ["Contacts"]. Each gets `properties`. */
  modules?: string[];
  /** The property set of each module; default STANDARD_PROPERTIES (firstName required). */
  properties?: readonly PropertySpec[];
  /** Answer the upload's columns in lower case, as the document's example does (default true). */
  lowercaseColumns?: boolean;
  seed?: number;
  faults?: Partial<SamespaceFaults>;
}

export interface RequestRecord {
  seq: number;
  route: SamespaceRoute;
  /** GraphQL: the operation's first field (importContacts...). */
  operation?: string;
  /** importContacts: the fileUuid asked for; upload: the fileUuid answered. */
  fileUuid?: string;
  /** Upload: the uploaded file's name. */
  filename?: string;
  /** 0 when the connection was dropped. */
  status: number;
  /** Processed, then dropped without an answer. */
  answerLost?: boolean;
  /** getContacts and deleteContacts: the variables sent (paging, and which contacts a delete names). */
  variables?: Record<string, unknown>;
}

export interface SamespaceEmulatorState {
  store: SamespaceStore;
  counts: {
    requests: number;
    byRoute: Record<string, number>;
    /** GraphQL requests by operation, whatever their answer. */
    byOperation: Record<string, number>;
    byStatus: Record<string, number>;
    dropped: number;
    /** Files stored (uploads answered 200 or processed and dropped). */
    uploads: number;
  };
  inFlight: number;
  maxInFlight: number;
  log: RequestRecord[];
}

export interface SamespaceEmulator {
  url: string;
  state: SamespaceEmulatorState;
  faults: SamespaceFaults;
  /** Environment variables pointing the samespace loader at this emulator. */
  env: Record<string, string>;
  /** The module's contacts as property -> value records, in creation order (no system properties unless asked). */
  contacts(moduleName?: string, o?: { system?: boolean }): Record<string, unknown>[];
  /** Requests to a route, or GraphQL requests for an operation. */
  requests(routeOrOperation: string): RequestRecord[];
  close(): Promise<void>;
}


interface Answer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** The operation's first root field, or undefined when the document does not parse. */
function operationOf(query: unknown, operationName: unknown): string | undefined {
  if (typeof query !== 'string') return undefined;
  try {
    const ops = parse(query).definitions.filter((d): d is OperationDefinitionNode => d.kind === 'OperationDefinition');
    const op = ops.find((o) => typeof operationName === 'string' && o.name?.value === operationName) ?? ops[0];
    const field = op?.selectionSet.selections.find((s) => s.kind === 'Field');
    return field && field.kind === 'Field' ? field.name.value : undefined;
  } catch {
    return undefined;
  }
}

export async function startSamespaceEmulator(opts: SamespaceEmulatorOptions = {}): Promise<SamespaceEmulator> {
  const apiKey = opts.apiKey ?? SAMESPACE_TEST_API_KEY;
  const nonVoiceKey = opts.nonVoiceKey ?? SAMESPACE_NON_VOICE_KEY;
  const lowercase = opts.lowercaseColumns ?? true;
  const random = mulberry32(opts.seed ?? 1);
  const faults: SamespaceFaults = {
    rate503: 0, rateDrop: 0, rate429: 0, retryAfterSec: 1, latencyMs: 0, maxInFlight: Infinity,
    rateImportAnswerLost: 0, only: [], script: [],
    ...opts.faults,
  };
  const store = new SamespaceStore({ users: opts.users, modules: opts.modules, properties: opts.properties });
  const state: SamespaceEmulatorState = {
    store,
    counts: { requests: 0, byRoute: {}, byOperation: {}, byStatus: {}, dropped: 0, uploads: 0 },
    inFlight: 0,
    maxInFlight: 0,
    log: [],
  };

  const authorize = (headers: http.IncomingHttpHeaders): Answer | undefined => {
    const key = headers['x-api-key'];
    if (key === nonVoiceKey) return { status: 403, body: { message: 'Forbidden: the API key must be of type Voice' } };
    if (key !== apiKey) return { status: 401, body: { message: key ? 'Unauthorized: invalid x-api-key' : 'Unauthorized: x-api-key header is required' } };
    return undefined;
  };

  const runGraphql = async (headers: http.IncomingHttpHeaders, raw: Buffer): Promise<Answer> => {
    if (!/^application\/json\b/i.test(String(headers['content-type'] ?? ''))) {
      return { status: 415, body: { errors: [{ message: 'Content-Type must be application/json' }] } };
    }
    let body: { query?: unknown; variables?: unknown; operationName?: unknown };
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      return { status: 400, body: { errors: [{ message: 'Body is not valid JSON' }] } };
    }
    if (!body || typeof body.query !== 'string') return { status: 400, body: { errors: [{ message: 'Body must be {query, variables}' }] } };
    const result = await graphql({
      schema: samespaceSchema(),
      source: body.query,
      variableValues: (body.variables ?? undefined) as Record<string, unknown> | undefined,
      operationName: typeof body.operationName === 'string' ? body.operationName : undefined,
      rootValue: store.resolvers(),
    });
    // Syntax, validation and variable errors leave no `data`: 400, as GraphQL servers answer them.
    return { status: result.data === undefined && result.errors ? 400 : 200, body: result };
  };

  const upload = (headers: http.IncomingHttpHeaders, raw: Buffer, rec: RequestRecord): Promise<Answer> => new Promise((resolve) => {
    let bb: busboy.Busboy;
    try {
      bb = busboy({ headers, limits: { files: 2, fields: 10 } });
    } catch {
      resolve({ status: 400, body: { message: 'Content-Type must be multipart/form-data' } });
      return;
    }
    const files: { filename: string; data: Buffer }[] = [];
    let refused: string | undefined;
    bb.on('file', (name, stream, info) => {
      if (name !== 'uploadFile') refused ??= `Unexpected field "${name}": send the file as uploadFile`;
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => { if (name === 'uploadFile') files.push({ filename: info.filename ?? '', data: Buffer.concat(chunks) }); });
    });
    bb.on('field', (name) => {
      refused ??= name === 'uploadFile' ? 'uploadFile must be a file, not a text field' : `Unexpected field "${name}": send the file as uploadFile`;
    });
    bb.on('error', (e: Error) => resolve({ status: 400, body: { message: `Malformed multipart body: ${e.message}` } }));
    bb.on('close', () => {
      if (refused) return resolve({ status: 400, body: { message: refused } });
      if (files.length === 0) return resolve({ status: 400, body: { message: 'uploadFile is required' } });
      if (files.length > 1) return resolve({ status: 400, body: { message: 'Send one file in uploadFile' } });
      const f = files[0];
      rec.filename = f.filename;
      if (!/\.csv$/i.test(f.filename)) {
        // The real service also takes XLS; this emulator only reads CSV.
        return resolve({ status: 400, body: { message: `Unsupported file type: ${f.filename}; upload a .csv or .xls file` } });
      }
      const stored = store.storeFile(f.filename, f.data.toString('utf8'), (h) => (lowercase ? h.trim().toLowerCase() : h.trim()));
      if ('error' in stored) return resolve({ status: 400, body: { message: stored.error } });
      state.counts.uploads++;
      rec.fileUuid = stored.fileUuid;
      const columns = faults.uploadColumns ? faults.uploadColumns([...stored.columns]) : stored.columns;
      const first = stored.rows[0] ?? [];
      const preview = Object.fromEntries(stored.columns.map((c, i) => [c, first[i] ?? '']));
      resolve({ status: 200, body: { fileUuid: stored.fileUuid, filename: stored.filename, columns, preview } });
    });
    bb.end(raw);
  });

  let seq = 0;
  const sleep = (ms: number) => new Promise<void>((res) => setTimeout(res, ms));

  const server = http.createServer((req, res) => {
    const rec: RequestRecord = { seq: ++seq, route: 'unknown', status: 0 };
    const inFlightAtArrival = trackInFlight(state, res, () => {
      state.log.push(rec);
      state.counts.requests++;
      state.counts.byRoute[rec.route] = (state.counts.byRoute[rec.route] ?? 0) + 1;
      if (rec.operation) state.counts.byOperation[rec.operation] = (state.counts.byOperation[rec.operation] ?? 0) + 1;
      const key = rec.status ? String(rec.status) : 'dropped';
      state.counts.byStatus[key] = (state.counts.byStatus[key] ?? 0) + 1;
      if (!rec.status) state.counts.dropped++;
    });

    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const raw = Buffer.concat(chunks);
        const path = (req.url ?? '/').split('?')[0].replace(/\/+$/, '');
        if (req.method === 'POST' && path === GRAPHQL_PATH) rec.route = 'POST /crm/api';
        else if (req.method === 'POST' && path === UPLOAD_PATH) rec.route = 'POST /manage/api/v3/csv/upload';
        if (rec.route === 'POST /crm/api') {
          try {
            const b = JSON.parse(raw.toString('utf8')) as { query?: unknown; operationName?: unknown; variables?: { fileUuid?: unknown } };
            rec.operation = operationOf(b.query, b.operationName);
            if (rec.operation === 'importContacts' && typeof b.variables?.fileUuid === 'string') rec.fileUuid = b.variables.fileUuid;
            if ((rec.operation === 'getContacts' || rec.operation === 'deleteContacts') && b.variables && typeof b.variables === 'object') {
              rec.variables = structuredClone(b.variables) as Record<string, unknown>;
            }
          } catch { /* answered 400 by runGraphql */ }
        }

        const answer = (a: Answer) => {
          rec.status = a.status;
          const headers: Record<string, string> = { ...a.headers };
          if (a.body !== undefined) headers['content-type'] = 'application/json; charset=utf-8';
          res.writeHead(a.status, headers);
          res.end(a.body === undefined ? undefined : JSON.stringify(a.body));
        };
        const drop = () => { req.socket.destroy(); };
        const tooMany = (retryAfterSec: number, message: string) =>
          answer({ status: 429, headers: { 'retry-after': String(retryAfterSec) }, body: { message } });

        if (inFlightAtArrival > faults.maxInFlight) return tooMany(faults.retryAfterSec, 'Too many requests in flight');
        const lat = faults.latencyMs;
        const ms = typeof lat === 'number' ? lat : lat.min + random() * (lat.max - lat.min);
        if (ms > 0) await sleep(ms);

        let dropAfter = false;
        let at = -1;
        for (let i = 0; i < faults.script.length && at < 0; i++) {
          const f = faults.script[i];
          if ((f.route && f.route !== rec.route) || (f.operation && f.operation !== rec.operation)) continue;
          if (f.after) f.after--;
          else at = i;
        }
        if (at >= 0) {
          const [f] = faults.script.splice(at, 1);
          if (f.drop === 'before') return drop();
          if (f.drop === 'after-apply') dropAfter = true;
          else if (f.graphqlError) return answer({ status: 200, body: { errors: [{ message: f.graphqlError, path: rec.operation ? [rec.operation] : undefined }], data: rec.operation ? { [rec.operation]: null } : null } });
          else if (f.status) {
            const headers: Record<string, string> = f.retryAfterSec !== undefined ? { 'retry-after': String(f.retryAfterSec) } : {};
            return answer({ status: f.status, headers, body: { message: http.STATUS_CODES[f.status] ?? 'Error' } });
          }
        } else if (faults.only.length === 0 || faults.only.includes(rec.route) || (rec.operation && faults.only.includes(rec.operation))) {
          const x = random();
          let edge = faults.rateDrop;
          if (x < edge) return drop();
          if (x < (edge += faults.rate503)) return answer({ status: 503, body: { message: 'Service Unavailable' } });
          if (x < (edge += faults.rate429)) return tooMany(faults.retryAfterSec, 'Too Many Requests');
        }
        if (rec.operation === 'importContacts' && faults.rateImportAnswerLost > 0 && random() < faults.rateImportAnswerLost) dropAfter = true;

        let a: Answer;
        if (rec.route === 'unknown') a = { status: 404, body: { message: `Cannot ${req.method} ${path}` } };
        else a = authorize(req.headers) ?? (rec.route === 'POST /crm/api' ? await runGraphql(req.headers, raw) : await upload(req.headers, raw, rec));
        if (dropAfter) {
          rec.answerLost = true;
          return drop();
        }
        answer(a);
      })();
    });
  });

  const url = await listenLocal(server);

  return {
    url,
    state,
    faults,
    env: { SAMESPACE_URL: url, SAMESPACE_API_KEY: apiKey },
    contacts: (moduleName, o) => store.plainContacts(moduleName, o),
    requests: (r) => state.log.filter((x) => x.route === r || x.operation === r),
    close: () => closeServer(server),
  };
}

/**
 * What a first import of `contacts` into an empty standard "Contacts" module should
 * store and answer: the loader's own row builder makes the rows, and a fresh store
 * applies the emulator's import rules to them in one file. For end-to-end tests: compare
 * with `emulator.contacts()`.
 */
export function expectedImport(contacts: Contact[], cols: readonly PropertyColumn[]): { contacts: Record<string, unknown>[]; result: ImportResult } {
  const store = new SamespaceStore();
  const csv = Papa.unparse({ fields: cols.map((c) => c.key), data: contacts.map((c) => samespaceRow(c, cols)) });
  const file = store.storeFile('expected.csv', csv, (h) => h);
  if ('error' in file) throw new Error(file.error);
  const result = store.importContacts({
    fileUuid: file.fileUuid, moduleName: 'Contacts', mapAttributes: cols.map((c) => ({ key: c.key, value: c.key })),
  });
  return { contacts: store.plainContacts(), result };
}

