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
import type { ContactRecord } from '../../contact.js';
import { ImportError, isImportError } from '../../errors.js';
import type { Loader, LoaderContext, LoadOutcome } from '../types.js';
import {
  SamespaceClient, SamespaceFailure, samespaceConfig, type SamespaceModule, type SamespaceProperty, type UploadAnswer,
} from './client.js';
import { mapAttributes, samespaceRecord, type PropertyColumn } from './payload.js';
import { columnPlan, humanize, missingPropertyError, requiredFieldsFor, resolveModule, unfedRequired, valueTypeFor } from './plan.js';
import { reconcile } from './reconcile.js';

export const DEFAULT_CHUNK_SIZE = 5000;

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

  constructor(private readonly ctx: LoaderContext) {}

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

/** During open(), what cannot be answered aborts the run. */
function asOpenError(e: unknown): unknown {
  if (isImportError(e) || !(e instanceof SamespaceFailure)) return e;
  if (e.kind === 'transient') return new ImportError('TARGET_UNREACHABLE', `Samespace did not answer ${e.operation}: ${e.message}`);
  return new ImportError('TARGET_PROTOCOL', e.message);
}
