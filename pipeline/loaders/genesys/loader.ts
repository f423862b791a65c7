/**
 * The genesys loader: custom contacts through the Contacts API (genesys-contacts-api.txt).
 *
 *  - open() reads what exists: GET /contacts?type=Custom, ?type=User and ?type=Queue.
 *  - write() plans each contact against that index: a custom contact with the same phone
 *    (else the same name, case-insensitive) is updated with PUT or left unchanged; no
 *    match is a POST; a phone held by a User or Queue contact fails TARGET_DUPLICATE.
 *  - Writes run under p-limit. A contact whose plan touches the same phone, name or
 *    target contact as a write in flight waits for it and is planned again, so the
 *    outcome is the one of loading the contacts one by one in input order.
 *  - Dry run: plan only, settle would-create / would-update / unchanged, and write
 *    genesys-plan.csv.
 *  - An abort (401, a 403 on reading, SIGINT) lets the writes in flight finish, sends
 *    nothing new and is thrown from write()/close(); the runner settles the rest.
 */
import pLimit, { type LimitFunction } from 'p-limit';
import type { Contact, ContactRecord } from '../../contact.js';
import { ImportError, type ErrorCode } from '../../errors.js';
import { redactSecrets } from '../../log.js';
import { HttpError } from '../http.js';
import { removeTally, removeUnits, type UnitResult } from '../remove.js';
import { TARGET_REQUIREMENTS } from '../types.js';
import type { LedgerKey, Loader, LoaderContext, LoadOutcome, RemoveItem, RemoveOutcome } from '../types.js';
import { GenesysClient, genesysConfigFromEnv, genesysDestination, type GenesysContact } from './client.js';
import { genesysContact } from './payload.js';
import {
  GenesysIndex, PLANNED_ID_PREFIX, planContact, planKeys, planRow, realId, rowsOf, writePlanCsv, type Plan, type PlanRow,
} from './plan.js';
import { GenesysWriter, type WriteResult } from './writes.js';

export const GENESYS_DEFAULT_CONCURRENCY = 4;

type PlanCount = 'create' | 'update' | 'unchanged' | 'fail';
type WritePlan = Plan & { action: 'create' | 'update' };

interface InFlight {
  keys: Set<string>;
  done: Promise<void>;
}

export function createGenesysLoader(ctx: LoaderContext): Loader {
  return new GenesysLoader(ctx);
}

class GenesysLoader implements Loader {
  readonly target = 'genesys' as const;
  readonly requiredFields = TARGET_REQUIREMENTS.genesys.fields;
  readonly destination: string | undefined;

  private client?: GenesysClient;
  private writer?: GenesysWriter;
  private readonly index: GenesysIndex;
  private readonly concurrency: number;
  private readonly limit: LimitFunction;
  private readonly inFlight = new Set<InFlight>();
  /** The first error that stops the run (ImportError of kind abort, or a bug). */
  private fatal?: unknown;
  private readonly planRows: PlanRow[] = [];
  private readonly counts: Record<PlanCount, number> = { create: 0, update: 0, unchanged: 0, fail: 0 };
  private plannedIds = 0;

  constructor(private readonly ctx: LoaderContext) {
    this.concurrency = ctx.options.concurrency ?? ctx.mapping.targets?.genesys?.concurrency ?? GENESYS_DEFAULT_CONCURRENCY;
    if (!(this.concurrency >= 1)) {
      throw new ImportError('USAGE', `genesys: concurrency must be at least 1, got ${this.concurrency}`);
    }
    this.limit = pLimit(this.concurrency);
    this.index = new GenesysIndex(ctx.mapping.phone?.defaultCountry);
    this.destination = genesysDestination(ctx.env);
  }

  /**
   * All custom contacts are one scope; a contact is known by the number the loader
   * matches existing contacts by first (plan.ts): its primary phone, as sent.
   */
  identify(c: Contact): LedgerKey | undefined {
    const phone = c.phones[0]?.e164;
    return phone ? { scope: 'custom', key: phone } : undefined;
  }

