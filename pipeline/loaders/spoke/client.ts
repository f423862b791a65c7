/**
 * The Spoke Phone API client (spoke-assigned-contacts.txt): an OAuth client-credentials
 * token that is cached, refreshed before it runs out and refreshed once on a 401, and
 * the phonebook routes addressed by the owner's email. It answers HTTP outcomes; what
 * they mean for each contact is the loader's business.
 */
import { ImportError } from '../../errors.js';
import { redactSecrets } from '../../log.js';
import { apiBase, HttpError, parseRetryAfter, serverMessage, type HttpClient, type HttpResponse } from '../http.js';
import { spokeContactPath, spokeContactsPath, type SpokeContact } from './payload.js';

export const SPOKE_DEFAULT_AUTH_URL = 'https://auth.spokephone.com';
/** The client-credentials token endpoint, under SPOKE_AUTH_URL (spoke-assigned-contacts.txt). */
const TOKEN_PATH = '/oauth/token';
export const SPOKE_DEFAULT_API_URL = 'https://integration.spokephone.com';
/** The phonebooks collection, under SPOKE_API_URL (its POST as the document's example writes it). */
const PHONEBOOKS_PATH = '/phonebooks';
export const SPOKE_PHONEBOOK_NAME = 'My Assigned Contacts';

export interface SpokeConfig {
  authUrl: string;
  apiUrl: string;
  clientId: string;
  clientSecret: string;
}

/** Reads the SPOKE_* variables; a missing one is a usage error that names it (never its value). */
export function spokeConfigFromEnv(env: NodeJS.ProcessEnv): SpokeConfig {
  // Every missing one at once: fixing one should not reveal the next.
  const missing = (['SPOKE_CLIENT_ID', 'SPOKE_CLIENT_SECRET'] as const).filter((name) => !env[name]?.trim());
  if (missing.length) {
    throw new ImportError('CONFIG_MISSING',
      `${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not set: the spoke target needs the API client id and secret from the Spoke account portal (Other > Developers)`);
  }
  return {
    authUrl: baseUrl(env, 'SPOKE_AUTH_URL', SPOKE_DEFAULT_AUTH_URL, TOKEN_PATH),
    apiUrl: baseUrl(env, 'SPOKE_API_URL', SPOKE_DEFAULT_API_URL, PHONEBOOKS_PATH),
    clientId: env.SPOKE_CLIENT_ID!.trim(),
    clientSecret: env.SPOKE_CLIENT_SECRET!.trim(),
  };
}

/**
 * The API base the contacts go to, for the ledger (Loader.destination): known before
 * open() and never throwing, because a bad SPOKE_API_URL is reported by open().
 */
export function spokeDestination(env: NodeJS.ProcessEnv): string {
  return apiBase(env.SPOKE_API_URL?.trim() || SPOKE_DEFAULT_API_URL, [PHONEBOOKS_PATH]);
}

/**
 * The URL in `name` (else `fallback`), checked, as apiBase() makes it. `endpoint` is the path the
 * client appends: a value that already ends with it (the token URL as Spoke's documents write it,
 * https://auth.spokephone.com/oauth/token) means the same base.
 */
