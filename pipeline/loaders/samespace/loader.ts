/**
 * The Samespace loader: contacts are buffered into chunks; each chunk is written as a
 * CSV (a copy stays in the report folder), uploaded, imported with importContacts, and
 * the answer's counts and failed[] are reconciled back to rows.
 *
 * Upload and import are separate retry units: once a chunk is uploaded its fileUuid is
 * kept, and a failed or lost import is retried with the same fileUuid (client.ts), never
 * by uploading the file again.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import Papa from 'papaparse';
import pLimit, { type LimitFunction } from 'p-limit';
import type { Contact, ContactRecord } from '../../contact.js';
import { ImportError, isImportError } from '../../errors.js';
import { removeTally, removeUnits, type UnitResult } from '../remove.js';
import type { LedgerKey, Loader, LoaderContext, LoadOutcome, RemoveItem, RemoveOutcome } from '../types.js';
import {
  SamespaceClient, SamespaceFailure, samespaceBase, samespaceConfig, type SamespaceModule, type SamespaceProperty, type UploadAnswer,
} from './client.js';
import { canonicalValue, mapAttributes, propertyColumns, samespaceRecord, type PropertyColumn } from './payload.js';
import { columnPlan, humanize, isFed, missingPropertyError, requiredFieldsFor, resolveModule, unfedRequired, valueTypeFor } from './plan.js';
import { reconcile, valueOf } from './reconcile.js';

export const DEFAULT_CHUNK_SIZE = 5000;
/** Ids per deleteContacts mutation. */
export const DELETE_BATCH_SIZE = 500;
/** Contacts per getContacts page when looking up the ids of contacts to delete. */
export const LOOKUP_PAGE_SIZE = 500;

interface Pending {
  record: ContactRecord;
  row: string[];
  notes: string[];
}

export function createSamespaceLoader(ctx: LoaderContext): Loader {
  return new SamespaceLoader(ctx);
}

class SamespaceLoader implements Loader {
  readonly target = 'samespace' as const;
  /** After open(): the canonical fields feeding properties the module requires (see requiredFieldsFor). */
  requiredFields: readonly string[] = [];

  private client!: SamespaceClient;
  private module!: SamespaceModule;
  private cols: PropertyColumn[] = [];
  private chunkSize = DEFAULT_CHUNK_SIZE;
  private concurrency = 1;
  private limit!: LimitFunction;
  private chunkDir = '';
  private buffer: Pending[] = [];
  private chunkNo = 0;
  private readonly inflight = new Set<Promise<void>>();
  /** The first error that must stop the run; chunks in flight finish before it is thrown. */
  private fatal: unknown;
  private interrupted = false;

  readonly destination: string | undefined;
  /** The module as the mapping names it: the scope of every contact this loader identifies. */
  private readonly moduleRef: string;
  /** The upload column that carries the contact's primary phone, if the mapping feeds one. */
  private readonly keyColumn: PropertyColumn | undefined;

  constructor(private readonly ctx: LoaderContext) {
    this.moduleRef = (ctx.mapping.targets.samespace?.module ?? 'Contacts').trim();
    const base = ctx.env.SAMESPACE_URL?.trim();
    this.destination = base ? `${samespaceBase(base)} (module ${this.moduleRef})` : undefined;
    const cols = propertyColumns(ctx.mapping.targets.samespace?.properties, [], (c) => isFed(ctx.mapping, c));
    this.keyColumn = cols.find((c) => 'canonical' in c.from && (c.from.canonical === 'phoneNumber' || c.from.canonical === 'phone'));
  }

  /**
   * Samespace merges an imported contact into an existing one with the same phone number
   * or email (the emulator's reading of the document; importContacts answers no ids), and
   * the phone is what this tool normalizes to one form (E.164), so the key is the primary
   * phone as sent in the upload. Scope: the module. Without a phone column or a phone the
   * contact is not identified: always sent, never deleted.
   */
  identify(c: Contact): LedgerKey | undefined {
    if (!this.keyColumn || !('canonical' in this.keyColumn.from)) return undefined;
    const phone = canonicalValue(c, this.keyColumn.from.canonical);
    return phone ? { scope: this.moduleRef, key: phone } : undefined;
  }

