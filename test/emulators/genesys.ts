/**
 * An in-process emulator of the Genesys Web Services Contacts API
 * (shared/api-docs/genesys-contacts-api.txt), for loader, chaos, nightly and delete tests.
 *
 *   GET    {base}/contacts?attr=value&...   any attribute filters, AND-combined, case-insensitive
 *   POST   {base}/contacts                  create a Custom contact
 *   PUT    {base}/contacts/{id}             modify a Custom contact (User/Queue are read-only)
 *   DELETE {base}/contacts/{id}             remove a Custom contact
 *
 * Auth is HTTP Basic. Accounts have a role: 'admin' (Contact Center Admin: read and write),
 * 'agent' (read only: writes answer 403) or 'none' (everything answers 403).
 *
 * Faults (switchable at run time through `faults`) are drawn from a seeded PRNG so a test
 * sees the same sequence of decisions for the same sequence of requests.
 */
import http from 'node:http';
import { closeServer, listenLocal } from './server.js';
import type { Contact } from '../../pipeline/contact.js';
import { genesysContact } from '../../pipeline/loaders/genesys/payload.js';
import { mulberry32 } from './prng.js';

export { mulberry32 };

export type GenesysType = 'Custom' | 'User' | 'Queue';

export interface EmulatedContact {
  id: string;
  name: string;
  type: GenesysType;
  phoneNumber: string;
  /** User contacts only. */
  userName?: string;
  firstName?: string;
  lastName?: string;
  employeeId?: string;
}

export type Role = 'admin' | 'agent' | 'none';

export interface Account {
  username: string;
  password: string;
  role: Role;
}

export const GENESYS_ADMIN: Account = { username: 'gws-admin', password: 'gws-admin-pass', role: 'admin' };
export const GENESYS_AGENT: Account = { username: 'gws-agent', password: 'gws-agent-pass', role: 'agent' };
export const GENESYS_NOBODY: Account = { username: 'gws-nobody', password: 'gws-nobody-pass', role: 'none' };

/** Seeded directory: one User and one Queue contact, read-only. */
export const DEFAULT_DIRECTORY: Omit<EmulatedContact, 'id'>[] = [
  { name: 'Jane Agent', type: 'User', phoneNumber: '+14155550100', userName: 'jagent', firstName: 'Jane', lastName: 'Agent', employeeId: 'E-100' },
  { name: 'Support Queue', type: 'Queue', phoneNumber: '+14155550199' },
];

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface GenesysFaults {
  /** Share of requests answered 503 before anything is done. */
  rate503: number;
  /** Share of requests whose socket is destroyed before anything is done. */
  dropRate: number;
  /** Share of requests answered 429 with Retry-After: retryAfterSeconds. */
  rate429: number;
  retryAfterSeconds: number;
  /** Fixed latency, or [min, max] drawn from the PRNG. */
  latencyMs: number | [number, number];
  /** Requests in flight above this answer 429 (with Retry-After: retryAfterSeconds). */
  maxInFlight: number;
  /** Share of POSTs that create the contact and then lose the answer (socket destroyed). */
  lostPostRate: number;
  /** The next N POSTs create the contact and then lose the answer. */
  lostPostNext: number;
  /** Once this many requests were received, every request answers 401 (credentials revoked). */
  revokeAfterRequests: number;
  /** Methods the random faults (503, drop, 429, latency) apply to; empty = all. */
  methods: Method[];
  /** POST/PUT bodies with one of these phoneNumbers answer 400 (a number the server refuses). */
  rejectPhoneNumbers: string[];
  /** One-shot faults, consumed in order by the first requests they match (for tests that need one exact fault). */
  script: GenesysScriptedFault[];
}

export interface GenesysScriptedFault {
  /** Only requests with this method (default: any). */
  method?: Method;
  /** Answer this status (with Retry-After: retryAfterSeconds when given) instead of handling the request. */
  status?: number;
  retryAfterSeconds?: number;
  /** Destroy the socket without answering, before anything is done. */
  drop?: boolean;
}

export function noFaults(): GenesysFaults {
  return {
    rate503: 0, dropRate: 0, rate429: 0, retryAfterSeconds: 0, latencyMs: 0, maxInFlight: Infinity,
    lostPostRate: 0, lostPostNext: 0, revokeAfterRequests: Infinity, methods: [], rejectPhoneNumbers: [], script: [],
  };
}

