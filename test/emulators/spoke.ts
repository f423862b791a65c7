/**
 * An in-process emulator of the Spoke Phone API as spoke-assigned-contacts.txt describes
 * it: the OAuth client-credentials token endpoint and the personal phonebooks addressed
 * by the owner's email. It listens on 127.0.0.1, port 0; one server answers both the
 * auth and the API routes, so SPOKE_AUTH_URL and SPOKE_API_URL both point at `url`.
 *
 * Faults (switchable at run time through `faults`) are drawn from a seeded PRNG, so a
 * test sees the same sequence of faults on every run. `faults.script` holds one-shot
 * answers for the next matching requests, for tests that need one exact fault.
 */
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { closeServer, listenLocal, trackInFlight } from './server.js';
import type { Contact } from '../../pipeline/contact.js';
import { spokeContact, type SpokeContact } from '../../pipeline/loaders/spoke/payload.js';
import { mulberry32 } from './prng.js';

export { mulberry32 };

export const SPOKE_TEST_CLIENT_ID = 'emu-client-id';
export const SPOKE_TEST_CLIENT_SECRET = 'emu-client-secret-5up3r';

export type SpokeRoute =
  | 'POST /oauth/token'
  | 'POST /phonebooks'
  | 'GET /phonebooks/:email'
  | 'GET /phonebooks/:email/contacts'
  | 'PUT /phonebooks/:email/contacts'
  | 'GET /phonebooks/:email/contacts/:id'
  | 'DELETE /phonebooks/:email/contacts/:id'
  | 'unknown';

/** A one-shot answer for the next request that matches. */
export interface ScriptedFault {
  /** Answer this status instead of handling the request (e.g. 503, 429, 500, 401). */
  status?: number;
  /** Destroy the socket without answering: before handling, or after the change was applied. */
  drop?: 'before' | 'after-apply';
  /** Retry-After header (seconds) sent with `status`. */
  retryAfterSec?: number;
  /** Which requests it applies to (default: any API route, not the token endpoint). */
  route?: SpokeRoute;
  /** Only requests for this owner email (decoded, case-insensitive). */
  email?: string;
}

export interface SpokeFaults {
  /** Share of requests answered 503. */
  rate503: number;
  /** Share of requests whose socket is destroyed before they are handled. */
  rateDrop: number;
  /** Share of requests handled (the change is stored) and then dropped without an answer. */
  rateDropAfterApply: number;
  /** Share of requests answered 429 with Retry-After: retryAfterSec. */
  rate429: number;
  retryAfterSec: number;
  /** Added before each request is handled: fixed, or uniform in [min, max]. */
  latencyMs: number | { min: number; max: number };
  /** Requests in flight above this are answered 429 (with Retry-After: retryAfterSec). */
  maxInFlight: number;
  /** API requests a token may authorize before it answers 401 (server-side revocation). */
  tokenMaxUses: number;
  /** Which routes the random faults hit: the API only, or the token endpoint too. */
  scope: 'api' | 'all';
  /** One-shot faults, consumed in order by the first requests they match. */
  script: ScriptedFault[];
}

export interface SpokeEmulatorOptions {
  clientId?: string;
  clientSecret?: string;
  /** expires_in of issued tokens; the server answers 401 after it. Default 3600. */
  tokenTtlSec?: number;
  /** Known users' emails; omitted: every email is a known user. */
  users?: string[];
  /** Users that exist but lack rights to a personal phonebook (403). */
  forbiddenUsers?: string[];
  /** true (default): a known user's phonebook exists on first use; false: only after POST /phonebooks. */
  autoCreatePhonebooks?: boolean;
  /** Phonebooks that exist from the start (matters when autoCreatePhonebooks is false). */
  existingPhonebooks?: string[];
  /** How POST /phonebooks says "already exists": 409 (default) or 400 with a message. */
  phonebookExistsStatus?: 409 | 400;
  /** More contacts than this in one PUT -> 413. Default 1000. */
  maxContactsPerPut?: number;
  /** A contact that makes its whole batch 400. Default: name contains "POISON". */
  poison?: (contact: Record<string, unknown>) => boolean;
  seed?: number;
  faults?: Partial<SpokeFaults>;
}

export interface RequestRecord {
  seq: number;
  method: string;
  route: SpokeRoute;
  /** The raw request path as sent (still percent-encoded). */
  rawPath: string;
  /** The owner email, decoded, when the route has one. */
  email?: string;
  /** performance.now() when the request arrived, and when it was answered (just before the response was written) or dropped. */
  start: number;
  end: number;
  /** 0 when the connection was dropped. */
  status: number;
  retryAfterSec?: number;
  /** For PUT: the contact ids in the body, in order. */
  ids?: string[];
}

