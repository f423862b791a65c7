/**
 * Runs the per-row stages (map -> normalize -> validate, see rows.ts) on worker threads,
 * so that the main thread mostly reads the file, dedupes and writes. Phone parsing costs
 * ≈ 20 µs a number and dominates the pipeline; it parallelizes perfectly.
 *
 * Order: `ahead()` yields one PendingBatch per source batch, in file order, each holding
 * the promise of its outcomes; the consumer awaits them one after the other, so records
 * and failures leave in exactly the order the in-thread code gives.
 *
 * Back-pressure: a batch is handed to a worker only when some worker has fewer than
 * `maxPerWorker` batches in flight; until then `ahead()` stops pulling from the source,
 * or, with `help`, processes the batch in this thread and pulls the next. Beyond those,
 * only the stream buffers between the stages hold batches, as they hold raw batches
 * without workers.
 *
 * Start-up: a worker takes tens of milliseconds to start and load the phone metadata,
 * so the first `startAfterRows` rows are processed in the main thread and small files
 * (samples, a check of a few rows) never start a thread.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { bugAt, ImportError } from '../errors.js';
import type { Mapping } from '../mapping/schema.js';
import type { SourceRow } from '../sources/types.js';
import { firstThrowing, type BatchOutcomes, type BatchProcessor } from './rows.js';
import type { KeySpec } from './dedupe-entry.js';

/** What every worker receives once (workerData). */
export interface RowPoolInit {
  mapping: Mapping;
  /** Per input file (by RowRef.file index): its display path, header names, and whether its cells are free of NUL (cellsFreeOfNul). */
  files: { file: string; headers: string[]; nulFree?: boolean }[];
  mappingFile?: string;
  /** The run dedupes: valid rows come back encoded as dedupe entries (rows.ts EncodedOutcomes). */
  encode?: KeySpec;
}
export interface RowPoolRequest { id: number; file: number; rows: string[][]; rowNos: number[] }
export type RowPoolResponse =
  | { id: number; outcomes: BatchOutcomes; error?: undefined }
  | { id: number; outcomes?: undefined; error: { message: string; stack?: string; index?: number } };

/** One source batch on its way through the pool. */
export interface PendingBatch {
  file: number;
  rows: SourceRow[];
  /**
   * Outcomes of the rows without a read error, in order: from a worker, or already computed
   * here (`help`), in a Handoff that outcomesOf's caller takes; absent when the batch is to be
   * processed in-thread (before the workers start).
   */
  outcomes?: Promise<Handoff<BatchOutcomes>>;
  // In a run that dedupes, the rows of a batch sent to a worker keep their numbers and read
  // errors but not their cells (see ahead()): the outcomes bring back those of failed rows.
}

export const WORKERS_ENV = 'CONTACT_IMPORT_WORKERS';
/** The cells of a row sent to a worker of a run that dedupes (see ahead()). */
const SENT: string[] = Object.freeze([]) as unknown as string[];
const MAX_WORKERS = 64;

/**
 * Worker threads for a run: CONTACT_IMPORT_WORKERS when set; else, for a run that dedupes,
 * one when the machine has a second core, and none for a run that does not. Measured on
 * the bench's 1M-row file (issue #11, 2 cores):
 * - when workers sent contacts back as objects, the structured clone cost the main thread
 *   more (≈ 17 µs a row) than the row stages did: in-thread was faster (52.8 s vs 56.2 s);
 * - since a run that dedupes gets its rows back as dedupe entries in transferred memory
 *   (rows.ts EncodedOutcomes), one worker ran 43.8 s against 51.8 s in-thread back to back
 *   (4-13% faster on a busier machine), at 244-253 MB peak RSS against 215-223 MB;
 * - two workers ran 38.8-39.4 s against 42.7-49.5 s with one, but at 292-305 MB, over the
 *   256 MB the issue allows at 1M rows: a choice left to the user. With source batches of
 *   250 rows (DEFAULT_BATCH_ROWS): 30.8-32.3 s at 260-264 MB against 33.6-35.1 s at 230 MB;
 *   in session 13, four alternating rounds, 23.1-25.1 s at 256-262 MB against 24.6-29.0 s at
 *   227-235 MB (the main thread's young generation alone is 32 MB then, and only node's
 *   command line can cap it);
 * - since the main thread processes batches itself when the worker is full (`help`, session
 *   14), one worker keeps both cores busy: two ran 22.2 and 23.1 s (reading 11.6 s) at 271-272
 *   MB against 22.5 and 20.7 s (reading 10.4-10.8 s) at 237-238 MB with one.
 * Without dedupe, contacts still come back as objects, so such a run stays in-thread unless asked.
 */
