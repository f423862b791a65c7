/**
 * The Talkdesk contact-sync bridge (talkdesk-contact-sync.txt): Talkdesk POSTs
 * {auth, meta: {synchronization_checkpoint?, offset?, context?}} and gets back a page of
 * contacts sorted by the checkpoint field, the checkpoint of the last one, and a
 * next_offset while more remain. The contacts come from the embedded store that
 * `run --target talkdesk` fills; the cursor semantics are in pipeline/state/talkdesk.ts.
 *
 * A plain node:http server so that tests start it in-process on port 0. Credentials
 * are compared in constant time and never logged; every error is a JSON body.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash, timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import { openStore, type Db } from '../state/store.js';
import {
  TALKDESK_SCHEMA, TalkdeskStore, decodeCheckpoint, decodeOffset, encodeCheckpoint, encodeOffset, type SyncCursor,
} from '../state/talkdesk.js';
import { silentLogger, type Logger } from '../log.js';
import { ImportError } from '../errors.js';

export interface BridgeOptions {
  /** The state store file (already resolved from --state / CONTACT_IMPORT_STATE). */
  statePath: string;
  /** How statePath was chosen ("from --state", ...), for the message when there is no store there. */
  stateFrom?: string;
  username: string;
  password: string;
  host?: string;
  /** 0 = any free port. */
  port?: number;
  /** Where Talkdesk POSTs; default "/". */
  path?: string;
  /** Contacts per page; default 1000. */
  pageSize?: number;
  /** Request bodies larger than this are refused with 400; default 64 KiB. */
  maxBodyBytes?: number;
  /** How long a shutdown waits for requests in flight before cutting connections (ms). */
  shutdownGraceMs?: number;
  log?: Logger;
}

export interface Bridge {
  /** e.g. http://127.0.0.1:43817/ (the configured path included). */
  url: string;
  port: number;
  /** Talkdesk contacts in the store when the bridge started (0: an initial sync would deliver none). */
  contacts: number;
  server: Server;
  /** Stops accepting, lets requests in flight finish, closes the store. */
  close(): Promise<void>;
}

export const DEFAULT_PAGE_SIZE = 1000;
export const MAX_PAGE_SIZE = 10_000;
export const DEFAULT_MAX_BODY_BYTES = 64 * 1024;

class HttpProblem extends Error {
  /** closeConnection: the request body was not read to its end, so the socket cannot be reused. */
  constructor(readonly status: number, message: string, readonly closeConnection = false) { super(message); }
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/**
 * Hashing first gives both sides the same length, so timingSafeEqual can compare them
 * and the time taken says nothing about the expected values or their length.
 */
function credentialsMatch(expected: { user: Buffer; pass: Buffer }, user: string, pass: string): boolean {
  const u = timingSafeEqual(expected.user, digest(user));
  const p = timingSafeEqual(expected.pass, digest(pass));
  return u && p;
}

export async function startBridge(o: BridgeOptions): Promise<Bridge> {
  const path = o.path ?? '/';
  const pageSize = o.pageSize ?? DEFAULT_PAGE_SIZE;
  const maxBody = o.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const log = o.log ?? silentLogger;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) throw new RangeError(`pageSize must be 1..${MAX_PAGE_SIZE}`);
  if (!path.startsWith('/')) throw new RangeError('path must start with "/"');
  const expected = { user: digest(o.username), pass: digest(o.password) };