  /**
   * Samespace merges an imported row into a contact with the same phone or email, so a
   * contact whose phone changed (same email) is the old contact, updated: --mirror must
   * not delete it under its old phone. Every phone and email of the row counts (a superset
   * of the columns sent: erring towards keeping).
   */
  aliases(c: Contact): string[] {
    return [...c.phones.map((p) => `phone:${p.e164}`), ...c.emails.map((e) => `email:${e.toLowerCase()}`)];
  }

  /**
   * deleteContacts with the module and a list of `_id`s, DELETE_BATCH_SIZE at a time;
   * never with `filter` or `all`, which could reach contacts this tool did not create.
   * Items with a recorded targetId use it; the others are looked up by paging getContacts
   * over the module and comparing the key property as identify() computes it (phones by
   * digits, as reconcile.ts compares server values). A key no contact holds is `gone`;
   * when several hold it, the oldest is the one imports merge into and the one deleted.
   */
  async remove(items: readonly RemoveItem[], done: (item: RemoveItem, outcome: RemoveOutcome) => void): Promise<void> {
    if (!this.client || !this.module) throw new Error('samespace: remove() called before open()');
    const client = this.client;
    const moduleId = this.module._id;
    const tally = removeTally('samespace', done);
    const ours: RemoveItem[] = [];
    for (const item of items) {
      if (item.scope === this.moduleRef) ours.push(item);
      else tally.done(item, { status: 'failed', code: 'TARGET_REJECTED', error: `recorded for Samespace module "${item.scope}", but this run loads module "${this.moduleRef}"; run with that module to delete it` });
    }
    const byId = new Map<string, RemoveItem[]>();
    const idOf = new Map<RemoveItem, string>();
    const add = (id: string, item: RemoveItem) => {
      idOf.set(item, id);
      const list = byId.get(id);
      if (list) list.push(item);
      else byId.set(id, [item]);
    };
    const unknown = ours.filter((i) => !i.targetId);
    for (const i of ours) if (i.targetId) add(i.targetId, i);
    if (unknown.length) {
      try {
        const found = await this.lookupIds(unknown);
        for (const i of unknown) {
          const id = found.get(i);
          if (id) add(id, i);
          else tally.done(i, { status: 'gone' });
        }
      } catch (e) {
        if (!(e instanceof SamespaceFailure)) throw e;
        if (e.kind === 'transient') {
          throw new ImportError('TARGET_UNREACHABLE', `samespace: could not look up the contacts to delete: ${e.message}; nothing was deleted`);
        }
        for (const i of unknown) tally.done(i, { status: 'failed', code: 'TARGET_REJECTED', error: `could not look up the contact to delete: ${e.message}` });
      }
    }
    const ids = [...byId.keys()];
    const batches: RemoveItem[][] = [];
    for (let at = 0; at < ids.length; at += DELETE_BATCH_SIZE) batches.push(ids.slice(at, at + DELETE_BATCH_SIZE).flatMap((id) => byId.get(id)!));
    await removeUnits(batches, async (batch): Promise<UnitResult<RemoveItem>> => {
      const batchIds = [...new Set(batch.map((i) => idOf.get(i)!))];
      const all = (outcome: RemoveOutcome): UnitResult<RemoveItem> => ({ reached: true, outcomes: batch.map((i) => [i, outcome]) });
      try {
        const answer = await client.deleteContacts(moduleId, batchIds);
        const refused = answer && typeof answer === 'object' && (answer as { success?: unknown }).success === false;
        if (refused) {
          const msg = (answer as { message?: unknown }).message;
          return all({ status: 'failed', code: 'TARGET_REJECTED', error: `deleteContacts answered success: false${typeof msg === 'string' && msg ? `: ${msg}` : ''}` });
        }
        return all({ status: 'deleted' });
      } catch (e) {
        if (!(e instanceof SamespaceFailure)) throw e;
        if (e.kind === 'transient') return { reached: false, error: e.message };
        return all({ status: 'failed', code: 'TARGET_REJECTED', error: e.message });
      }
    }, tally.done, { target: 'samespace', concurrency: this.concurrency, signal: this.ctx.signal });
    tally.log(this.ctx.log, items.length);
  }