export interface StoredPhonebook {
  id: string;
  name: string;
  scope: 'personal';
  ownerId: string;
}

export interface SpokeEmulatorState {
  /** Owner email (lowercase) -> contact id -> the contact as last PUT. */
  phonebooks: Map<string, Map<string, Record<string, unknown>>>;
  /** Phonebooks that exist explicitly (POSTed or pre-existing). */
  phonebookInfo: Map<string, StoredPhonebook>;
  counts: {
    requests: number;
    byRoute: Record<string, number>;
    byStatus: Record<string, number>;
    dropped: number;
  };
  tokenIssued: number;
  inFlight: number;
  maxInFlight: number;
  log: RequestRecord[];
}

export interface SpokeEmulator {
  url: string;
  state: SpokeEmulatorState;
  faults: SpokeFaults;
  /** Environment variables pointing the spoke loader at this emulator. */
  env: Record<string, string>;
  /** Every token issued so far answers 401 from now on. */
  revokeTokens(): void;
  /** Requests to one route, optionally for one owner. */
  requests(route: SpokeRoute, email?: string): RequestRecord[];
  close(): Promise<void>;
}


const E164 = /^\+[1-9]\d{1,14}$/;

interface TokenInfo { expiresAt: number; uses: number; revoked: boolean }

interface Answer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export async function startSpokeEmulator(opts: SpokeEmulatorOptions = {}): Promise<SpokeEmulator> {
  const clientId = opts.clientId ?? SPOKE_TEST_CLIENT_ID;
  const clientSecret = opts.clientSecret ?? SPOKE_TEST_CLIENT_SECRET;
  const ttlSec = opts.tokenTtlSec ?? 3600;
  const users = opts.users ? new Set(opts.users.map((u) => u.toLowerCase())) : undefined;
  const forbidden = new Set((opts.forbiddenUsers ?? []).map((u) => u.toLowerCase()));
  const autoCreate = opts.autoCreatePhonebooks ?? true;
  const existsStatus = opts.phonebookExistsStatus ?? 409;
  const maxPerPut = opts.maxContactsPerPut ?? 1000;
  const poison = opts.poison ?? ((c) => typeof c.name === 'string' && c.name.includes('POISON'));
  const random = mulberry32(opts.seed ?? 1);

  const faults: SpokeFaults = {
    rate503: 0, rateDrop: 0, rateDropAfterApply: 0, rate429: 0, retryAfterSec: 1,
    latencyMs: 0, maxInFlight: Infinity, tokenMaxUses: Infinity, scope: 'api', script: [],
    ...opts.faults,
  };
  const state: SpokeEmulatorState = {
    phonebooks: new Map(),
    phonebookInfo: new Map(),
    counts: { requests: 0, byRoute: {}, byStatus: {}, dropped: 0 },
    tokenIssued: 0,
    inFlight: 0,
    maxInFlight: 0,
    log: [],
  };
  const tokens = new Map<string, TokenInfo>();
  let phonebookSeq = 0;

  const createPhonebook = (email: string): StoredPhonebook => {
    const pb: StoredPhonebook = { id: `pb_${++phonebookSeq}`, name: 'My Assigned Contacts', scope: 'personal', ownerId: email };
    state.phonebookInfo.set(email, pb);
    if (!state.phonebooks.has(email)) state.phonebooks.set(email, new Map());
    return pb;
  };
  for (const e of opts.existingPhonebooks ?? []) createPhonebook(e.toLowerCase());

  const isUser = (email: string) => (users ? users.has(email) || forbidden.has(email) : true);

  /** The owner's phonebook for a request, or the answer that refuses it. */
  const phonebookFor = (email: string, create: boolean): Map<string, Record<string, unknown>> | Answer => {
    if (!isUser(email)) return { status: 404, body: { message: `No user found with email ${email}` } };
    if (forbidden.has(email)) return { status: 403, body: { message: `Access denied: ${email} has no rights to a personal phonebook` } };
    if (!autoCreate && !state.phonebookInfo.has(email)) {
      return { status: 404, body: { message: `No personal phonebook for ${email}; create it with POST /phonebooks` } };
    }
    let pb = state.phonebooks.get(email);
    if (!pb) {
      pb = new Map();
      if (create) state.phonebooks.set(email, pb);
    }
    return pb;
  };

