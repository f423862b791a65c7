/**
 * The Genesys Contacts API client (genesys-contacts-api.txt): URLs, HTTP Basic auth and
 * the meaning of answers. It decides nothing about rows: the loader does.
 *
 * A 401 anywhere throws ImportError AUTH_FAILED (the run stops). Reads turn 403 into
 * AUTH_FORBIDDEN; writes hand every other answer back as a WriteAnswer, because a 400 or
 * 403 on one contact fails that row only.
 */
import { ImportError } from '../../errors.js';
import { apiBase, HttpError, redactUrl, serverMessage, type HttpClient, type HttpResponse } from '../http.js';
import type { GenesysContactBody } from './payload.js';

/** The contacts resource, under GENESYS_API_URL. */
const CONTACTS_PATH = '/contacts';

export interface GenesysConfig {
  /** The API base under which /contacts lives, without a trailing slash. */
  baseUrl: string;
  username: string;
  password: string;
}

/** A contact as GET /contacts answers it. User contacts also carry userName, firstName... */
export interface GenesysContact {
  id: string;
  name: string;
  type: string;
  phoneNumber: string;
  [attribute: string]: unknown;
}

export type WriteAnswer =
  | { ok: true; status: number; contact?: GenesysContact }
  | {
    ok: false;
    status: number;
    /** The server's message. */
    message: string;
    /** Set on 429 when the server said when to come back. */
    retryAfter?: string;
    /** "POST https://host/contacts answered 400: message" (no credentials). */
    describe: string;
  };

const AUTH_VARS = 'check GENESYS_USERNAME / GENESYS_PASSWORD';

/** Reads the configuration from the environment; CONFIG_MISSING names the variable, never a value. */
export function genesysConfigFromEnv(env: NodeJS.ProcessEnv): GenesysConfig {
  const get = (name: string): string => {
    const v = env[name];
    if (v === undefined || v === '') {
      throw new ImportError('CONFIG_MISSING', `${name} is not set; the genesys target needs GENESYS_API_URL, GENESYS_USERNAME and GENESYS_PASSWORD`);
    }
    return v;
  };
  // Trimmed as genesysDestination() trims it, so the ledger's account and the URLs called agree.
  const base = get('GENESYS_API_URL').trim();
  let parsed: URL;
  try {
    parsed = new URL(base);
  } catch {
    throw new ImportError('CONFIG_MISSING', 'GENESYS_API_URL is not a valid URL; set it to the API base under which /contacts lives (https://host/...)');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ImportError('CONFIG_MISSING', 'GENESYS_API_URL must be an http(s) URL (the API base under which /contacts lives)');
  }
  if (parsed.username || parsed.password) {
    // Credentials in the URL would end up in logs; they belong in their own variables.
    throw new ImportError('CONFIG_MISSING', 'GENESYS_API_URL must not contain a user name or password; use GENESYS_USERNAME and GENESYS_PASSWORD');
  }
  return { baseUrl: genesysBase(base), username: get('GENESYS_USERNAME'), password: get('GENESYS_PASSWORD') };
}

/**
 * The API base for the ledger (Loader.destination), known before open(). Undefined when
 * GENESYS_API_URL is not set: open() reports that, and there is no account to key by.
 */
export function genesysDestination(env: NodeJS.ProcessEnv): string | undefined {
  const base = env.GENESYS_API_URL?.trim();
  return base ? genesysBase(base) : undefined;
}

/** The API base in GENESYS_API_URL (set): the collection's URL (…/contacts, as the document names the resource) means the base under it. */
function genesysBase(url: string): string {
  return apiBase(url, [CONTACTS_PATH]);
}

function isContact(v: unknown): v is GenesysContact {
  return !!v && typeof v === 'object' && typeof (v as GenesysContact).id === 'string';
}

/** The contact in a write answer: the body itself, or wrapped as {contact: ...}. */
function contactOf(json: unknown): GenesysContact | undefined {
  if (isContact(json)) return json;
  const wrapped = (json as { contact?: unknown } | undefined)?.contact;
  return isContact(wrapped) ? wrapped : undefined;
}

export class GenesysClient {
  private readonly authorization: string;

  constructor(private readonly http: HttpClient, private readonly config: GenesysConfig) {
    this.authorization = 'Basic ' + Buffer.from(`${config.username}:${config.password}`, 'utf8').toString('base64');
  }