function baseUrl(env: NodeJS.ProcessEnv, name: string, fallback: string, endpoint: string): string {
  const raw = env[name]?.trim() || fallback;
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new ImportError('CONFIG_MISSING', `${name} is not a valid URL; expected something like ${fallback}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new ImportError('CONFIG_MISSING', `${name} must be an http(s) URL like ${fallback}, got protocol ${u.protocol}`);
  }
  return apiBase(raw, [endpoint]);
}

/** A contact as Spoke returns it (what we sent, plus whatever the server adds). */
export type SpokeStoredContact = SpokeContact & Record<string, unknown>;

export type PhonebookResult =
  | { ok: true; created: boolean }
  | { ok: false; status: number; error: string };

/** A non-2xx answer from a read/delete call, with the method, path, status and server message. */
export class SpokeRequestError extends Error {
  constructor(readonly method: string, readonly path: string, readonly status: number, readonly serverMessage: string) {
    super(`${method} ${path} answered ${status}${serverMessage ? `: ${serverMessage}` : ''}`);
    this.name = 'SpokeRequestError';
  }
}

export interface SpokeClientOptions {
  env?: NodeJS.ProcessEnv;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** How many times POST /phonebooks is tried when the answer leaves us unsure whether it landed. */
  createAttempts?: number;
}

interface Token {
  value: string;
  /** When to stop using it (epoch ms), a margin before the server expires it. */
  refreshAt: number;
}

/** Tokens one request may go through before a run of 401s is taken as refused credentials. */
const MAX_TOKEN_ROUNDS = 4;

const sleepReal = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class SpokeClient {
  private token?: Token;
  private refreshing?: Promise<Token>;
  private readonly env: NodeJS.ProcessEnv;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly createAttempts: number;
  /** Tokens issued to this client (a figure for the log). */
  tokensFetched = 0;

  constructor(private readonly http: HttpClient, private readonly cfg: SpokeConfig, opts: SpokeClientOptions = {}) {
    this.env = opts.env ?? process.env;
    this.now = opts.now ?? Date.now;
    this.sleep = opts.sleep ?? sleepReal;
    this.createAttempts = opts.createAttempts ?? 4;
  }

  /** Gets a token now: proves the credentials before any contact is sent. */
  async authenticate(): Promise<void> {
    await this.currentTokenInfo();
  }

  // ---- token -------------------------------------------------------------------------

  private async currentTokenInfo(): Promise<Token> {
    const t = this.token;
    if (t && this.now() < t.refreshAt) return t;
    return this.refresh();
  }

  /** One refresh at a time: concurrent callers share the promise in flight. */
  private refresh(): Promise<Token> {
    this.refreshing ??= this.fetchToken().finally(() => { this.refreshing = undefined; });
    return this.refreshing;
  }

  /** A token the API refused: drop it, unless another request already replaced it. */
  private invalidate(value: string): void {
    if (this.token?.value === value) this.token = undefined;
  }

  private async fetchToken(): Promise<Token> {
    const url = `${this.cfg.authUrl}${TOKEN_PATH}`;
    const form = new URLSearchParams({
      client_id: this.cfg.clientId,
      client_secret: this.cfg.clientSecret,
      grant_type: 'client_credentials',
    }).toString();
    // Counted from before the request, so our idea of the expiry errs on the early side.
    const sentAt = this.now();
    let res: HttpResponse;
    try {
      // Issuing a token changes nothing on the server, so the POST is safe to retry.
      res = await this.http.request({
        method: 'POST',
        url,
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: () => form,
      });
    } catch (e) {
      if (e instanceof HttpError) {
        throw new ImportError('TARGET_UNREACHABLE', `could not get a Spoke access token: ${this.clean(e.message)}; check SPOKE_AUTH_URL`);
      }
      throw e;
    }
    const what = `POST ${pathOf(url)} answered ${res.status}`;
    const msg = this.clean(serverMessage(res));
    if (res.status === 400 || res.status === 401) {
      throw new ImportError('AUTH_FAILED',
        `Spoke refused the API credentials (${what}${msg ? `: ${msg}` : ''}); check SPOKE_CLIENT_ID / SPOKE_CLIENT_SECRET`);
    }
    if (res.status === 403) {
      throw new ImportError('AUTH_FORBIDDEN', `Spoke refused a token to this API client (${what}${msg ? `: ${msg}` : ''})`);
    }
    if (res.status === 429 || res.status >= 500) {
      throw new ImportError('TARGET_UNREACHABLE', `could not get a Spoke access token (${what}${msg ? `: ${msg}` : ''}); try again later`);
    }
    const body = res.json as { access_token?: unknown; token_type?: unknown; expires_in?: unknown } | undefined;
    if (res.status !== 200 || !body || typeof body.access_token !== 'string' || !body.access_token) {
      throw new ImportError('TARGET_PROTOCOL', `${what} without an access_token; check SPOKE_AUTH_URL`);
    }
    if (body.token_type !== undefined && String(body.token_type).toLowerCase() !== 'bearer') {
      throw new ImportError('TARGET_PROTOCOL', `${what} with token_type "${String(body.token_type)}", expected "Bearer"`);
    }
    const ttlMs = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in * 1000 : undefined;
    const token: Token = {
      value: body.access_token,
      // No expires_in: keep it until the API answers 401.
      refreshAt: ttlMs === undefined ? Infinity : sentAt + ttlMs - Math.min(ttlMs * 0.1, 30_000),
    };
    this.token = token;
    this.tokensFetched++;
    return token;
  }

  // ---- API calls ---------------------------------------------------------------------

  /**
   * An authorized request. A 401 drops the token and retries with a fresh one. A 401 for
   * a token we still held valid is a refusal; the second refusal means the credentials
   * no longer work, which stops the run. A 401 for a token that ran out while the
   * HttpClient was retrying a 5xx (it resends the same header) is just expiry.
   * Rejects with HttpError when the HttpClient ran out of retries on network errors.
   */
  private async api(method: string, path: string, body?: unknown, retry = true): Promise<HttpResponse> {
    const url = this.cfg.apiUrl + path;
    const json = body === undefined ? undefined : JSON.stringify(body);
    let refusals = 0;
    for (let attempt = 1; ; attempt++) {
      const token = await this.currentTokenInfo();
      const headers: Record<string, string> = { authorization: `Bearer ${token.value}`, accept: 'application/json' };
      if (json !== undefined) headers['content-type'] = 'application/json';
      const res = await this.http.request({ method, url, headers, body: json === undefined ? undefined : () => json, retry });
      if (res.status !== 401) return res;
      if (this.now() < token.refreshAt) refusals++;
      if (refusals >= 2 || attempt >= MAX_TOKEN_ROUNDS) {
        throw new ImportError('AUTH_FAILED',
          `Spoke refused a freshly issued access token (${this.describe(method, path, res)}); check SPOKE_CLIENT_ID / SPOKE_CLIENT_SECRET and the API client's permissions`);
      }
      this.invalidate(token.value);
    }
  }

  /** "PUT /phonebooks/a%40b.com/contacts answered 400: <server message>" */
  describe(method: string, path: string, res: HttpResponse): string {
    const msg = this.clean(serverMessage(res));
    return `${method} ${path} answered ${res.status}${msg ? `: ${msg}` : ''}`;
  }

  /** Server text can echo what we sent; never let a credential through. */
  clean(text: string): string {
    let out = redactSecrets(text, this.env);
    for (const v of [this.cfg.clientSecret, this.cfg.clientId, this.token?.value]) {
      if (v && v.length >= 4) out = out.split(v).join('[redacted]');
    }
    return out;
  }

  /** PUT /phonebooks/{email}/contacts: upserts system-managed contacts by id (idempotent, so retried). */
  putContacts(email: string, contacts: SpokeContact[]): Promise<HttpResponse> {
    return this.api('PUT', spokeContactsPath(email), { contacts });
  }

  /**
   * POST /phonebooks for the owner's personal phonebook. A creating POST is not retried
   * blindly: after an answer that leaves us unsure (5xx, dropped connection) we look
   * with GET /phonebooks/{email} before posting again. "Already exists" is success.
   */
  async createPhonebook(email: string): Promise<PhonebookResult> {
    const path = '/phonebooks';
    const body = { name: SPOKE_PHONEBOOK_NAME, scope: 'personal', ownerId: email };
    let last: PhonebookResult = { ok: false, status: 0, error: `POST ${path} was not sent` };
    for (let attempt = 1; attempt <= this.createAttempts; attempt++) {
      let res: HttpResponse | undefined;
      try {
        res = await this.api('POST', path, body, false);
      } catch (e) {
        if (!(e instanceof HttpError)) throw e;
        last = { ok: false, status: 0, error: `POST ${path} failed: ${this.clean(e.serverMessage)}` };
      }
      if (res) {
        const s = res.status;
        if (s === 200 || s === 201) return { ok: true, created: true };
        const error = this.describe('POST', path, res);
        if (s === 409 || (s === 400 && /exist/i.test(serverMessage(res)))) return { ok: true, created: false };
        if (s !== 429 && s < 500) return { ok: false, status: s, error };
        last = { ok: false, status: s, error };
        if (s === 429) {
          // Refused before doing anything: nothing to look up, just wait as told.
          await this.sleep(parseRetryAfter(res.headers['retry-after']) ?? this.http.backoff(attempt));
          continue;
        }
      }
      if (attempt === this.createAttempts) break;
      await this.sleep(this.http.backoff(attempt));
      const look = await this.getPhonebookStatus(email);
      if (look === 200) return { ok: true, created: true };
    }
    return last.ok ? last : { ...last, error: `${last.error} (after ${this.createAttempts} attempts)` };
  }

  /** The status of GET /phonebooks/{email}, or 0 when it could not be reached. */
  private async getPhonebookStatus(email: string): Promise<number> {
    try {
      return (await this.api('GET', `/phonebooks/${encodeURIComponent(email)}`)).status;
    } catch (e) {
      if (e instanceof HttpError) return 0;
      throw e;
    }
  }

  /** GET /phonebooks/{email}/contacts: every contact in the owner's personal phonebook. */
  async listContacts(email: string): Promise<SpokeStoredContact[]> {
    const path = spokeContactsPath(email);
    const res = await this.api('GET', path);
    if (res.status !== 200) throw new SpokeRequestError('GET', path, res.status, this.clean(serverMessage(res)));
    const j = res.json as { contacts?: unknown } | unknown[] | undefined;
    const list = Array.isArray(j) ? j : j && typeof j === 'object' && Array.isArray(j.contacts) ? j.contacts : undefined;
    if (!list) throw new ImportError('TARGET_PROTOCOL', `GET ${path} answered 200 without a list of contacts`);
    return list as SpokeStoredContact[];
  }

  /** DELETE /phonebooks/{email}/contacts/{id}: 'absent' when there was nothing to delete. */
  async deleteContact(email: string, id: string): Promise<'deleted' | 'absent'> {
    const path = spokeContactPath(email, id);
    const res = await this.api('DELETE', path);
    if (res.status === 200 || res.status === 202 || res.status === 204) return 'deleted';
    if (res.status === 404) return 'absent';
    throw new SpokeRequestError('DELETE', path, res.status, this.clean(serverMessage(res)));
  }
}

function pathOf(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return url;
  }
}