  const route = (method: string, segs: string[]): { route: SpokeRoute; email?: string; id?: string } => {
    const n = segs.length;
    if (n === 2 && segs[0] === 'oauth' && segs[1] === 'token' && method === 'POST') return { route: 'POST /oauth/token' };
    if (segs[0] !== 'phonebooks') return { route: 'unknown' };
    if (n === 1 && method === 'POST') return { route: 'POST /phonebooks' };
    const email = segs[1]?.toLowerCase();
    if (n === 2 && method === 'GET') return { route: 'GET /phonebooks/:email', email };
    if (n === 3 && segs[2] === 'contacts' && method === 'GET') return { route: 'GET /phonebooks/:email/contacts', email };
    if (n === 3 && segs[2] === 'contacts' && method === 'PUT') return { route: 'PUT /phonebooks/:email/contacts', email };
    if (n === 4 && segs[2] === 'contacts' && method === 'GET') return { route: 'GET /phonebooks/:email/contacts/:id', email, id: segs[3] };
    if (n === 4 && segs[2] === 'contacts' && method === 'DELETE') return { route: 'DELETE /phonebooks/:email/contacts/:id', email, id: segs[3] };
    return { route: 'unknown', email };
  };

  const issueToken = (headers: http.IncomingHttpHeaders, raw: string): Answer => {
    if (!/^application\/x-www-form-urlencoded\b/i.test(String(headers['content-type'] ?? ''))) {
      return { status: 400, body: { error: 'invalid_request', error_description: 'Content-Type must be application/x-www-form-urlencoded' } };
    }
    const form = new URLSearchParams(raw);
    if (form.get('grant_type') !== 'client_credentials') {
      return { status: 400, body: { error: 'unsupported_grant_type', error_description: 'grant_type must be client_credentials' } };
    }
    if (form.get('client_id') !== clientId || form.get('client_secret') !== clientSecret) {
      return { status: 401, body: { error: 'invalid_client', error_description: 'Client authentication failed' } };
    }
    const token = randomBytes(18).toString('base64url');
    tokens.set(token, { expiresAt: Date.now() + ttlSec * 1000, uses: 0, revoked: false });
    state.tokenIssued++;
    return { status: 200, body: { access_token: token, token_type: 'Bearer', expires_in: ttlSec } };
  };

  const authorized = (headers: http.IncomingHttpHeaders): boolean => {
    const m = /^Bearer (\S+)$/.exec(String(headers.authorization ?? ''));
    const t = m ? tokens.get(m[1]) : undefined;
    if (!t || t.revoked || Date.now() >= t.expiresAt || t.uses >= faults.tokenMaxUses) return false;
    t.uses++;
    return true;
  };

  const parseJson = (headers: http.IncomingHttpHeaders, raw: string): { ok: true; value: unknown } | { ok: false; answer: Answer } => {
    if (!/^application\/json\b/i.test(String(headers['content-type'] ?? ''))) {
      return { ok: false, answer: { status: 415, body: { message: 'Content-Type must be application/json' } } };
    }
    try {
      return { ok: true, value: JSON.parse(raw) };
    } catch {
      return { ok: false, answer: { status: 400, body: { message: 'Body is not valid JSON' } } };
    }
  };

  /** Why a contact is refused, or undefined when it is acceptable. */
  const contactProblem = (c: unknown, i: number): string | undefined => {
    if (!c || typeof c !== 'object' || Array.isArray(c)) return `contacts[${i}] must be an object`;
    const o = c as Record<string, unknown>;
    const who = `contacts[${i}]${typeof o.id === 'string' ? ` (id "${o.id}")` : ''}`;
    if (typeof o.id !== 'string' || !o.id) return `${who}: id must be a non-empty string`;
    if (typeof o.name !== 'string' || !o.name) return `${who}: name must be a non-empty string`;
    if (o.managedBy !== 'system') return `${who}: managedBy must be "system"`;
    if (o.phone !== undefined && (typeof o.phone !== 'string' || !E164.test(o.phone))) {
      return `${who}: phone ${JSON.stringify(o.phone)} is not in E.164 format`;
    }
    if (o.email !== undefined && (typeof o.email !== 'string' || !o.email.includes('@'))) return `${who}: email ${JSON.stringify(o.email)} is not an email address`;
    if (o.company !== undefined && typeof o.company !== 'string') return `${who}: company must be a string`;
    if (poison(o)) return `${who}: the contact was rejected by a validation rule`;
    return undefined;
  };