export function workerCount(env: NodeJS.ProcessEnv, run: { dedupes: boolean }): number {
  const raw = env[WORKERS_ENV];
  if (raw === undefined || raw.trim() === '') return run.dedupes && availableParallelism() > 1 ? 1 : 0;
  const t = raw.trim();
  if (!/^\d+$/.test(t) || Number(t) > MAX_WORKERS) {
    throw new ImportError('USAGE', `${WORKERS_ENV}: expected a whole number of worker threads from 0 (none) to ${MAX_WORKERS}, got ${JSON.stringify(raw)}`);
  }
  return Number(t);
}

/** A worker entry beside this module (`name` without extension): .js when built (dist/), .ts when run through tsx. */
export function workerEntryUrl(name: string): URL {
  const js = new URL(`./${name}.js`, import.meta.url);
  if (existsSync(fileURLToPath(js))) return js;
  return new URL(`./${name}.ts`, import.meta.url);
}

/** The row worker's entry. */
export function defaultWorkerUrl(): URL {
  return workerEntryUrl('row-worker');
}

export interface RowPoolOptions {
  init: RowPoolInit;
  /** The same batch function per file (made with init.encode), for the rows processed in-thread. */
  inline: BatchProcessor[];
  workers: number;
  /** Rows processed in-thread before the workers start (default 4,000): a small file never starts one. */
  startAfterRows?: number;
  /**
   * Batches a worker holds at once (default 8): one being processed, the others queued so it
   * never idles while the main thread is busy (a collection, a spill write, a batch of its
   * own with `help`). Source batches are small (DEFAULT_BATCH_ROWS), so eight of them are
   * ≈ 2,000 rows.
   */
  maxPerWorker?: number;
  /**
   * When every worker holds maxPerWorker batches, process the next batch in this thread
   * instead of waiting (run.ts sets it). The outcomes and their order are the same; the
   * thread that reads stops idling while the workers catch up (issue #11, see workerCount).
   */
  help?: boolean;
  /** Tests point this at a worker that misbehaves. */
  workerUrl?: URL;
}

interface Task { resolve(o: Handoff<BatchOutcomes>): void; reject(e: Error): void; file: number; rows: SourceRow[] }
interface Slot { worker: Worker; tasks: Map<number, Task>; exited: boolean }

export class RowPool {
  private readonly startAfter: number;
  private readonly maxPerWorker: number;
  private slots: Slot[] | undefined;
  private seen = 0;
  private nextId = 1;
  private broken: Error | undefined;
  private closing = false;
  private waiters: { resolve(): void; reject(e: Error): void }[] = [];
  /** For the tests: batches processed by workers, in-thread before they started, and in-thread while they were full. */
  readonly stats = { workers: 0, workerBatches: 0, inlineBatches: 0, helpedBatches: 0 };

  constructor(private readonly o: RowPoolOptions) {
    this.startAfter = o.startAfterRows ?? 4000;
    this.maxPerWorker = o.maxPerWorker ?? 8;
  }

  /**
   * The source's batches, each with its outcomes under way in a worker (or to be computed
   * in-thread by outcomesOf). Pulls the next source batch only when a worker can take it.
   */
  async *ahead(file: number, batches: AsyncIterable<SourceRow[]>): AsyncGenerator<PendingBatch> {
    for await (const rows of batches) {
      const useWorkers = this.o.workers > 0 && this.seen >= this.startAfter;
      this.seen += rows.length;
      if (!useWorkers) { yield { file, rows }; continue; }
      const { cells, rowNos } = readable(rows);
      if (!cells.length) { yield { file, rows }; continue; }
      if (this.o.help && !this.broken && !this.closing && !this.leastBusy()) {
        // Every worker already holds maxPerWorker batches: rather than wait for one, this
        // thread processes the batch now, while the workers go on with theirs.
        this.stats.helpedBatches++;
        yield { file, rows, outcomes: doneNow(() => new Handoff(this.inThread(file, cells, rowNos))) };
        continue;
      }
      await this.freeSlot();
      const outcomes = this.dispatch(file, rows, cells, rowNos);
      // Encoded outcomes bring back the cells of the rows that fail, which are all the main
      // thread still needs of them: the cells (cloned for the worker) become garbage now.
      if (this.o.init.encode) for (const r of rows) if (!r.error) r.values = SENT;
      yield { file, rows, outcomes };
    }
  }