  /**
   * DELETE /contacts/{id} for each item. The id is the recorded targetId, else the custom
   * contact holding the item's number in the index (read at open(), kept up to date by
   * this run's writes). A recorded id whose contact now holds another number is `gone`
   * without a request: a write of this run moved it (matched by name) or someone reused
   * it, and deleting it would delete a contact the new file still has. 404 is `gone`;
   * 403 (a User or Queue contact, or no admin role) fails the item with the server's
   * message; 401 aborts (Basic credentials, nothing to refresh).
   */
  async remove(items: readonly RemoveItem[], done: (item: RemoveItem, outcome: RemoveOutcome) => void): Promise<void> {
    const client = this.client;
    if (!client) throw new Error('genesys: remove() called before open()');
    // Writes still in flight may move a contact to another number: the index must show it first.
    await this.drain();
    if (this.stopped()) return this.abort();
    const tally = removeTally('genesys', done);
    await removeUnits(items.map((i) => [i]), async ([item]): Promise<UnitResult<RemoveItem>> => {
      const answered = (outcome: RemoveOutcome): UnitResult<RemoveItem> => ({ reached: true, outcomes: [[item, outcome]] });
      let id = item.targetId;
      if (id) {
        const entry = this.index.customById(id);
        if (entry && !GenesysIndex.samePhone(entry, item.key)) return answered({ status: 'gone' });
      } else {
        id = this.index.customByPhoneNumber(item.key)?.id;
        if (!id) return answered({ status: 'gone' });
      }
      let ans;
      try {
        ans = await client.deleteContact(id);
      } catch (e) {
        if (e instanceof HttpError) return { reached: false, error: redactSecrets(e.message, this.ctx.env) };
        throw e;
      }
      if (ans.ok || ans.status === 404) {
        this.index.removeCustom(id);
        return answered({ status: ans.ok ? 'deleted' : 'gone' });
      }
      const error = redactSecrets(ans.describe, this.ctx.env);
      if (ans.status === 429 || ans.status >= 500) return { reached: false, error: `${error} (retries exhausted)` };
      return answered({ status: 'failed', code: 'TARGET_REJECTED', error });
    }, tally.done, { target: 'genesys', concurrency: this.concurrency, signal: this.ctx.signal });
    tally.log(this.ctx.log, items.length);
  }

  async open(): Promise<void> {
    const client = new GenesysClient(this.ctx.http, genesysConfigFromEnv(this.ctx.env));
    this.client = client;
    this.writer = new GenesysWriter(client, this.ctx.http, this.index);
    let lists: GenesysContact[][];
    try {
      lists = await Promise.all(['Custom', 'User', 'Queue'].map((type) => client.listContacts({ type })));
    } catch (e) {
      if (e instanceof HttpError) {
        throw new ImportError('TARGET_UNREACHABLE', `genesys: could not read the existing contacts: ${e.message}; check GENESYS_API_URL`);
      }
      throw e;
    }
    const [custom, users, queues] = lists;
    // The filter is the server's; keep only what it was asked for in case it is lax.
    for (const c of custom) if (c.type.toLowerCase() === 'custom') this.index.putCustom(c);
    for (const c of [...users, ...queues]) if (c.type.toLowerCase() !== 'custom') this.index.addDirectory(c);
    this.ctx.log.info('genesys.open', `genesys: ${this.index.customCount} custom, ${users.length} user and ${queues.length} queue contacts exist; ` +
      `${this.concurrency} writes in parallel${this.ctx.options.dryRun ? ' (dry run: nothing will be sent)' : ''}`,
    { custom: this.index.customCount, users: users.length, queues: queues.length, concurrency: this.concurrency, dryRun: this.ctx.options.dryRun });
  }

