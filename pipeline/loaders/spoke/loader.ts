/**
 * The spoke loader: contacts grouped by owner email, sent in batches with
 * PUT /phonebooks/{email}/contacts (spoke-assigned-contacts.txt), one outcome per contact.
 *
 *  - Buffers per owner; a full buffer becomes a batch. Batches run under p-limit, and
 *    write() waits only when `concurrency` batches are in flight and as many more are
 *    queued, so memory stays bounded whatever the input's size.
 *  - 404 / 403 condemn the owner: its later contacts fail without a request.
 *  - 400 / 413 split the batch in halves until the contacts that cause it are alone.
 *  - Network errors, 429 and 5xx are retried by the HttpClient; when it gives up the
 *    batch's contacts fail RETRIES_EXHAUSTED (a re-run is safe: PUT by id is an upsert).
 *  - An abort (credentials refused mid-run, SIGINT) lets the batches in flight finish,
 *    sends nothing new and is thrown from write()/close(); the runner settles the rest.
 */
import pLimit, { type LimitFunction } from 'p-limit';
import type { Contact, ContactRecord } from '../../contact.js';
import { ImportError, type ErrorCode } from '../../errors.js';
import { HttpError } from '../http.js';
import { removeTally, removeUnits } from '../remove.js';
import { TARGET_REQUIREMENTS } from '../types.js';
import type { LedgerKey, Loader, LoaderContext, LoadOutcome, RemoveItem, RemoveOutcome } from '../types.js';
import { SpokeClient, SpokeRequestError, spokeConfigFromEnv, spokeDestination, SPOKE_PHONEBOOK_NAME } from './client.js';
import { spokeContact, spokeContactPath, spokeContactsPath, type SpokeContact } from './payload.js';

export const SPOKE_DEFAULT_BATCH_SIZE = 100;
export const SPOKE_DEFAULT_CONCURRENCY = 4;

export interface SpokeLoaderTuning {
  /**
   * Contacts held in owner buffers before the oldest buffer is sent early. Many owners
   * with a few contacts each would otherwise all wait for close(). Default:
   * max(10000, 8 × batchSize × concurrency): a buffered contact costs about a kilobyte,
   * and a lower cap sends small batches when a file mixes many owners (measured with
   * test/bench/spoke-throughput.ts: 200 owners at a 3,200 cap averaged 26 contacts a PUT).
   */
  maxBuffered?: number;
  /** Ready batches allowed to wait for a free request slot before write() waits. Default: concurrency. */
  maxQueuedBatches?: number;
}

interface Pending {
  record: ContactRecord;
  payload: SpokeContact;
  notes: string[];
  settled: boolean;
}

interface Failure {
  code: ErrorCode;
  error: string;
}

export function createSpokeLoader(ctx: LoaderContext, tuning: SpokeLoaderTuning = {}): Loader {
  return new SpokeLoader(ctx, tuning);
}

class SpokeLoader implements Loader {
  readonly target = 'spoke' as const;
  readonly requiredFields = TARGET_REQUIREMENTS.spoke.fields;
  readonly destination: string;

  private client?: SpokeClient;
  private readonly batchSize: number;
  private readonly concurrency: number;
  private readonly maxBuffered: number;
  private readonly maxQueued: number;
  private readonly limit: LimitFunction;
  private readonly createPhonebooks: boolean;

  /** Owner email -> contacts waiting for a batch; Map order = oldest buffer first. */
  private readonly buffers = new Map<string, Pending[]>();
  private buffered = 0;
  /** Owners the target refused (404/403): their later contacts fail without a request. */
  private readonly ownerFailures = new Map<string, Failure>();
  /** One phonebook creation per owner, shared by all its batches. */
  private readonly phonebooks = new Map<string, Promise<Failure | undefined>>();
  private phonebooksCreated = 0;
  /** Batches queued or in flight; each settles its own contacts and never rejects. */
  private readonly tasks = new Set<Promise<void>>();
  /** The first error that stops the run (ImportError of kind abort, or a bug). */
  private fatal?: unknown;

  constructor(private readonly ctx: LoaderContext, tuning: SpokeLoaderTuning) {
    const opts = ctx.mapping.targets?.spoke;
    this.batchSize = ctx.options.batchSize ?? opts?.batchSize ?? SPOKE_DEFAULT_BATCH_SIZE;
    this.concurrency = ctx.options.concurrency ?? opts?.concurrency ?? SPOKE_DEFAULT_CONCURRENCY;
    if (!(this.batchSize >= 1) || !(this.concurrency >= 1)) {
      throw new ImportError('USAGE', `spoke: batch size and concurrency must be at least 1, got ${this.batchSize} and ${this.concurrency}`);
    }
    this.maxBuffered = tuning.maxBuffered ?? Math.max(10_000, 8 * this.batchSize * this.concurrency);
    this.maxQueued = tuning.maxQueuedBatches ?? this.concurrency;
    this.limit = pLimit(this.concurrency);
    this.createPhonebooks = ctx.options.flags.createPhonebooks === true;
    this.destination = spokeDestination(ctx.env);
  }