  const handle = (r: ReturnType<typeof route>, req: http.IncomingMessage, raw: string, rec: RequestRecord): Answer => {
    if (r.route === 'POST /oauth/token') return issueToken(req.headers, raw);
    if (r.route === 'unknown') return { status: 404, body: { message: 'Not Found' } };
    if (!authorized(req.headers)) return { status: 401, body: { message: 'Unauthorized' } };

    if (r.route === 'POST /phonebooks') {
      const p = parseJson(req.headers, raw);
      if (!p.ok) return p.answer;
      const b = p.value as { name?: unknown; scope?: unknown; ownerId?: unknown } | null;
      if (!b || typeof b !== 'object' || typeof b.name !== 'string' || !b.name) return { status: 400, body: { message: 'name must be a non-empty string' } };
      if (b.scope !== 'personal') return { status: 400, body: { message: 'scope must be "personal" for a user phonebook' } };
      if (typeof b.ownerId !== 'string' || !b.ownerId) return { status: 400, body: { message: 'ownerId must be the user email' } };
      const email = b.ownerId.toLowerCase();
      rec.email = email;
      if (!isUser(email)) return { status: 404, body: { message: `No user found with email ${email}` } };
      if (forbidden.has(email)) return { status: 403, body: { message: `Access denied: ${email} has no rights to a personal phonebook` } };
      if (state.phonebookInfo.has(email) || (autoCreate && state.phonebooks.has(email))) {
        return { status: existsStatus, body: { message: `A personal phonebook already exists for ${email}` } };
      }
      const pb = createPhonebook(email);
      pb.name = b.name;
      return { status: 201, body: pb };
    }

    const email = r.email!;
    if (r.route === 'PUT /phonebooks/:email/contacts') {
      const p = parseJson(req.headers, raw);
      if (!p.ok) return p.answer;
      const b = p.value as { contacts?: unknown } | null;
      if (!b || typeof b !== 'object' || !Array.isArray(b.contacts)) return { status: 400, body: { message: 'Body must be {"contacts": [...]}' } };
      rec.ids = b.contacts.map((c) => String((c as { id?: unknown } | null)?.id ?? ''));
      if (b.contacts.length > maxPerPut) {
        return { status: 413, body: { message: `Too many contacts in one request: ${b.contacts.length} (at most ${maxPerPut})` } };
      }
      const pb = phonebookFor(email, true);
      if (!(pb instanceof Map)) return pb;
      for (let i = 0; i < b.contacts.length; i++) {
        const problem = contactProblem(b.contacts[i], i);
        if (problem) return { status: 400, body: { message: problem } };
      }
      // The whole batch was checked first: a refused PUT changes nothing.
      for (const c of b.contacts as Record<string, unknown>[]) pb.set(c.id as string, c);
      return { status: 200, body: { contacts: b.contacts } };
    }

    const pb = phonebookFor(email, false);
    if (!(pb instanceof Map)) return pb;
    if (r.route === 'GET /phonebooks/:email') {
      const info = state.phonebookInfo.get(email) ?? { id: `pb_auto_${email}`, name: 'My Assigned Contacts', scope: 'personal', ownerId: email };
      return { status: 200, body: { ...info, contacts: [...pb.values()] } };
    }
    if (r.route === 'GET /phonebooks/:email/contacts') return { status: 200, body: { contacts: [...pb.values()] } };
    const c = pb.get(r.id!);
    if (!c) return { status: 404, body: { message: `No contact with id ${r.id} in the phonebook of ${email}` } };
    if (r.route === 'GET /phonebooks/:email/contacts/:id') return { status: 200, body: c };
    pb.delete(r.id!);
    return { status: 204 };
  };

  let seq = 0;
  const sleep = (ms: number) => new Promise<void>((res) => setTimeout(res, ms));

