/**
 * A Talkdesk contact synchronizer, written from talkdesk-contact-sync.txt only:
 *
 *  - the first request of a sync sends `auth` and a `meta` without offset or context,
 *    and with the `synchronization_checkpoint` the previous sync ended with (none for
 *    the initial sync);
 *  - while a response carries `next_offset`, it immediately requests the next page
 *    with that `offset`, the same checkpoint, and the `context` the bridge returned;
 *  - the sync ends on a response without `next_offset`; its
 *    `synchronization_checkpoint`, when set, is kept for the next sync.
 *
 * It checks what the document promises of every response and fails loudly otherwise.
 */
import assert from 'node:assert/strict';

export interface SyncContact {
  id: string;
  name: string;
  company?: string;
  title?: string;
  emails?: string[];
  phones?: string[];
  photo_url?: string;
  address?: string;
  websites?: string[];
  twitter?: string;
  url?: string;
}

export interface SyncResponse {
  next_offset?: string;
  synchronization_checkpoint?: string;
  context?: unknown;
  contacts: SyncContact[];
}

export interface RawAnswer { status: number; contentType: string; body: unknown }

export interface SyncRun {
  contacts: SyncContact[];
  /** Contacts per page, in order. */
  pages: SyncContact[][];
  checkpoint?: string;
}

const CONTACT_KEYS = new Set(['id', 'name', 'company', 'title', 'emails', 'phones', 'photo_url', 'address', 'websites', 'twitter', 'url']);

/** POSTs any JSON (or raw text) to the bridge and returns status and parsed body. */
export async function postRaw(url: string, body: unknown, opts: { raw?: boolean } = {}): Promise<RawAnswer> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: opts.raw ? (body as string) : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try { parsed = JSON.parse(text); } catch { /* kept as text: the assertion on it will say so */ }
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', body: parsed };
}

export class TalkdeskSynchronizer {
  /** What Talkdesk remembers between syncs. */
  checkpoint: string | undefined;

  constructor(readonly url: string, readonly auth: { username: string; password: string }) {}

  /**
   * One whole sync (initial when no checkpoint is held). `betweenPages(n)` runs after
   * page n (1-based) has been received and before the next one is asked for.
   */
  async sync(opts: { betweenPages?: (page: number) => Promise<void> | void; maxPages?: number } = {}): Promise<SyncRun> {
    const pages: SyncContact[][] = [];
    const startCheckpoint = this.checkpoint;
    let offset: string | undefined;
    let context: unknown;
    let last: SyncResponse;
    for (;;) {
      const meta: Record<string, unknown> = {};
      if (startCheckpoint !== undefined) meta.synchronization_checkpoint = startCheckpoint;
      if (offset !== undefined) meta.offset = offset;
      if (offset !== undefined && context !== undefined) meta.context = context;
      const answer = await postRaw(this.url, { auth: this.auth, meta });
      assert.equal(answer.status, 200, `sync page ${pages.length + 1}: ${JSON.stringify(answer.body)}`);
      assert.match(answer.contentType, /^application\/json/);
      last = checkResponse(answer.body);
      pages.push(last.contacts);
      if (last.next_offset === undefined) break;
      assert.ok(pages.length < (opts.maxPages ?? 100_000), 'the bridge keeps returning next_offset');
      await opts.betweenPages?.(pages.length);
      offset = last.next_offset;
      context = last.context;
    }
    if (last.synchronization_checkpoint !== undefined) this.checkpoint = last.synchronization_checkpoint;
    return { contacts: pages.flat(), pages, checkpoint: last.synchronization_checkpoint };
  }
}

/** The response shape of the document: fails on anything else. */
export function checkResponse(body: unknown): SyncResponse {
  assert.ok(body && typeof body === 'object' && !Array.isArray(body), 'the response is a JSON object');
  const r = body as Record<string, unknown>;
  if ('next_offset' in r) assert.equal(typeof r.next_offset, 'string', 'next_offset is a string when present');
  if ('synchronization_checkpoint' in r) assert.equal(typeof r.synchronization_checkpoint, 'string');
  assert.ok(Array.isArray(r.contacts), 'contacts is an array');
  for (const c of r.contacts as Record<string, unknown>[]) {
    assert.equal(typeof c.id, 'string', 'contact id is a string');
    assert.equal(typeof c.name, 'string', 'contact name is a string');
    for (const k of Object.keys(c)) {
      assert.ok(CONTACT_KEYS.has(k), `unknown contact field ${k}`);
      assert.notEqual(c[k], null, `absent fields are omitted, not null (${k})`);
    }
    for (const k of ['emails', 'phones', 'websites']) {
      if (k in c) assert.ok(Array.isArray(c[k]) && (c[k] as unknown[]).every((x) => typeof x === 'string'), `${k} is an array of strings`);
    }
    for (const p of (c.phones as string[] | undefined) ?? []) assert.match(p, /^\+[1-9]\d{1,14}$/, 'phones are E.164');
  }
  return r as unknown as SyncResponse;
}