  /**
   * A contact lives in its owner's personal phonebook under the external id we send as
   * `id` (PUT upserts by it). The owner is lower-cased: Spoke addresses users by email,
   * which it does not tell apart by case, so "Ann@x.com" and "ann@x.com" are one scope.
   */
  identify(c: Contact): LedgerKey | undefined {
    const owner = c.owner?.trim().toLowerCase();
    const id = c.id;
    return owner && id ? { scope: owner, key: id } : undefined;
  }

  /**
   * DELETE /phonebooks/{email}/contacts/{id} for each item (scope = owner, key = id), both
   * percent-encoded. 404 (no such contact, or no such user any more) is `gone`; 403 fails
   * the item OWNER_FORBIDDEN and the owner's later items without a request; a 401 gets a
   * fresh token once through the client, a second refusal aborts.
   */
  async remove(items: readonly RemoveItem[], done: (item: RemoveItem, outcome: RemoveOutcome) => void): Promise<void> {
    const client = this.client;
    if (!client) throw new Error('spoke: remove() called before open()');
    const refused = new Map<string, Failure>();
    const tally = removeTally('spoke', done);
    await removeUnits(items.map((i) => [i]), async ([item]) => {
      const path = spokeContactPath(item.scope, item.key);
      const answered = (outcome: RemoveOutcome) => ({ reached: true as const, outcomes: [[item, outcome]] as [RemoveItem, RemoveOutcome][] });
      const owner = refused.get(item.scope);
      if (owner) return answered({ status: 'failed', ...owner });
      try {
        return answered({ status: (await client.deleteContact(item.scope, item.key)) === 'deleted' ? 'deleted' : 'gone' });
      } catch (e) {
        if (e instanceof HttpError) {
          return { reached: false as const, error: `DELETE ${path} failed: ${client.clean(e.serverMessage)} (after ${e.attempts} attempts)` };
        }
        if (!(e instanceof SpokeRequestError)) throw e;
        if (e.status === 429 || e.status >= 500) return { reached: false as const, error: `${e.message} (retries exhausted)` };
        if (e.status === 403) {
          const f: Failure = { code: 'OWNER_FORBIDDEN', error: e.message };
          refused.set(item.scope, f);
          return answered({ status: 'failed', ...f });
        }
        return answered({ status: 'failed', code: 'TARGET_REJECTED', error: e.message });
      }
    }, tally.done, { target: 'spoke', concurrency: this.concurrency, signal: this.ctx.signal });
    tally.log(this.ctx.log, items.length);
  }

  async open(): Promise<void> {
    const cfg = spokeConfigFromEnv(this.ctx.env);
    this.client = new SpokeClient(this.ctx.http, cfg, { env: this.ctx.env });
    await this.client.authenticate();
    this.ctx.log.info('spoke.open', `spoke: credentials accepted; batches of ${this.batchSize}, ${this.concurrency} in parallel` +
      (this.ctx.options.dryRun ? ' (dry run: nothing will be sent)' : ''),
    { batchSize: this.batchSize, concurrency: this.concurrency, dryRun: this.ctx.options.dryRun });
  }

  async write(record: ContactRecord): Promise<void> {
    if (this.stopped()) return this.abort();
    const c = record.contact;
    const { contact: payload, notes } = spokeContact(c);
    const item: Pending = { record, payload, notes, settled: false };
    const missing = [!c.owner && 'owner', !payload.id && 'id', !payload.name && 'name'].filter(Boolean);
    if (missing.length) {
      return this.settle(item, { status: 'failed', code: 'REQUIRED_MISSING', error: `spoke needs ${missing.join(', ')} on every contact` });
    }
    const owner = c.owner!;
    if (this.ctx.options.dryRun) {
      return this.settle(item, { status: 'success', targetId: payload.id, action: 'would-upsert' });
    }
    const refused = this.ownerFailures.get(owner);
    if (refused) return this.settle(item, { status: 'failed', ...refused });

    let buf = this.buffers.get(owner);
    if (!buf) this.buffers.set(owner, (buf = []));
    buf.push(item);
    this.buffered++;
    if (buf.length >= this.batchSize) this.submit(owner);
    else if (this.buffered > this.maxBuffered) this.submit(this.buffers.keys().next().value!);
    while (this.tasks.size >= this.concurrency + this.maxQueued && !this.fatal) await Promise.race(this.tasks);
    if (this.stopped()) return this.abort();
  }

  async close(): Promise<void> {
    if (!this.stopped()) for (const owner of [...this.buffers.keys()]) this.submit(owner);
    await this.drain();
    if (this.phonebooksCreated) {
      this.ctx.note(`spoke: created the "${SPOKE_PHONEBOOK_NAME}" personal phonebook for ${this.phonebooksCreated} owner(s)`);
    }
    if (this.stopped()) return this.abort();
  }

  // ---- batches -----------------------------------------------------------------------

  private submit(owner: string): void {
    const items = this.buffers.get(owner);
    if (!items) return;
    this.buffers.delete(owner);
    this.buffered -= items.length;
    const task: Promise<void> = this.limit(() => this.send(owner, items))
      .catch((e: unknown) => { this.fatal ??= e; })
      .finally(() => { this.tasks.delete(task); });
    this.tasks.add(task);
  }

