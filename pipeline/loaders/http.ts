/**
 * The one HTTP client every loader uses: keep-alive agents, timeouts, and retries with
 * exponential backoff and full jitter on network errors, 429 (honouring Retry-After)
 * and 5xx. 400/401/403/404 are never retried here: the caller decides what they mean.
 *
 * Non-idempotent requests (a creating POST) pass `retry: false` and handle the
 * "did it land?" question themselves (look before re-POSTing).
 */
import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';

export interface MultipartBody {
  getHeaders(): Record<string, string>;
  pipe<T extends NodeJS.WritableStream>(dest: T): T;
}

export type Body = string | Buffer | MultipartBody;

export interface RequestOptions {
  method: string;
  url: string;
  headers?: Record<string, string>;
  /** A factory, so a retried request gets a fresh body (a multipart stream is single-use). */
  body?: () => Body;
  /** Retry on network errors, 429 and 5xx (default true). */
  retry?: boolean;
  timeoutMs?: number;
}

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  /** Parsed JSON, or undefined when the body is not JSON. */
  json: unknown;
}

export interface RetryPolicy {
  /** Attempts in all, including the first. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** The longest Retry-After we wait for before giving up on the request. */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 6, baseDelayMs: 250, maxDelayMs: 20_000, maxRetryAfterMs: 120_000 };

export interface HttpStats {
  requests: number;
  retries: number;
  byStatus: Record<string, number>;
}

/** Thrown when a request could not get an answer the caller can use after all retries. */
export class HttpError extends Error {
  constructor(
    readonly method: string,
    readonly url: string,
    /** 0 for a network error */
    readonly status: number,
    readonly serverMessage: string,
    readonly attempts: number,
  ) {
    super(`${method} ${url} ${status ? `answered ${status}` : 'failed'}${serverMessage ? `: ${serverMessage}` : ''}` +
      (attempts > 1 ? ` (after ${attempts} attempts)` : ''));
    this.name = 'HttpError';
  }
}

export interface HttpClientOptions {
  retry?: Partial<RetryPolicy>;
  timeoutMs?: number;
  /** Injected for tests: how to wait. */
  sleep?: (ms: number) => Promise<void>;
  /** Called before each retry (for logs and stats). */
  onRetry?: (info: { method: string; url: string; attempt: number; delayMs: number; reason: string }) => void;
  random?: () => number;
}

const sleepReal = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A URL safe to print: no user info, no query string values. */
export function redactUrl(raw: string): string {
  try {
    const u = new URL(raw);
    u.username = '';
    u.password = '';
    for (const k of [...u.searchParams.keys()]) {
      if (/key|token|secret|password|auth/i.test(k)) u.searchParams.set(k, 'REDACTED');
    }
    return u.toString();
  } catch {
    return '(invalid URL)';
  }
}

/**
 * An API base URL as a variable holds it: trimmed, without trailing slashes, and without one of
 * `endpoints` (the paths the client appends) at its end. A variable set to an endpoint URL as the
 * vendor's document writes it (https://clusterid.samespace.com/crm/api) means the base under it.
 * The URLs called and the ledger's account (Loader.destination) both come from it, so the two
 * ways of writing the variable are one account.
 */
export function apiBase(raw: string, endpoints: readonly string[] = []): string {
  const base = raw.trim().replace(/\/+$/, '');
  for (const e of endpoints) if (base.endsWith(e)) return base.slice(0, -e.length).replace(/\/+$/, '');
  return base;
}

export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  if (/^\s*\d+(\.\d+)?\s*$/.test(v)) return Math.round(parseFloat(v) * 1000);
  const at = Date.parse(v);
  if (!Number.isNaN(at)) return Math.max(0, at - now);
  return undefined;
}

function isRetriableStatus(status: number): boolean {
  return status === 429 || status >= 500;
}

export class HttpClient {
  readonly stats: HttpStats = { requests: 0, retries: 0, byStatus: {} };
  /** Read by loaders that retry non-idempotent requests themselves (look before re-POST). */
  readonly policy: RetryPolicy;
  private readonly timeoutMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly agents = {
    http: new http.Agent({ keepAlive: true, maxSockets: 64 }),
    https: new https.Agent({ keepAlive: true, maxSockets: 64 }),
  };

  constructor(private readonly opts: HttpClientOptions = {}) {
    this.policy = { ...DEFAULT_RETRY, ...opts.retry };
    this.timeoutMs = opts.timeoutMs ?? 60_000;
    this.sleep = opts.sleep ?? sleepReal;
    this.random = opts.random ?? Math.random;
  }