  /** The collection URL with an optional filter (any attribute; AND-combined by the server). */
  contactsUrl(filter: Record<string, string> = {}): string {
    const qs = new URLSearchParams(filter).toString();
    return `${this.config.baseUrl}${CONTACTS_PATH}${qs ? `?${qs}` : ''}`;
  }

  contactUrl(id: string): string {
    return `${this.config.baseUrl}${CONTACTS_PATH}/${encodeURIComponent(id)}`;
  }

  /**
   * GET /contacts with a filter. Throws ImportError for 401 (AUTH_FAILED), 403
   * (AUTH_FORBIDDEN) and answers the document does not describe (TARGET_PROTOCOL);
   * throws HttpError when the target did not answer usefully after retries (network,
   * 5xx, 429): the caller decides whether that aborts the run or fails a row.
   */
  async listContacts(filter: Record<string, string>): Promise<GenesysContact[]> {
    const url = this.contactsUrl(filter);
    const res = await this.http.request({ method: 'GET', url, headers: this.headers() });
    const where = `GET ${redactUrl(url)}`;
    this.checkAuth('GET', url, res);
    if (res.status === 403) {
      throw new ImportError('AUTH_FORBIDDEN', `${where} answered 403: ${serverMessage(res)}; importing contacts needs a user with the Contact Center Admin role`);
    }
    if (res.status === 429 || res.status >= 500) throw new HttpError('GET', redactUrl(url), res.status, serverMessage(res), 0);
    if (res.status < 200 || res.status >= 300) {
      const hint = res.status === 404 ? '; check GENESYS_API_URL (the API base under which /contacts lives)' : '';
      throw new ImportError('TARGET_PROTOCOL', `${where} answered ${res.status}: ${serverMessage(res)}${hint}`);
    }
    const list = (res.json as { contacts?: unknown } | undefined)?.contacts;
    if (!Array.isArray(list)) {
      throw new ImportError('TARGET_PROTOCOL', `${where} answered ${res.status} without a "contacts" list; check GENESYS_API_URL`);
    }
    return list.filter(isContact).map((c) => ({
      ...c,
      name: typeof c.name === 'string' ? c.name : '',
      type: typeof c.type === 'string' ? c.type : '',
      phoneNumber: typeof c.phoneNumber === 'string' ? c.phoneNumber : '',
    }));
  }

  /**
   * POST /contacts, sent once: a create is not idempotent, so the loader decides whether
   * to look it up before sending again. A network error rejects with HttpError (status 0).
   */
  createContact(body: GenesysContactBody): Promise<WriteAnswer> {
    return this.write('POST', this.contactsUrl(), body, false);
  }

  /** PUT /contacts/{id}: idempotent, so retried by the HttpClient. */
  updateContact(id: string, body: GenesysContactBody): Promise<WriteAnswer> {
    return this.write('PUT', this.contactUrl(id), body, true);
  }

  /** DELETE /contacts/{id} (custom contacts only; 404 when already gone, 403 for User/Queue). */
  deleteContact(id: string): Promise<WriteAnswer> {
    return this.write('DELETE', this.contactUrl(id), undefined, true);
  }

  private async write(method: string, url: string, body: GenesysContactBody | undefined, retry: boolean): Promise<WriteAnswer> {
    const headers = this.headers();
    if (body) headers['content-type'] = 'application/json';
    const text = body ? JSON.stringify(body) : undefined;
    const res = await this.http.request({ method, url, headers, body: text === undefined ? undefined : () => text, retry });
    this.checkAuth(method, url, res);
    if (res.status >= 200 && res.status < 300) return { ok: true, status: res.status, contact: contactOf(res.json) };
    const message = serverMessage(res);
    const ra = res.headers['retry-after'];
    return {
      ok: false,
      status: res.status,
      message,
      retryAfter: Array.isArray(ra) ? ra[0] : ra,
      describe: `${method} ${redactUrl(url)} answered ${res.status}${message ? `: ${message}` : ''}`,
    };
  }

  private headers(): Record<string, string> {
    return { authorization: this.authorization, accept: 'application/json' };
  }

  private checkAuth(method: string, url: string, res: HttpResponse): void {
    if (res.status === 401) {
      throw new ImportError('AUTH_FAILED', `${method} ${redactUrl(url)} answered 401: the credentials were refused; ${AUTH_VARS}`);
    }
  }
}