export interface GenesysState {
  /** Every stored contact by id (Custom, User and Queue). */
  contacts: Map<string, EmulatedContact>;
  /** Requests received, by route: "GET /contacts", "POST /contacts", "PUT /contacts/{id}", "DELETE /contacts/{id}". */
  requests: Record<string, number>;
  /** Answers sent, by status ("dropped" for destroyed sockets). */
  statuses: Record<string, number>;
  /** Writes that changed the store (POST, PUT, DELETE that succeeded, including lost answers). */
  writes: number;
  inFlight: number;
  maxInFlight: number;
  /** Every request in order: method, path with query, and what was answered. */
  log: { method: string; path: string; status: number | 'dropped' }[];
  /** Custom contacts only, sorted by name then phone, without ids. */
  custom(): { name: string; phoneNumber: string }[];
  /** Custom contacts with their ids. */
  customWithIds(): EmulatedContact[];
  /** Adds a contact directly (seeding), bypassing the API. Returns its id. */
  seed(c: Omit<EmulatedContact, 'id'>): string;
  /** Sum of requests for the write routes. */
  writeRequests(): number;
}

export interface GenesysEmulatorOptions {
  accounts?: Account[];
  /** User and Queue contacts (default DEFAULT_DIRECTORY). */
  directory?: Omit<EmulatedContact, 'id'>[];
  /** Custom contacts present at start. */
  custom?: { name: string; phoneNumber: string }[];
  /** The path under which /contacts lives, e.g. "/gws/api/v2" (default ""). */
  basePath?: string;
  seed?: number;
  faults?: Partial<GenesysFaults>;
}

export interface GenesysEmulator {
  /** The API base: set GENESYS_API_URL to this. */
  url: string;
  /** GENESYS_API_URL, GENESYS_USERNAME and GENESYS_PASSWORD of the first account (an admin by default). */
  env: Record<string, string>;
  state: GenesysState;
  faults: GenesysFaults;
  close(): Promise<void>;
}


/** What a list of canonical contacts should leave on Genesys: the custom contacts, sorted like state.custom(). */
export function expectedCustom(contacts: Contact[]): { name: string; phoneNumber: string }[] {
  return sortContacts(contacts.map((c) => {
    const { body } = genesysContact(c);
    return { name: body.name, phoneNumber: body.phoneNumber };
  }));
}

function sortContacts<T extends { name: string; phoneNumber: string }>(list: T[]): T[] {
  return list.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.phoneNumber < b.phoneNumber ? -1 : a.phoneNumber > b.phoneNumber ? 1 : 0));
}

const USER_ONLY = ['userName', 'firstName', 'lastName', 'employeeId'] as const;

function publicView(c: EmulatedContact): Record<string, string> {
  const out: Record<string, string> = { id: c.id, name: c.name, type: c.type, phoneNumber: c.phoneNumber };
  if (c.type === 'User') for (const k of USER_ONLY) if (c[k] !== undefined) out[k] = c[k]!;
  return out;
}

