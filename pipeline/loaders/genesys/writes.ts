/**
 * One contact's write to Genesys, with the retry rules of each method:
 *
 *  - PUT is idempotent: the HttpClient retries it. 404 (deleted meanwhile) becomes a create.
 *  - POST is not: it is sent with `retry: false`. After a dropped connection, a timeout or
 *    a 5xx the create may or may not have landed, so before sending it again we look it up
 *    (GET /contacts?type=Custom&phoneNumber=<e164>: the document's filters are AND-combined
 *    and case-insensitive) and claim the contact we find. A 429 means the server did not
 *    act: wait for Retry-After and send again without looking.
 *
 * Answers are outcomes for the loader to settle; an ImportError of kind abort (401, a 403
 * on the look-up) is thrown.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ErrorCode } from '../../errors.js';
import { HttpError, parseRetryAfter, type HttpClient } from '../http.js';
import type { GenesysClient, GenesysContact } from './client.js';
import { GenesysIndex, type IndexEntry } from './plan.js';
import type { GenesysContactBody } from './payload.js';

export type WriteResult =
  | { ok: true; action: 'created' | 'updated'; contact: { id: string; name: string; phoneNumber: string } }
  | { ok: false; code: ErrorCode; error: string };

export class GenesysWriter {
  constructor(
    private readonly client: GenesysClient,
    private readonly http: HttpClient,
    private readonly index: GenesysIndex,
  ) {}

  /** PUT the contact over `existing`; a 404 (deleted since we read it) creates it instead. */
  async update(existing: IndexEntry, body: GenesysContactBody): Promise<WriteResult> {
    let ans;
    try {
      ans = await this.client.updateContact(existing.id, body);
    } catch (e) {
      if (e instanceof HttpError) return { ok: false, code: 'RETRIES_EXHAUSTED', error: e.message };
      throw e;
    }
    if (ans.ok) {
      return { ok: true, action: 'updated', contact: { id: existing.id, name: ans.contact?.name ?? body.name, phoneNumber: ans.contact?.phoneNumber ?? body.phoneNumber } };
    }
    if (ans.status === 404) {
      this.index.removeCustom(existing.id);
      return this.create(body);
    }
    if (ans.status === 429 || ans.status >= 500) return { ok: false, code: 'RETRIES_EXHAUSTED', error: ans.describe };
    return { ok: false, code: 'TARGET_REJECTED', error: ans.describe };
  }

  /** POST the contact, never creating it twice (see the module comment). */
  async create(body: GenesysContactBody): Promise<WriteResult> {
    const { attempts, maxRetryAfterMs } = this.http.policy;
    // True while a create may have landed without us hearing the answer.
    let uncertain = false;
    let lastReason = '';
    let delay = 0;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (attempt > 1) await sleep(delay);
      if (uncertain) {
        let found: GenesysContact | undefined;
        try {
          found = await this.lookup(body);
        } catch (e) {
          if (!(e instanceof HttpError)) throw e;
          // Not knowing whether it landed, sending it again could duplicate it: look again later.
          lastReason = `${lastReason}; the look-up before sending again failed: ${e.message}`;
          delay = this.http.backoff(attempt);
          continue;
        }
        if (found) return created(found, body);
        uncertain = false;
      }

      let ans;
      try {
        ans = await this.client.createContact(body);
      } catch (e) {
        if (!(e instanceof HttpError)) throw e;
        uncertain = true;
        lastReason = e.message;
        delay = this.http.backoff(attempt);
        continue;
      }
      if (ans.ok) {
        if (ans.contact) return created(ans.contact, body);
        // A 2xx without the contact: find its id by what we sent.
        const found = await this.lookupIfReachable(body);
        if (found) return created(found, body);
        return { ok: false, code: 'TARGET_REJECTED', error: `POST answered ${ans.status} without the created contact, and a look-up by phoneNumber ${body.phoneNumber} did not find it` };
      }
      if (ans.status === 429) {
        const ra = parseRetryAfter(ans.retryAfter);
        lastReason = ans.describe;
        if (ra !== undefined && ra > maxRetryAfterMs) break;
        delay = ra ?? this.http.backoff(attempt);
        continue;
      }
      if (ans.status >= 500) {
        uncertain = true;
        lastReason = ans.describe;
        delay = this.http.backoff(attempt);
        continue;
      }
      return { ok: false, code: 'TARGET_REJECTED', error: ans.describe };
    }
    if (uncertain) {
      // One last look so that a create which landed is not reported as failed.
      const found = await this.lookupIfReachable(body);
      if (found) return created(found, body);
    }
    return {
      ok: false,
      code: 'RETRIES_EXHAUSTED',
      error: `${lastReason} (gave up after ${attempts} attempts${uncertain ? '; it may have been created: a re-run finds it by phone number' : ''})`,
    };
  }

  /** The custom contact with this phone and name, if the server has one. */
  async lookup(body: GenesysContactBody): Promise<GenesysContact | undefined> {
    const list = await this.client.listContacts({ type: 'Custom', phoneNumber: body.phoneNumber });
    const name = body.name.trim().toLowerCase();
    return list.find((c) => c.type.toLowerCase() === 'custom'
      && c.name.trim().toLowerCase() === name
      && GenesysIndex.samePhone(this.index.entryOf(c), body.phoneNumber));
  }

  /** lookup(), with "the look-up got no answer after retries" as not found. */
  private lookupIfReachable(body: GenesysContactBody): Promise<GenesysContact | undefined> {
    return this.lookup(body).catch((e: unknown) => {
      if (e instanceof HttpError) return undefined;
      throw e;
    });
  }
}

function created(c: GenesysContact, body: GenesysContactBody): WriteResult {
  return { ok: true, action: 'created', contact: { id: c.id, name: c.name || body.name, phoneNumber: c.phoneNumber || body.phoneNumber } };
}