  private async send(owner: string, items: Pending[]): Promise<void> {
    if (this.stopped()) return;
    const refused = this.ownerFailures.get(owner);
    if (refused) return this.failAll(items, refused);
    if (this.createPhonebooks) {
      const failed = await this.ensurePhonebook(owner);
      if (failed) return this.failAll(items, failed);
    }
    await this.put(owner, items);
  }

  private async put(owner: string, items: Pending[]): Promise<void> {
    if (this.stopped()) return;
    const refused = this.ownerFailures.get(owner);
    if (refused) return this.failAll(items, refused);
    const client = this.client!;
    const path = spokeContactsPath(owner);
    let res;
    try {
      res = await client.putContacts(owner, items.map((i) => i.payload));
    } catch (e) {
      if (e instanceof HttpError) {
        return this.failAll(items, { code: 'RETRIES_EXHAUSTED', error: `PUT ${path} failed: ${client.clean(e.serverMessage)} (after ${e.attempts} attempts)` });
      }
      throw e;
    }
    const s = res.status;
    if (s >= 200 && s < 300) {
      for (const i of items) this.settle(i, { status: 'success', targetId: i.payload.id, action: 'upserted' });
      return;
    }
    const error = client.describe('PUT', path, res);
    if (s === 404 || s === 403) {
      return this.refuseOwner(owner, items, { code: s === 404 ? 'OWNER_NOT_FOUND' : 'OWNER_FORBIDDEN', error });
    }
    if ((s === 400 || s === 413) && items.length > 1) {
      // Halves run one after the other inside this batch's slot, so the bound on requests in flight holds.
      const mid = Math.ceil(items.length / 2);
      await this.put(owner, items.slice(0, mid));
      await this.put(owner, items.slice(mid));
      return;
    }
    if (s === 429 || s >= 500) return this.failAll(items, { code: 'RETRIES_EXHAUSTED', error: `${error} (retries exhausted)` });
    this.failAll(items, { code: 'TARGET_REJECTED', error });
  }

  private ensurePhonebook(owner: string): Promise<Failure | undefined> {
    let p = this.phonebooks.get(owner);
    if (!p) {
      p = this.client!.createPhonebook(owner).then((r): Failure | undefined => {
        if (r.ok) {
          if (r.created) this.phonebooksCreated++;
          this.ctx.log.debug('spoke.phonebook', `spoke: phonebook for ${owner} ${r.created ? 'created' : 'already exists'}`);
          return undefined;
        }
        const code: ErrorCode = r.status === 404 ? 'OWNER_NOT_FOUND'
          : r.status === 403 ? 'OWNER_FORBIDDEN'
            : r.status === 0 || r.status === 429 || r.status >= 500 ? 'RETRIES_EXHAUSTED' : 'TARGET_REJECTED';
        const failure = { code, error: `could not create the personal phonebook: ${r.error}` };
        if (code === 'OWNER_NOT_FOUND' || code === 'OWNER_FORBIDDEN') this.markOwner(owner, failure);
        // A passing outage should not condemn the owner's later batches: they try again.
        if (code === 'RETRIES_EXHAUSTED') this.phonebooks.delete(owner);
        return failure;
      });
      this.phonebooks.set(owner, p);
    }
    return p;
  }

  private refuseOwner(owner: string, items: Pending[], failure: Failure): void {
    this.markOwner(owner, failure);
    this.failAll(items, failure);
  }

  private markOwner(owner: string, failure: Failure): void {
    if (this.ownerFailures.has(owner)) return;
    this.ownerFailures.set(owner, failure);
    this.ctx.log.warn('spoke.owner', `spoke: ${failure.code} for owner ${owner}; the rest of their contacts are not sent`, { owner, code: failure.code });
    this.ctx.note(`spoke: owner ${owner} refused (${failure.code}): ${failure.error}`);
  }

  // ---- outcomes and stopping ---------------------------------------------------------

  private failAll(items: Pending[], f: Failure): void {
    for (const i of items) this.settle(i, { status: 'failed', code: f.code, error: f.error });
  }

  private settle(item: Pending, outcome: LoadOutcome): void {
    if (item.settled) return;
    item.settled = true;
    this.ctx.settle(item.record, item.notes.length ? { ...outcome, notes: item.notes } : outcome);
  }

  /** True once the run must stop; a SIGINT becomes the INTERRUPTED abort. */
  private stopped(): boolean {
    if (!this.fatal && this.ctx.signal.aborted) {
      this.fatal = new ImportError('INTERRUPTED', 'spoke: the run was interrupted; batches in flight were finished and no new ones were sent');
    }
    return this.fatal !== undefined;
  }

  private async drain(): Promise<void> {
    while (this.tasks.size) await Promise.all(this.tasks);
  }

  /** Lets the batches in flight settle their contacts, then stops the run. */
  private async abort(): Promise<never> {
    await this.drain();
    throw this.fatal;
  }
}