  /** A batch's outcomes: from its worker (a Handoff: take() them), or computed here for a batch processed in-thread. */
  outcomesOf(b: PendingBatch): BatchOutcomes | Promise<Handoff<BatchOutcomes>> {
    if (b.outcomes) return b.outcomes;
    this.stats.inlineBatches++;
    const { cells, rowNos } = readable(b.rows);
    return this.inThread(b.file, cells, rowNos);
  }

  /**
   * A batch processed in this thread. A throw (a bug in map/normalize/validate) names the
   * file and row, as a worker's does: the rows are run again one by one to find it.
   */
  private inThread(file: number, cells: string[][], rowNos: number[]): BatchOutcomes {
    const process = this.o.inline[file];
    try {
      return process(cells, rowNos);
    } catch (e) {
      const err = e as Error;
      const at = firstThrowing(process, cells, rowNos);
      throw bugAt(`processing ${this.place(file, at === undefined ? undefined : rowNos[at])} failed: ${err?.message ?? String(e)}`, err?.stack, 'in this thread');
    }
  }

  /**
   * Starts the workers now instead of at the startAfterRows-th row, for an input that will
   * reach it: a worker takes 0.2-0.3 s to load and warm up, and started at that row it kept
   * the main thread waiting for its first answers (issue #11). The first rows are still
   * processed in this thread, while the workers start.
   */
  prestart(): void {
    if (this.o.workers > 0 && !this.closing) this.slots ??= this.start();
  }