  const server = http.createServer((req, res) => {
    const rec: RequestRecord = {
      seq: ++seq, method: req.method ?? '', route: 'unknown', rawPath: '', start: performance.now(), end: 0, status: 0,
    };
    const inFlightAtArrival = trackInFlight(state, res, () => {
      rec.end ||= performance.now();
      state.log.push(rec);
      state.counts.requests++;
      state.counts.byRoute[rec.route] = (state.counts.byRoute[rec.route] ?? 0) + 1;
      const key = rec.status ? String(rec.status) : 'dropped';
      state.counts.byStatus[key] = (state.counts.byStatus[key] ?? 0) + 1;
      if (!rec.status) state.counts.dropped++;
    });
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const rawPath = (req.url ?? '/').split('?')[0];
        rec.rawPath = rawPath;
        let segs: string[];
        try {
          segs = rawPath.split('/').slice(1).map((s) => decodeURIComponent(s));
        } catch {
          segs = [];
        }
        const r = route(rec.method, segs);
        rec.route = r.route;
        rec.email = r.email;

        const answer = (a: Answer) => {
          rec.status = a.status;
          // Stamped before the bytes leave: the client cannot have reacted to an answer before this time.
          rec.end = performance.now();
          const headers: Record<string, string> = { ...a.headers };
          if (a.body !== undefined) headers['content-type'] = 'application/json';
          if (headers['retry-after']) rec.retryAfterSec = Number(headers['retry-after']);
          res.writeHead(a.status, headers);
          res.end(a.body === undefined ? undefined : JSON.stringify(a.body));
        };
        const drop = () => { req.socket.destroy(); };

        if (inFlightAtArrival > faults.maxInFlight) {
          return answer({ status: 429, headers: { 'retry-after': String(faults.retryAfterSec) }, body: { message: 'Too many requests in flight' } });
        }
        const lat = faults.latencyMs;
        const ms = typeof lat === 'number' ? lat : lat.min + random() * (lat.max - lat.min);
        if (ms > 0) await sleep(ms);

        const isApi = r.route !== 'POST /oauth/token';
        const scripted = faults.script.findIndex((f) =>
          (f.route ? f.route === r.route : isApi) && (!f.email || f.email.toLowerCase() === r.email));
        let dropAfter = false;
        if (scripted >= 0) {
          const [f] = faults.script.splice(scripted, 1);
          if (f.drop === 'before') return drop();
          if (f.drop === 'after-apply') dropAfter = true;
          else if (f.status) {
            const headers: Record<string, string> = f.retryAfterSec !== undefined ? { 'retry-after': String(f.retryAfterSec) } : {};
            return answer({ status: f.status, headers, body: { message: http.STATUS_CODES[f.status] ?? 'Error' } });
          }
        } else if (isApi || faults.scope === 'all') {
          const x = random();
          let edge = faults.rateDrop;
          if (x < edge) return drop();
          if (x < (edge += faults.rate503)) return answer({ status: 503, body: { message: 'Service Unavailable' } });
          if (x < (edge += faults.rate429)) {
            return answer({ status: 429, headers: { 'retry-after': String(faults.retryAfterSec) }, body: { message: 'Too Many Requests' } });
          }
          if (faults.rateDropAfterApply > 0 && random() < faults.rateDropAfterApply) dropAfter = true;
        }
        const a = handle(r, req, raw, rec);
        if (dropAfter) return drop();
        answer(a);
      })();
    });
  });

  const url = await listenLocal(server);

  return {
    url,
    state,
    faults,
    env: { SPOKE_AUTH_URL: url, SPOKE_API_URL: url, SPOKE_CLIENT_ID: clientId, SPOKE_CLIENT_SECRET: clientSecret },
    revokeTokens() {
      for (const t of tokens.values()) t.revoked = true;
    },
    requests(r: SpokeRoute, email?: string) {
      return state.log.filter((x) => x.route === r && (email === undefined || x.email === email.toLowerCase()));
    },
    close: () => closeServer(server),
  };
}

/**
 * The phonebooks a load of `contacts` should leave behind, built with the loader's own
 * payload builder: owner -> id -> contact, the last contact with an id winning (PUT
 * upserts by id). Contacts without owner, id or name are skipped: they never load.
 */
export function expectedPhonebooks(contacts: Contact[]): Map<string, Map<string, Record<string, unknown>>> {
  const out = new Map<string, Map<string, Record<string, unknown>>>();
  for (const c of contacts) {
    const { contact } = spokeContact(c);
    if (!c.owner || !contact.id || !contact.name) continue;
    const owner = c.owner.toLowerCase();
    let pb = out.get(owner);
    if (!pb) out.set(owner, (pb = new Map()));
    pb.set(contact.id, { ...contact } as SpokeContact & Record<string, unknown>);
  }
  return out;
}

/** The emulator's phonebooks without the empty ones (created by POST but never filled). */
export function nonEmptyPhonebooks(state: SpokeEmulatorState): Map<string, Map<string, Record<string, unknown>>> {
  return new Map([...state.phonebooks].filter(([, pb]) => pb.size > 0));
}