function send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): number {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
  return status;
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function startGenesysEmulator(opts: GenesysEmulatorOptions = {}): Promise<GenesysEmulator> {
  const accounts = opts.accounts ?? [GENESYS_ADMIN, GENESYS_AGENT, GENESYS_NOBODY];
  const basePath = (opts.basePath ?? '').replace(/\/+$/, '');
  const random = mulberry32(opts.seed ?? 1);
  const faults: GenesysFaults = { ...noFaults(), ...opts.faults };
  let nextId = 1;
  // Ids look like the GUIDs Genesys hands out, but are sequential so tests are repeatable.
  const newId = () => `00000000-0000-4000-8000-${(nextId++).toString(16).padStart(12, '0')}`;
  let received = 0;

  const state: GenesysState = {
    contacts: new Map(),
    requests: {},
    statuses: {},
    writes: 0,
    inFlight: 0,
    maxInFlight: 0,
    log: [],
    custom() {
      return sortContacts([...this.contacts.values()].filter((c) => c.type === 'Custom').map((c) => ({ name: c.name, phoneNumber: c.phoneNumber })));
    },
    customWithIds() {
      return [...this.contacts.values()].filter((c) => c.type === 'Custom').map((c) => ({ ...c }));
    },
    seed(c) {
      const id = newId();
      this.contacts.set(id, { ...c, id });
      return id;
    },
    writeRequests() {
      return (this.requests['POST /contacts'] ?? 0) + (this.requests['PUT /contacts/{id}'] ?? 0) + (this.requests['DELETE /contacts/{id}'] ?? 0);
    },
  };
  for (const c of opts.directory ?? DEFAULT_DIRECTORY) state.seed(c);
  for (const c of opts.custom ?? []) state.seed({ ...c, type: 'Custom' });

  function authenticate(req: http.IncomingMessage): Account | undefined {
    const m = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    if (!m) return undefined;
    const decoded = Buffer.from(m[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return undefined;
    const user = decoded.slice(0, colon);
    const pass = decoded.slice(colon + 1);
    return accounts.find((a) => a.username === user && a.password === pass);
  }

  function listContacts(query: URLSearchParams): EmulatedContact[] {
    // The document: any attribute can filter, several are AND-combined. Both the
    // attribute names and the values compare case-insensitively (`?type=custom` works).
    const filters = [...query.entries()].map(([k, v]) => [k.toLowerCase(), v.toLowerCase()] as const);
    return [...state.contacts.values()].filter((c) => filters.every(([k, v]) => {
      const attr = (Object.keys(c) as (keyof EmulatedContact)[]).find((a) => a.toLowerCase() === k);
      if (!attr) return false;
      return String(c[attr]).toLowerCase() === v;
    }));
  }

  /** Validates a POST/PUT body; returns an error message or the fields to store. */
  function validate(raw: string, creating: boolean): { error: string } | { name?: string; phoneNumber?: string } {
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      return { error: 'The request body is not valid JSON' };
    }
    if (!body || typeof body !== 'object' || Array.isArray(body)) return { error: 'The request body must be a contact object' };
    const b = body as Record<string, unknown>;
    if (creating || b.type !== undefined) {
      if (typeof b.type !== 'string' || b.type.toLowerCase() !== 'custom') {
        return { error: `Only contacts of type "Custom" can be created or modified (got ${JSON.stringify(b.type ?? null)})` };
      }
    }
    for (const k of USER_ONLY) if (b[k] !== undefined) return { error: `Attribute "${k}" is read-only` };
    const out: { name?: string; phoneNumber?: string } = {};
    for (const k of ['name', 'phoneNumber'] as const) {
      const v = b[k];
      if (v === undefined && !creating) continue;
      if (typeof v !== 'string' || !v.trim()) return { error: `Attribute "${k}" is required and must be a non-empty string` };
      out[k] = v;
    }
    if (out.phoneNumber !== undefined && faults.rejectPhoneNumbers.includes(out.phoneNumber)) {
      return { error: `Invalid phoneNumber "${out.phoneNumber}"` };
    }
    return out;
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<number | 'dropped'> {
    const method = (req.method ?? 'GET').toUpperCase() as Method;
    const url = new URL(req.url ?? '/', 'http://emulator');
    const raw = await readBody(req);
    received++;

    if (state.inFlight > faults.maxInFlight) {
      return send(res, 429, { message: 'Too many concurrent requests' }, { 'retry-after': String(faults.retryAfterSeconds) });
    }
    const scripted = faults.script.findIndex((f) => !f.method || f.method === method);
    if (scripted >= 0) {
      const [f] = faults.script.splice(scripted, 1);
      if (f.drop) {
        req.socket.destroy();
        return 'dropped';
      }
      if (f.status) {
        return send(res, f.status, { message: http.STATUS_CODES[f.status] ?? 'Error' },
          f.retryAfterSeconds !== undefined ? { 'retry-after': String(f.retryAfterSeconds) } : undefined);
      }
    }
    const faulty = faults.methods.length === 0 || faults.methods.includes(method);
    if (faulty) {
      const lat = Array.isArray(faults.latencyMs)
        ? faults.latencyMs[0] + random() * (faults.latencyMs[1] - faults.latencyMs[0])
        : faults.latencyMs;
      if (lat > 0) await sleep(lat);
      if (faults.dropRate > 0 && random() < faults.dropRate) {
        req.socket.destroy();
        return 'dropped';
      }
      if (faults.rate503 > 0 && random() < faults.rate503) return send(res, 503, { message: 'Service temporarily unavailable' });
      if (faults.rate429 > 0 && random() < faults.rate429) {
        return send(res, 429, { message: 'Rate limit exceeded' }, { 'retry-after': String(faults.retryAfterSeconds) });
      }
    }

    const unauthorized = () => send(res, 401, { message: 'Authentication required' }, { 'www-authenticate': 'Basic realm="GWS"' });
    if (received > faults.revokeAfterRequests) return unauthorized();
    const account = authenticate(req);
    if (!account) return unauthorized();
    if (account.role === 'none') return send(res, 403, { message: 'The user has neither the Agent nor the Contact Center Admin role' });

    if (!url.pathname.startsWith(basePath + '/contacts')) return send(res, 404, { message: `No resource at ${url.pathname}` });
    const rest = url.pathname.slice(basePath.length + '/contacts'.length);
    const forbiddenWrite = () => send(res, 403, { message: 'Contact Center Admin role required to modify contacts' });

    if (rest === '' || rest === '/') {
      if (method === 'GET') return send(res, 200, { contacts: listContacts(url.searchParams).map(publicView) });
      if (method === 'POST') {
        if (account.role !== 'admin') return forbiddenWrite();
        const v = validate(raw, true);
        if ('error' in v) return send(res, 400, { message: v.error });
        const id = newId();
        const created: EmulatedContact = { id, name: v.name!, type: 'Custom', phoneNumber: v.phoneNumber! };
        state.contacts.set(id, created);
        state.writes++;
        if (faults.lostPostNext > 0 || (faults.lostPostRate > 0 && random() < faults.lostPostRate)) {
          if (faults.lostPostNext > 0) faults.lostPostNext--;
          req.socket.destroy();
          return 'dropped';
        }
        // The document does not say which status a create answers. We answer 200 with the
        // created contact (its id included), as the GWS provisioning API does for other
        // resources; the loader accepts any 2xx and looks the contact up when the id is absent.
        return send(res, 200, publicView(created));
      }
      return send(res, 405, { message: `${method} is not supported on /contacts` }, { allow: 'GET, POST' });
    }

    const idMatch = /^\/([^/]+)\/?$/.exec(rest);
    if (!idMatch) return send(res, 404, { message: `No resource at ${url.pathname}` });
    const id = decodeURIComponent(idMatch[1]);
    const existing = state.contacts.get(id);
    if (method === 'GET') {
      return existing ? send(res, 200, publicView(existing)) : send(res, 404, { message: `Contact ${id} not found` });
    }
    if (method !== 'PUT' && method !== 'DELETE') {
      return send(res, 405, { message: `${method} is not supported on /contacts/{id}` }, { allow: 'GET, PUT, DELETE' });
    }
    if (account.role !== 'admin') return forbiddenWrite();
    if (!existing) return send(res, 404, { message: `Contact ${id} not found` });
    if (existing.type !== 'Custom') return send(res, 403, { message: `Contact ${id} is of type ${existing.type} and is read-only` });
    if (method === 'DELETE') {
      state.contacts.delete(id);
      state.writes++;
      // Not documented either: 200 with the removed contact's id.
      return send(res, 200, { id });
    }
    const v = validate(raw, false);
    if ('error' in v) return send(res, 400, { message: v.error });
    if (v.name !== undefined) existing.name = v.name;
    if (v.phoneNumber !== undefined) existing.phoneNumber = v.phoneNumber;
    state.writes++;
    return send(res, 200, publicView(existing));
  }

  function routeOf(method: string, pathname: string): string {
    const rest = pathname.startsWith(basePath + '/contacts') ? pathname.slice(basePath.length + '/contacts'.length) : null;
    if (rest === null) return `${method} (other)`;
    return rest === '' || rest === '/' ? `${method} /contacts` : `${method} /contacts/{id}`;
  }

  const server = http.createServer((req, res) => {
    const method = (req.method ?? 'GET').toUpperCase();
    const url = new URL(req.url ?? '/', 'http://emulator');
    const route = routeOf(method, url.pathname);
    state.requests[route] = (state.requests[route] ?? 0) + 1;
    state.inFlight++;
    state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      state.inFlight--;
    };
    res.on('finish', finish);
    res.on('close', finish);
    handle(req, res).then((status) => {
      state.statuses[String(status)] = (state.statuses[String(status)] ?? 0) + 1;
      state.log.push({ method, path: url.pathname + url.search, status });
    }, (err: Error) => {
      if (!res.headersSent) send(res, 500, { message: err.message });
      else res.destroy();
      state.statuses['500'] = (state.statuses['500'] ?? 0) + 1;
      state.log.push({ method, path: url.pathname + url.search, status: 500 });
    });
  });

  const url = `${await listenLocal(server)}${basePath}`;
  return {
    url,
    env: { GENESYS_API_URL: url, GENESYS_USERNAME: accounts[0].username, GENESYS_PASSWORD: accounts[0].password },
    state,
    faults,
    close: () => closeServer(server),
  };
}