  /** Backoff for attempt n (1-based): full jitter over an exponential ceiling. */
  backoff(attempt: number): number {
    const ceiling = Math.min(this.policy.maxDelayMs, this.policy.baseDelayMs * 2 ** (attempt - 1));
    return Math.round(ceiling / 2 + (this.random() * ceiling) / 2);
  }

  /**
   * Sends a request. Resolves with any HTTP answer that is not retriable (including
   * 4xx: the caller decides), retrying network errors, 429 and 5xx when allowed.
   * Rejects with HttpError when retries are exhausted.
   */
  async request(o: RequestOptions): Promise<HttpResponse> {
    const retry = o.retry !== false;
    for (let attempt = 1; ; attempt++) {
      let res: HttpResponse | undefined;
      let netErr: Error | undefined;
      try {
        res = await this.once(o);
      } catch (e) {
        netErr = e as Error;
      }
      this.stats.requests++;
      const key = res ? String(res.status) : 'network';
      this.stats.byStatus[key] = (this.stats.byStatus[key] ?? 0) + 1;
      if (res && !isRetriableStatus(res.status)) return res;
      const reason = res ? `HTTP ${res.status}` : `${(netErr as NodeJS.ErrnoException).code ?? ''} ${netErr!.message}`.trim();
      if (!retry || attempt >= this.policy.attempts) {
        if (res) return res; // the caller turns a final 429/5xx into its own outcome
        throw new HttpError(o.method, redactUrl(o.url), 0, reason, attempt);
      }
      let delay = this.backoff(attempt);
      if (res) {
        const ra = parseRetryAfter(res.headers['retry-after']);
        if (ra !== undefined) {
          if (ra > this.policy.maxRetryAfterMs) return res;
          delay = Math.max(ra, 0);
        }
      }
      this.stats.retries++;
      this.opts.onRetry?.({ method: o.method, url: redactUrl(o.url), attempt, delayMs: delay, reason });
      await this.sleep(delay);
    }
  }

  private once(o: RequestOptions): Promise<HttpResponse> {
    return new Promise((resolve, reject) => {
      const url = new URL(o.url);
      const isHttps = url.protocol === 'https:';
      const body = o.body?.();
      const headers: Record<string, string> = { ...(o.headers ?? {}) };
      let payload: string | Buffer | undefined;
      let stream: MultipartBody | undefined;
      if (typeof body === 'string' || Buffer.isBuffer(body)) {
        payload = body;
        headers['content-length'] = String(Buffer.byteLength(body));
      } else if (body) {
        stream = body;
        Object.assign(headers, body.getHeaders());
      }
      const req = (isHttps ? https : http).request(url, {
        method: o.method,
        headers,
        agent: isHttps ? this.agents.https : this.agents.http,
        timeout: o.timeoutMs ?? this.timeoutMs,
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('aborted', () => reject(Object.assign(new Error('response aborted'), { code: 'ECONNRESET' })));
        res.on('end', () => {
          if (!res.complete) {
            reject(Object.assign(new Error('connection closed before the response ended'), { code: 'ECONNRESET' }));
            return;
          }
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          if (text && /json/i.test(String(res.headers['content-type'] ?? '')) || /^\s*[{[]/.test(text)) {
            try { json = JSON.parse(text); } catch { json = undefined; }
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error('request timed out'), { code: 'ETIMEDOUT' })));
      req.on('error', reject);
      if (stream) (stream as unknown as Readable).pipe(req);
      else req.end(payload);
    });
  }

  close(): void {
    this.agents.http.destroy();
    this.agents.https.destroy();
  }
}

/** The server's message from an error answer, short and without echoing headers. */
export function serverMessage(res: HttpResponse): string {
  const j = res.json as Record<string, unknown> | undefined;
  let msg = '';
  if (j && typeof j === 'object') {
    const m = j.message ?? j.error_description ?? j.error ?? (Array.isArray(j.errors) ? (j.errors[0] as { message?: string })?.message : undefined);
    if (typeof m === 'string') msg = m;
    else if (m) msg = JSON.stringify(m);
  }
  if (!msg) msg = res.text;
  msg = msg.replace(/\s+/g, ' ').trim();
  return msg.length > 300 ? msg.slice(0, 300) + '…' : msg;
}