  /** The `_id` for each item, by paging the module's contacts; items no contact matches are absent. */
  private async lookupIds(items: readonly RemoveItem[]): Promise<Map<RemoveItem, string>> {
    const prop = this.keyProperty();
    const wanted = new Map<string, RemoveItem[]>();
    for (const i of items) {
      const k = keyDigits(i.key);
      if (!k) continue;
      const list = wanted.get(k);
      if (list) list.push(i);
      else wanted.set(k, [i]);
    }
    const found = new Map<RemoveItem, string>();
    const seen = new Set<string>();
    for (let skip = 0; wanted.size; skip += LOOKUP_PAGE_SIZE) {
      const page = await this.client.getContacts(this.module._id, { skip, limit: LOOKUP_PAGE_SIZE, fields: [prop] });
      let fresh = 0;
      for (const c of page) {
        if (!c || typeof c._id !== 'string' || seen.has(c._id)) continue;
        seen.add(c._id);
        fresh++;
        const k = keyDigits(valueOf(c.properties?.[prop]));
        const hit = k ? wanted.get(k) : undefined;
        if (!hit) continue;
        // Pages come in creation order: the first holder is the oldest.
        for (const i of hit) found.set(i, c._id);
        wanted.delete(k);
      }
      // A short page is the last; a page of nothing new means the server ignores `skip`.
      if (page.length < LOOKUP_PAGE_SIZE || fresh === 0) break;
    }
    return found;
  }

  /** The property key the key column is uploaded under (ensureProperties may have renamed it). */
  private keyProperty(): string {
    const from = this.keyColumn?.from;
    const col = this.cols.find((c) => 'canonical' in c.from && from && 'canonical' in from && c.from.canonical === from.canonical);
    return col?.key ?? this.keyColumn?.key ?? 'phoneNumber';
  }

  async open(): Promise<void> {
    const { ctx } = this;
    const config = samespaceConfig(ctx.env);
    const opts = ctx.mapping.targets.samespace;
    this.cols = columnPlan(ctx.mapping);
    this.chunkSize = ctx.options.batchSize ?? opts?.chunkSize ?? DEFAULT_CHUNK_SIZE;
    this.concurrency = ctx.options.concurrency ?? opts?.concurrency ?? 1;
    if (!Number.isInteger(this.chunkSize) || this.chunkSize < 1) throw new ImportError('USAGE', `the Samespace chunk size must be a whole number of rows ≥ 1, got ${this.chunkSize}`);
    if (!Number.isInteger(this.concurrency) || this.concurrency < 1) throw new ImportError('USAGE', `the Samespace concurrency must be a whole number ≥ 1, got ${this.concurrency}`);
    this.limit = pLimit(this.concurrency);
    this.client = new SamespaceClient(ctx.http, config);

    let props: SamespaceProperty[];
    try {
      this.module = resolveModule(await this.client.getModules(), opts?.module ?? 'Contacts');
      props = await this.client.getAllProperties(this.module._id);
    } catch (e) {
      throw asOpenError(e);
    }
    ctx.log.info('samespace.module', `Samespace module "${this.module.name}" (${this.module._id}): ${props.length} properties`);
    await this.ensureProperties(props);
    this.requiredFields = requiredFieldsFor(this.cols, props);
    const unfed = unfedRequired(this.cols, props);
    if (unfed.length) {
      ctx.note(`Samespace module "${this.module.name}" requires ${unfed.map((p) => `"${p.key}" (${p.label ?? p.key})`).join(', ')}, ` +
        'which the mapping does not feed; Samespace may refuse every row');
    }

    this.chunkDir = path.join(ctx.outDir, 'samespace');
    await mkdir(this.chunkDir, { recursive: true });
  }