  async write(record: ContactRecord): Promise<void> {
    if (this.stopped()) return this.abort();
    const { body, notes } = genesysContact(record.contact);
    const fail = (code: ErrorCode, error: string) => this.settle(record, notes, { status: 'failed', code, error });
    if (!body.name.trim() || !body.phoneNumber) {
      const missing = [!body.name.trim() && 'a name', !body.phoneNumber && 'a phone number'].filter(Boolean).join(' and ');
      this.count('fail');
      if (this.ctx.options.dryRun) {
        this.planRows.push({ action: 'fail', id: '', name: body.name, phoneNumber: body.phoneNumber, previousName: '', previousPhoneNumber: '', rows: rowsOf(record) });
      }
      return fail('REQUIRED_MISSING', `genesys needs ${missing} on every contact`);
    }

    let plan: Plan;
    for (;;) {
      plan = planContact(this.index, body);
      const keys = planKeys(plan);
      const blocking = [...this.inFlight].filter((op) => [...op.keys].some((k) => keys.has(k)));
      if (!blocking.length) break;
      await Promise.all(blocking.map((op) => op.done));
      if (this.stopped()) return this.abort();
    }

    if (this.ctx.options.dryRun) this.planRows.push(planRow(plan, record));
    switch (plan.action) {
      case 'duplicate': {
        this.count('fail');
        const o = plan.owner;
        return fail('TARGET_DUPLICATE', `${body.phoneNumber} belongs to the Genesys ${o.type} contact "${o.name}" (id ${o.id}); not created as a custom duplicate`);
      }
      case 'unchanged': {
        this.count('unchanged');
        const targetId = realId(plan.existing);
        return this.settle(record, notes, targetId ? { status: 'unchanged', targetId, action: 'unchanged' } : { status: 'unchanged', action: 'unchanged' });
      }
      case 'create':
      case 'update':
        this.count(plan.action);
        if (this.ctx.options.dryRun) return this.dryRun(record, notes, plan);
    }

    const writePlan: WritePlan = plan;
    const op: InFlight = { keys: planKeys(plan), done: Promise.resolve() };
    op.done = this.limit(() => this.send(record, notes, writePlan))
      .catch((e: unknown) => { this.fatal ??= e; })
      .finally(() => { this.inFlight.delete(op); });
    this.inFlight.add(op);
    while (this.inFlight.size >= this.concurrency && !this.fatal) await Promise.race([...this.inFlight].map((o) => o.done));
    if (this.stopped()) return this.abort();
  }

  async close(): Promise<void> {
    await this.drain();
    if (this.ctx.options.dryRun) {
      const file = await writePlanCsv(this.ctx.outDir, this.planRows);
      const { create, update, unchanged, fail } = this.counts;
      this.ctx.note(`plan: ${create} create, ${update} update, ${unchanged} unchanged${fail ? `, ${fail} fail` : ''}`);
      this.ctx.log.info('genesys.plan', `genesys: dry run plan written to ${file}`, { file, ...this.counts });
    }
    if (this.stopped()) return this.abort();
  }

  /** Without a request: what a real run would do, applied to the index so later contacts see it. */
  private dryRun(record: ContactRecord, notes: string[], plan: WritePlan): void {
    if (plan.action === 'create') {
      this.index.putCustom({ id: `${PLANNED_ID_PREFIX}${++this.plannedIds}`, name: plan.body.name, phoneNumber: plan.body.phoneNumber });
      return this.settle(record, notes, { status: 'success', action: 'would-create' });
    }
    this.index.putCustom({ id: plan.existing.id, name: plan.body.name, phoneNumber: plan.body.phoneNumber });
    const targetId = realId(plan.existing);
    this.settle(record, notes, targetId ? { status: 'success', targetId, action: 'would-update' } : { status: 'success', action: 'would-update' });
  }

  private async send(record: ContactRecord, notes: string[], plan: WritePlan): Promise<void> {
    // Queued behind an abort: not sent, and left for the runner to settle as NOT_SENT.
    if (this.stopped()) return;
    const writer = this.writer!;
    const result: WriteResult = plan.action === 'create' ? await writer.create(plan.body) : await writer.update(plan.existing, plan.body);
    if (!result.ok) {
      return this.settle(record, notes, { status: 'failed', code: result.code, error: redactSecrets(result.error, this.ctx.env) });
    }
    this.index.putCustom(result.contact);
    this.settle(record, notes, { status: 'success', targetId: result.contact.id, action: result.action });
  }

  private count(k: PlanCount): void {
    this.counts[k]++;
  }

  private settle(record: ContactRecord, notes: string[], outcome: LoadOutcome): void {
    this.ctx.settle(record, notes.length ? { ...outcome, notes } : outcome);
  }

  /** True once the run must stop; a SIGINT becomes the INTERRUPTED abort. */
  private stopped(): boolean {
    if (!this.fatal && this.ctx.signal.aborted) {
      this.fatal = new ImportError('INTERRUPTED', 'genesys: the run was interrupted; writes in flight were finished and no new ones were sent');
    }
    return this.fatal !== undefined;
  }

  private async drain(): Promise<void> {
    while (this.inFlight.size) await Promise.all([...this.inFlight].map((o) => o.done));
  }

  /** Lets the writes in flight settle their contacts, then stops the run. */
  private async abort(): Promise<never> {
    await this.drain();
    throw this.fatal;
  }
}