  /** Stops every worker; batches still in flight fail (the run is over or failing). Idempotent. */
  async close(): Promise<void> {
    this.closing = true;
    const err = new Error('the row worker pool was closed before this batch was processed');
    for (const w of this.waiters.splice(0)) w.reject(err);
    const slots = this.slots ?? [];
    for (const s of slots) for (const t of s.tasks.values()) t.reject(err);
    for (const s of slots) s.tasks.clear();
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  private start(): Slot[] {
    const slots: Slot[] = [];
    const url = this.o.workerUrl ?? defaultWorkerUrl();
    for (let i = 0; i < this.o.workers; i++) {
      const worker = spawnWorker(url, this.o.init);
      const slot: Slot = { worker, tasks: new Map(), exited: false };
      worker.on('message', (res: RowPoolResponse) => this.onResponse(slot, res));
      worker.on('error', (e) => this.fail(slot, `a row worker thread failed: ${e?.message ?? String(e)}`, e));
      worker.on('exit', (code) => {
        slot.exited = true;
        if (!this.closing) this.fail(slot, `a row worker thread exited unexpectedly (exit code ${code})`);
      });
      // Idle workers must not keep the process alive: ref'd only while they hold a batch.
      // After the listeners: adding a 'message' listener refs the worker's port again.
      worker.unref();
      slots.push(slot);
    }
    this.stats.workers = slots.length;
    return slots;
  }

  private leastBusy(): Slot | undefined {
    this.slots ??= this.start();
    let best: Slot | undefined;
    for (const s of this.slots) if (!s.exited && (!best || s.tasks.size < best.tasks.size)) best = s;
    return best && best.tasks.size < this.maxPerWorker ? best : undefined;
  }

  private freeSlot(): Promise<void> {
    if (this.broken) return Promise.reject(this.broken);
    if (this.closing) return Promise.reject(new Error('the row worker pool is closed'));
    if (this.leastBusy()) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  private dispatch(file: number, rows: SourceRow[], cells: string[][], rowNos: number[]): Promise<Handoff<BatchOutcomes>> {
    const slot = this.leastBusy();
    if (!slot) throw new Error('row pool: no free worker after waiting for one');
    const id = this.nextId++;
    const p = new Promise<Handoff<BatchOutcomes>>((resolve, reject) => slot.tasks.set(id, { resolve, reject, file, rows }));
    // The consumer may stop before awaiting it (the run failed elsewhere): not an unhandled rejection.
    p.catch(() => {});
    if (slot.tasks.size === 1) slot.worker.ref();
    this.stats.workerBatches++;
    const req: RowPoolRequest = { id, file, rows: cells, rowNos };
    slot.worker.postMessage(req);
    return p;
  }

  /** Where a bug was met, for its message: the input file's row, or its batch when no single row throws. */
  private place(file: number, rowNo: number | undefined): string {
    const name = this.o.init.files[file].file;
    return rowNo === undefined ? `a batch of ${name}` : `${name} row ${rowNo}`;
  }

  private onResponse(slot: Slot, res: RowPoolResponse) {
    const task = slot.tasks.get(res.id);
    if (!task) return;
    slot.tasks.delete(res.id);
    if (!slot.tasks.size) slot.worker.unref();
    if (res.error) {
      const i = res.error.index;
      const e = bugAt(`the row worker failed on ${this.place(task.file, i === undefined ? undefined : rowOf(task.rows, i))}: ${res.error.message}`,
        res.error.stack, 'in the row worker');
      task.reject(e);
      this.broken ??= e;
    } else {
      task.resolve(new Handoff(res.outcomes));
    }
    this.wake();
  }

  private fail(slot: Slot, message: string, cause?: Error) {
    const n = slot.tasks.size;
    // A prestarted worker can fail before it was sent any batch.
    const lost = n ? `; ${n} batch${n === 1 ? '' : 'es'} of rows ${n === 1 ? 'was' : 'were'} not processed` : '';
    const e = bugAt(`${message}${lost}, so the run stops`,
      cause?.stack, 'in the row worker');
    this.broken ??= e;
    for (const t of slot.tasks.values()) t.reject(e);
    slot.tasks.clear();
    slot.exited = true;
    for (const w of this.waiters.splice(0)) w.reject(this.broken);
  }

  private wake() {
    while (this.waiters.length && this.leastBusy()) this.waiters.shift()!.resolve();
  }
}

/**
 * A worker running `url`. From the TypeScript sources (tests, `node --import tsx`), the
 * thread does not inherit tsx's loader on Node 20, so it registers it before importing
 * the entry; the built code (dist/) starts the .js entry directly.
 */
export function spawnWorker(url: URL, init: unknown): Worker {
  // The worker's young generation (issue #11, bench's 1M-row file). With batches of 2,000 rows
  // 12 MB ran as fast as 16 MB (44.8 s vs 44.1 s) for 22 MB less peak RSS, and 8 MB spent a
  // quarter of the worker's time collecting. Since batches are 250 rows (DEFAULT_BATCH_ROWS)
  // little survives a collection, and fewer collections pay: 24 MB against 12, six alternating
  // rounds, faster in all six (23.7-30.1 s against 25.1-31.1 s), the worker's collections
  // 205-240 ms against 275-361 ms per 200k rows, peak RSS 237-242 MB against 224-232 MB
  // (5M rows: 436 MB). 32 MB reached 252-258 MB.
  const options = { workerData: init, resourceLimits: { maxYoungGenerationSizeMb: 24 } };
  if (!url.pathname.endsWith('.ts')) return new Worker(url, options);
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(url.href)}); })`;
  return new Worker(boot, { ...options, eval: true });
}

/**
 * A worker's answer, handed to the one consumer that takes it, once. A promise that waits for
 * a worker outlives young-generation collections and moves to the old generation; resolved
 * with the answer (new, in the young generation), it keeps the answer alive after its consumer
 * is done with it, through every young collection until the next full one, and with it all the
 * answer holds, and those survivors are promoted in turn (the collector's "nepotism"). A
 * promise resolved with a box that its consumer empties holds nothing young: on the bench's
 * 1M-row file the main thread kept 0.80-0.89 MB per young collection while reading, against
 * 0.96-1.06 MB, and promoted 0.22-0.28 MB against 0.30-0.37 MB (issue #11).
 */
export class Handoff<T> {
  constructor(private value: T | undefined) {}

  take(): T {
    const v = this.value;
    if (v === undefined) throw new Error('internal error: a worker\'s answer was taken twice');
    this.value = undefined;
    return v;
  }
}

/**
 * Work done now, as the promise a worker's answer would be: a throw rejects it. The consumer
 * may stop before awaiting it (the run failed elsewhere), so a rejection is not unhandled.
 */
export function doneNow<T>(work: () => T): Promise<T> {
  let p: Promise<T>;
  try { p = Promise.resolve(work()); } catch (e) { p = Promise.reject(e as Error); }
  p.catch(() => {});
  return p;
}

/** The cells and row numbers of the rows without a read error: what the per-row stages get. */
function readable(rows: SourceRow[]): { cells: string[][]; rowNos: number[] } {
  const cells: string[][] = [];
  const rowNos: number[] = [];
  for (const r of rows) if (!r.error) { cells.push(r.values); rowNos.push(r.row); }
  return { cells, rowNos };
}

/** Row number of the index-th row without a read error (the rows sent to the worker). */
function rowOf(rows: SourceRow[], index: number): number {
  let k = 0;
  for (const r of rows) {
    if (r.error) continue;
    if (k++ === index) return r.row;
  }
  return NaN;
}