  async write(record: ContactRecord): Promise<void> {
    await this.stopIfNeeded(true);
    const { row, notes } = samespaceRecord(record.contact, this.cols);
    this.buffer.push({ record, row, notes });
    if (this.buffer.length >= this.chunkSize) await this.flush();
  }

  async close(): Promise<void> {
    if (this.buffer.length && this.fatal === undefined && !this.ctx.signal.aborted) await this.flush();
    await this.drain();
    this.throwIfStopped(false);
  }

  private async ensureProperties(props: SamespaceProperty[]): Promise<void> {
    const { ctx } = this;
    const opts = ctx.mapping.targets.samespace;
    const missing = this.cols.filter((c) => !props.some((p) => p.key === c.key));
    if (!missing.length) return;
    if (ctx.options.flags.createMissingProperties !== true) {
      throw missingPropertyError(missing, props, this.module.name, opts?.properties);
    }
    for (const col of missing) {
      const type = opts?.propertyTypes?.[col.key] ?? 'TEXT';
      const label = humanize(col.key);
      if (ctx.options.dryRun) {
        ctx.note(`dry run: would create Samespace property "${col.key}" (label "${label}", type ${type}) in module "${this.module.name}"`);
        continue;
      }
      let created: SamespaceProperty;
      try {
        created = await this.client.createProperty(this.module._id, { label, type, valueType: valueTypeFor(type) });
      } catch (e) {
        throw asOpenError(e);
      }
      ctx.note(`created Samespace property "${created.key}" (label "${label}", type ${type}) in module "${this.module.name}"`);
      if (created.key !== col.key) {
        // Samespace derives a new property's key from its label; upload under the key it chose.
        ctx.note(`Samespace gave the new property the key "${created.key}", not "${col.key}"; the upload uses "${created.key}"`);
        this.cols = this.cols.map((c) => (c === col ? { ...c, key: created.key } : c));
      }
    }
  }

  /**
   * Closes the current chunk: writes its file and schedules it. It waits only while
   * `concurrency` chunks are already in flight, so the next chunk fills while this one
   * is sent, and at most concurrency + 1 chunks are held in memory.
   */
  private async flush(): Promise<void> {
    const rows = this.buffer;
    this.buffer = [];
    while (this.inflight.size >= this.concurrency && this.fatal === undefined) await Promise.race(this.inflight);
    await this.stopIfNeeded(false);
    const no = ++this.chunkNo;
    const filename = `chunk-${String(no).padStart(4, '0')}.csv`;
    const csv = Buffer.from(Papa.unparse({ fields: this.cols.map((c) => c.key), data: rows.map((r) => r.row) }, { newline: '\r\n' }), 'utf8');
    await writeFile(path.join(this.chunkDir, filename), csv);
    const task: Promise<void> = this.limit(() => this.runChunk(no, filename, csv, rows)).finally(() => this.inflight.delete(task));
    this.inflight.add(task);
  }