  // Opening a missing file would create an empty store and serve it: Talkdesk would sync
  // zero contacts from a mistyped path. Only `run --target talkdesk` creates the store.
  if (o.statePath === ':memory:' || !existsSync(o.statePath)) {
    throw new ImportError('STATE_NOT_FOUND',
      `no state store at ${o.statePath}${o.stateFrom ? ` (${o.stateFrom})` : ''}. The bridge serves the contacts \`${fillCommand(o.statePath)}\` stores there; it never creates a store, as an empty one would sync zero contacts to Talkdesk`,
      { file: o.statePath });
  }
  const db: Db = openStore({ path: o.statePath, schemas: [TALKDESK_SCHEMA] });
  const store = new TalkdeskStore(db);
  const contacts = store.count();

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const t0 = performance.now();
    const url = new URL(req.url ?? '/', 'http://bridge');
    let status = 200;
    let delivered = 0;
    try {
      if (url.pathname === '/healthz' && path !== '/healthz') {
        if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpProblem(405, 'use GET /healthz');
        store.head(); // proves the store answers
        return send(res, 200, '{"status":"ok"}');
      }
      if (url.pathname !== path) throw new HttpProblem(404, `no such path; Talkdesk posts to ${path}`);
      if (req.method !== 'POST') { res.setHeader('allow', 'POST'); throw new HttpProblem(405, 'use POST'); }
      const body = await readBody(req, maxBody);
      const out = answer(body);
      delivered = out.count;
      return send(res, 200, out.json);
    } catch (e) {
      if (e instanceof HttpProblem) {
        status = e.status;
        if (e.closeConnection) res.setHeader('connection', 'close');
        return send(res, e.status, JSON.stringify({ error: e.message }));
      }
      status = 500;
      log.error('bridge.error', `bridge: ${(e as Error).message}`);
      return send(res, 500, JSON.stringify({ error: 'internal error; see the bridge log' }));
    } finally {
      // Method, path, status and counts only: never the body (it carries the credentials).
      log.debug('bridge.request', `${req.method} ${url.pathname} ${status} ${delivered} contacts ${(performance.now() - t0).toFixed(1)} ms`,
        { method: req.method, path: url.pathname, status, contacts: delivered });
    }
  };

  /** One sync request -> the response JSON. Throws HttpProblem for 400 / 401. */
  const answer = (raw: string): { json: string; count: number } => {
    let req: unknown;
    try { req = JSON.parse(raw); } catch { throw new HttpProblem(400, 'the body is not valid JSON'); }
    if (!isObject(req)) throw new HttpProblem(400, 'the body must be a JSON object with "auth" and "meta"');
    const auth = req.auth;
    const user = isObject(auth) && typeof auth.username === 'string' ? auth.username : undefined;
    const pass = isObject(auth) && typeof auth.password === 'string' ? auth.password : undefined;
    if (user === undefined || pass === undefined) throw new HttpProblem(401, 'auth.username and auth.password are required');
    if (!credentialsMatch(expected, user, pass)) throw new HttpProblem(401, 'invalid credentials');

    // The document puts the cursor inside `meta`. The same names elsewhere come from a client
    // built on another reading; ignoring them would answer every request as the first page of
    // an initial sync, so a client paging that way would never reach the end.
    for (const key of CURSOR_KEYS) {
      if (key in req) throw new HttpProblem(400, `"${key}" belongs inside "meta" (send ${metaName(key)}), as the Talkdesk contact synchronization document requires`);
    }
    const meta = req.meta ?? {};
    if (!isObject(meta)) throw new HttpProblem(400, '"meta" must be an object');
    if ('next_offset' in meta) throw new HttpProblem(400, 'send the next_offset of a response back as meta.offset');
    const checkpoint = optionalString(meta, 'synchronization_checkpoint');
    const offset = optionalString(meta, 'offset');
    const context = meta.context === undefined ? null : meta.context;

    // Read inside one transaction: the head and the page come from the same snapshot.
    const page = db.transaction(() => {
      const head = store.head();
      let base = 0;
      if (checkpoint !== undefined) {
        const c = decodeCheckpoint(checkpoint, store.storeId, head);
        if (!c.ok) throw new HttpProblem(400, c.reason);
        // A checkpoint from a replaced state file: start over with every contact.
        base = c.value === 'foreign' ? 0 : c.value.seq;
      }
      let cursor: SyncCursor = { after: base, high: head };
      if (offset !== undefined) {
        const d = decodeOffset(offset, store.storeId, head);
        if (!d.ok) throw new HttpProblem(400, d.reason);
        if (d.value.after < base) throw new HttpProblem(400, 'offset does not belong to this synchronization_checkpoint');
        cursor = d.value;
      }
      return store.readPage(cursor, pageSize);
    })();

    const head: Record<string, unknown> = {};
    if (page.next) head.next_offset = encodeOffset(store.storeId, page.next);
    head.synchronization_checkpoint = encodeCheckpoint(store.storeId, page.lastSeq);
    head.context = context;
    // The stored bodies are already Talkdesk's JSON: splice them in rather than parse and re-serialize.
    const json = JSON.stringify(head).slice(0, -1) + ',"contacts":[' + page.bodies.join(',') + ']}';
    return { json, count: page.bodies.length };
  };

  const server = createServer((req, res) => { void handle(req, res); });
  server.requestTimeout = 30_000;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(o.port ?? 0, o.host ?? '127.0.0.1', () => { server.off('error', reject); resolve(); });
    });
  } catch (e) {
    db.close();
    throw e;
  }
  const addr = server.address() as AddressInfo;
  const hostForUrl = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;

  let closing: Promise<void> | undefined;
  const close = () => closing ??= new Promise<void>((resolve) => {
    const cut = setTimeout(() => server.closeAllConnections(), o.shutdownGraceMs ?? 10_000);
    server.close(() => { clearTimeout(cut); db.close(); resolve(); });
    // Keep-alive connections with no request in flight would hold close() open.
    server.closeIdleConnections();
  });

  return { url: `http://${hostForUrl}:${addr.port}${path}`, port: addr.port, contacts, server, close };
}

function send(res: ServerResponse, status: number, json: string): void {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('content-length', Buffer.byteLength(json));
  res.end(json);
}

/** The command that fills the store the bridge serves. */
export const fillCommand = (statePath: string) => `contact-import run <file> --mapping <m> --target talkdesk --state ${statePath}`;

/** Request fields that exist only inside `meta` (next_offset: a response field sent back under its own name). */
const CURSOR_KEYS = ['synchronization_checkpoint', 'offset', 'context', 'next_offset'] as const;
const metaName = (key: (typeof CURSOR_KEYS)[number]) => (key === 'next_offset' ? 'meta.offset' : `meta.${key}`);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A meta field that is a string when present; null counts as absent (the doc's sample sends context: null). */
function optionalString(meta: Record<string, unknown>, key: string): string | undefined {
  const v = meta[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new HttpProblem(400, `meta.${key} must be a string`);
  return v;
}

/** The request body as text, refusing more than `max` bytes without buffering them. */
function readBody(req: IncomingMessage, max: number): Promise<string> {
  const tooLarge = () => new HttpProblem(400, `the body is larger than ${max} bytes`, true);
  const declared = Number(req.headers['content-length']);
  // The rest of an oversized body is read and dropped (not buffered) so that the client
  // gets the 400 instead of a connection reset; `connection: close` then ends the socket.
  if (Number.isFinite(declared) && declared > max) { req.resume(); return Promise.reject(tooLarge()); }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) { req.removeAllListeners('data'); req.resume(); reject(tooLarge()); return; }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