  /** Never rejects: row failures are settled; what must stop the run is kept in `fatal`. */
  private async runChunk(no: number, filename: string, csv: Buffer, rows: Pending[]): Promise<void> {
    const { ctx } = this;
    if (this.fatal !== undefined) return;
    if (ctx.signal.aborted) { this.interrupted = true; return; }
    if (ctx.options.dryRun) {
      for (const r of rows) this.settle(r, { status: 'success', action: 'would-import' });
      return;
    }
    try {
      const upload = await this.client.uploadCsv(filename, csv);
      const fileColumns = this.alignColumns(no, upload);
      if (!fileColumns) return this.failRows(rows, 'TARGET_REJECTED', `chunk ${no}: the upload answered columns ${JSON.stringify(upload.columns)}, not the columns sent ${JSON.stringify(this.cols.map((c) => c.key))}; nothing was imported`);
      ctx.log.debug('samespace.upload', `chunk ${no}: uploaded ${rows.length} rows as ${upload.fileUuid}`);
      const answer = await this.client.importContacts(upload.fileUuid, mapAttributes(this.cols, fileColumns), this.module._id);
      const { outcomes, notes } = reconcile({ chunk: no, keys: this.cols.map((c) => c.key), fileColumns, rows: rows.map((r) => r.row), answer });
      for (const n of notes) ctx.note(n);
      rows.forEach((r, i) => this.settle(r, outcomes[i]));
      ctx.log.info('samespace.chunk', `chunk ${no}: ${answer.success} imported, ${answer.merged} merged, ${answer.failed.length} failed of ${rows.length}`);
    } catch (e) {
      if (e instanceof SamespaceFailure) {
        const code = e.kind === 'transient' ? 'RETRIES_EXHAUSTED' : 'TARGET_REJECTED';
        ctx.log.warn('samespace.chunk', `chunk ${no} failed: ${e.message}`);
        return this.failRows(rows, code, `chunk ${no}: ${e.message}`);
      }
      this.fatal ??= e;
    }
  }

  /** The answered column name for each planned column (matched without case), or undefined if they differ. */
  private alignColumns(no: number, upload: UploadAnswer): string[] | undefined {
    const byLower = new Map(upload.columns.map((c) => [c.trim().toLowerCase(), c]));
    if (byLower.size !== this.cols.length || upload.columns.length !== this.cols.length) return undefined;
    const aligned = this.cols.map((c) => byLower.get(c.key.toLowerCase()));
    if (aligned.some((c) => c === undefined)) return undefined;
    this.ctx.log.debug('samespace.columns', `chunk ${no}: columns ${JSON.stringify(upload.columns)}`);
    return aligned as string[];
  }

  private failRows(rows: Pending[], code: 'TARGET_REJECTED' | 'RETRIES_EXHAUSTED', error: string): void {
    for (const r of rows) this.settle(r, { status: 'failed', code, error });
  }

  private settle(p: Pending, outcome: LoadOutcome): void {
    const notes = [...p.notes, ...(outcome.notes ?? [])];
    const { notes: _, ...rest } = outcome;
    this.ctx.settle(p.record, notes.length ? { ...rest, notes } : rest);
  }

  private async drain(): Promise<void> {
    while (this.inflight.size) await Promise.allSettled([...this.inflight]);
  }

  /** After a fatal error or an interruption: let the chunks in flight finish, then stop the run. */
  private async stopIfNeeded(taking: boolean): Promise<void> {
    if (this.fatal === undefined && !this.interrupted && !this.ctx.signal.aborted) return;
    await this.drain();
    this.throwIfStopped(taking);
  }

  /** `taking`: a contact is being handed to us, which an interrupted run must refuse. */
  private throwIfStopped(taking: boolean): void {
    if (this.fatal !== undefined) throw this.fatal;
    if (this.interrupted || (this.ctx.signal.aborted && (taking || this.buffer.length))) {
      throw new ImportError('INTERRUPTED', 'the Samespace import was stopped; chunks already sent were reconciled, the rest were not sent');
    }
  }
}

/** A phone as digits, for comparing what we sent with what Samespace stores ("+1 415-555…"). */
function keyDigits(v: string): string {
  const d = v.replace(/\D/g, '');
  return d.length >= 5 ? d : '';
}

/** During open(), what cannot be answered aborts the run. */
function asOpenError(e: unknown): unknown {
  if (isImportError(e) || !(e instanceof SamespaceFailure)) return e;
  if (e.kind === 'transient') return new ImportError('TARGET_UNREACHABLE', `Samespace did not answer ${e.operation}: ${e.message}`);
  return new ImportError('TARGET_PROTOCOL', e.message);
}
