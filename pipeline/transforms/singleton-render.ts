/**
 * The second phase of a run that dedupes into the file target, spread over two threads
 * (issue #11). After the last row is read, most contacts merged with nothing (about 80% of
 * the bench's rows): what the run writes for such a contact, its four payload lines and its
 * success.csv row, depends on that contact alone. A worker renders them straight from the
 * dedupe spill (it reads the file itself, so the contact is parsed on one side only) into
 * UTF-8 bytes in transferred memory. It also merges the chunk's clusters (reading their rows
 * from the spill, mergeClusters) and hands back the surviving records as plain data; the
 * main thread writes both, in the order of the results.
 *
 * Same bytes either way: the worker calls the functions the file target and the report
 * call (renderFileContact, successFields, successLine) and dedupe's own mergeCluster. When
 * the worker already holds `maxPending` chunks the main thread renders and merges the next
 * chunk itself with the same functions (as the row pool's `help`), so neither thread waits
 * for the other for long.
 */
import type { Worker } from 'node:worker_threads';
import { bugAt } from '../errors.js';
import { doneNow, spawnWorker, workerEntryUrl } from './row-pool.js';
import { decodePayload, toPortable, type PortableRecord } from './dedupe-entry.js';
import { mergeCluster, type RawCluster } from './dedupe.js';
import type { MergeOptions } from './merge.js';
import { FILE_PART, renderFileContact, writtenOutcome, type FileRenderPlan } from '../loaders/file/render.js';
import { successFields, successLine } from '../report/writer.js';

/** What the worker receives once (workerData): plain data. */
export interface SingletonRenderInit {
  /** The dedupe spill (records.bin), complete on disk. */
  spillPath: string;
  plan: FileRenderPlan;
  /** With several inputs, each input's _file cell and its comma (success.csv); else undefined. */
  fileCell?: string[];
  /** Each input's display path, to name the row of a contact whose rendering throws (a bug). */
  files: string[];
  /** The mapping's survivorship rules, for the clusters merged here. */
  merge: MergeOptions;
}

/**
 * The clusters of a chunk, to merge (dedupe's RawClusters, flattened into transferable
 * arrays): per cluster, how many records are read and how many of them are members; per
 * record read, where its entry is in the spill and, for a member after the first, which
 * record's key joined it (its position among the cluster's records, -1: unknown) and which key.
 */
export interface ClusterPlan {
  sizes: Int32Array;
  members: Int32Array;
  via: Int32Array;
  codes: Int32Array;
  starts: Float64Array;
  ends: Float64Array;
}

/** dedupe's clusters as a plan for the renderer; `ranges` says where records' entries are in the spill. */
export function clusterPlan(clusters: readonly RawCluster[], ranges: (ids: readonly number[]) => { starts: Float64Array; ends: Float64Array }): ChunkClusters {
  let total = 0;
  for (const c of clusters) total += c.ids.length;
  const ids: number[] = new Array(total);
  const plan = { sizes: new Int32Array(clusters.length), members: new Int32Array(clusters.length), via: new Int32Array(total), codes: new Int32Array(total) };
  let f = 0;
  for (let i = 0; i < clusters.length; i++) {
    const c = clusters[i];
    plan.sizes[i] = c.ids.length;
    plan.members[i] = c.members;
    // Only the members' entries are read: those of the other records stay 0.
    plan.via.set(c.via, f);
    plan.codes.set(c.codes, f);
    for (let k = 0; k < c.ids.length; k++) ids[f + k] = c.ids[k];
    f += c.ids.length;
  }
  return { plan: { ...plan, ...ranges(ids) }, ids };
}

/** The surviving records of a plan's clusters, record `f` of the flattened list read by `payloadOf(f)`. */
export function mergeClusters(plan: ClusterPlan, payloadOf: (f: number) => string, init: Pick<SingletonRenderInit, 'merge' | 'files'>): PortableRecord[] {
  const out = new Array<PortableRecord>(plan.sizes.length);
  let f = 0;
  for (let c = 0; c < plan.sizes.length; c++) {
    const n = plan.sizes[c];
    const payloads = new Array<string>(n);
    for (let k = 0; k < n; k++) payloads[k] = payloadOf(f + k);
    try {
      out[c] = toPortable(mergeCluster(payloads, plan.members[c], plan.via.subarray(f, f + n), plan.codes.subarray(f, f + n), init.merge));
    } catch (e) {
      // A bug: the run stops on it, naming the cluster's first row.
      const err = e as Error;
      let where = '';
      try { const ref = decodePayload(payloads[0]).ref; where = ` of ${init.files[ref.file]} row ${ref.row}`; } catch { /* the message says what it can */ }
      throw bugAt(`merging the duplicates${where} failed: ${err?.message ?? String(e)}`, err?.stack);
    }
    f += n;
  }
  return out;
}

/** Parts rendered per contact, in this order: the payloads as the file loader takes them, then success.csv's row. */
export const SEG = { ...FILE_PART, success: 4 } as const;
export const SEGMENTS = Object.keys(SEG).length;

/**
 * A chunk of contacts, rendered: their bytes back to back, and per contact SEGMENTS sizes
 * (spoke JSON without a line end; the Samespace row, Genesys and Talkdesk lines and the
 * success.csv row with theirs), each the byte length + 1, or 0 where the contact has none.
 */
export interface RenderedChunk {
  bytes: Uint8Array;
  sizes: Uint32Array;
  /** Each contact's owner (its Spoke phonebook). */
  owners: string[];
  /** The surviving records of the chunk's clusters, in order, when it had any (mergeClusters). */
  merged?: PortableRecord[];
}

/**
 * Renders `count` contacts, the k-th from its spill payload `payloadOf(k)` (dedupe-entry.ts).
 * A contact here merged with nothing: its record has no merged rows and no conflicts.
 */
export function renderChunk(count: number, payloadOf: (k: number) => string, init: Omit<SingletonRenderInit, 'spillPath'>,
  clusters?: { plan: ClusterPlan; payloadOf: (f: number) => string }): RenderedChunk {
  const sizes = new Uint32Array(count * SEGMENTS);
  const owners = new Array<string>(count);
  let buf = Buffer.allocUnsafe(Math.max(64 * 1024, count * 2048));
  let used = 0;
  const put = (s: string | undefined, end: string, at: number) => {
    if (s === undefined) return;
    const text = end ? s + end : s;
    // A UTF-16 code unit is at most 3 UTF-8 bytes.
    if (used + text.length * 3 > buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(buf.length * 2, used + text.length * 3));
      buf.copy(bigger, 0, 0, used);
      buf = bigger;
    }
    const n = buf.write(text, used);
    used += n;
    sizes[at] = n + 1;
  };
  for (let k = 0; k < count; k++) {
    const rec = decodePayload(payloadOf(k));
    try {
      const r = renderFileContact(rec.contact, init.plan);
      const o = writtenOutcome(rec.contact.id, r.notes);
      owners[k] = r.owner;
      const at = k * SEGMENTS;
      put(r.spoke, '', at + SEG.spoke);
      put(r.samespace, '\r\n', at + SEG.samespace);
      put(r.genesys, '\n', at + SEG.genesys);
      put(r.talkdesk, '\n', at + SEG.talkdesk);
      put(successLine(rec, o, successFields(rec, o, undefined), init.fileCell), '\r\n', at + SEG.success);
    } catch (e) {
      // A bug: the run stops on it, naming the contact's row, as a row worker's failure does.
      const err = e as Error;
      throw bugAt(`writing the contact of ${init.files[rec.ref.file]} row ${rec.ref.row} failed: ${err?.message ?? String(e)}`, err?.stack);
    }
  }
  // A copy the size of the bytes: the spare room is not kept alive while the chunk waits.
  const chunk: RenderedChunk = { bytes: Uint8Array.prototype.slice.call(buf, 0, used) as Uint8Array, sizes, owners };
  if (clusters) chunk.merged = mergeClusters(clusters.plan, clusters.payloadOf, init);
  return chunk;
}

export interface RenderRequest { id: number; starts: Float64Array; ends: Float64Array; clusters?: ClusterPlan }
export type RenderResponse = { id: number; chunk: RenderedChunk; error?: undefined } | { id: number; chunk?: undefined; error: { message: string; stack?: string } };

export interface SingletonRendererOptions {
  init: SingletonRenderInit;
  /** The main thread's way to the same payloads (Spill.read), for the chunks it renders itself: in ascending order, and `aside` for a cluster's records. */
  payloadOf: (id: number, aside?: boolean) => string;
  /** Chunks the worker holds before the main thread renders the next itself (default 4). */
  maxPending?: number;
  /** Tests point this at a worker that misbehaves. */
  workerUrl?: URL;
  /** The worker thread stopped (it exited or crashed): from then on this thread renders every chunk. */
  onWorkerLost?: (message: string) => void;
}

/** A chunk's clusters as the main thread holds them: the plan, and the spill records it reads (flattened). */
export interface ChunkClusters { plan: ClusterPlan; ids: readonly number[] }

interface Task { ids: readonly number[]; clusters?: ChunkClusters; resolve(c: RenderedChunk): void; reject(e: Error): void }

export class SingletonRenderer {
  private readonly worker: Worker;
  private readonly tasks = new Map<number, Task>();
  private nextId = 1;
  private broken: Error | undefined;
  /** Why the worker is gone, once it is. */
  private lost: string | undefined;
  private closed = false;
  /** For the tests: chunks rendered by the worker and by the main thread. */
  readonly stats = { workerChunks: 0, helpedChunks: 0 };

  constructor(private readonly o: SingletonRendererOptions) {
    this.worker = spawnWorker(o.workerUrl ?? workerEntryUrl('singleton-worker'), o.init);
    this.worker.on('message', (res: RenderResponse) => this.onResponse(res));
    this.worker.on('error', (e) => this.lose(`the payload worker thread failed: ${e?.message ?? String(e)}`));
    this.worker.on('exit', (code) => { if (!this.closed) this.lose(`the payload worker thread exited unexpectedly (exit code ${code})`); });
    this.worker.unref();
  }

  /**
   * The contacts of spill records `ids` (entries at [starts[k], ends[k]) of the file),
   * rendered: by the worker, or here when it is busy or gone. A chunk the worker answered with
   * an error (a bug) fails, and so does every later one.
   */
  render(ids: readonly number[], starts: Float64Array, ends: Float64Array, clusters?: ChunkClusters): Promise<RenderedChunk> {
    if (this.broken) { const e = this.broken; return doneNow(() => { throw e; }); }
    if (this.lost || this.tasks.size >= (this.o.maxPending ?? 4)) {
      this.stats.helpedChunks++;
      return this.here(ids, clusters);
    }
    const id = this.nextId++;
    const p = new Promise<RenderedChunk>((resolve, reject) => this.tasks.set(id, { ids, clusters, resolve, reject }));
    p.catch(() => {}); // the run may stop before awaiting it: not an unhandled rejection
    if (this.tasks.size === 1) this.worker.ref();
    this.stats.workerChunks++;
    const req: RenderRequest = { id, starts, ends, clusters: clusters?.plan };
    const transfer = [starts.buffer as ArrayBuffer, ends.buffer as ArrayBuffer];
    // The plan is sent as a copy: the main thread keeps its arrays in case it renders the chunk itself.
    this.worker.postMessage(req, transfer);
    return p;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const err = new Error('the payload worker was closed before this chunk was rendered');
    for (const t of this.tasks.values()) t.reject(err);
    this.tasks.clear();
    await this.worker.terminate();
  }

  private onResponse(res: RenderResponse) {
    const task = this.tasks.get(res.id);
    if (!task) return;
    this.tasks.delete(res.id);
    if (!this.tasks.size) this.worker.unref();
    if (res.error) {
      const e = bugAt(`the payload worker failed: ${res.error.message}`, res.error.stack, 'in the payload worker');
      this.broken ??= e;
      task.reject(e);
    } else {
      task.resolve(res.chunk);
    }
  }

  /** A chunk rendered in this thread, as the promise the worker's answer would be. */
  private here(ids: readonly number[], clusters?: ChunkClusters): Promise<RenderedChunk> {
    return doneNow(() => renderChunk(ids.length, (k) => this.o.payloadOf(ids[k]), this.o.init,
      clusters && { plan: clusters.plan, payloadOf: (f) => this.o.payloadOf(clusters.ids[f], true) }));
  }

  /**
   * The worker stopped (killed for its memory, a crash): the chunks it held are rendered here,
   * in order, and so is every later one. The run goes on; the caller is told once.
   */
  private lose(message: string) {
    if (this.lost) return;
    this.lost = message;
    this.o.onWorkerLost?.(message);
    const tasks = [...this.tasks.values()];
    this.tasks.clear();
    for (const t of tasks) {
      this.stats.helpedChunks++;
      this.here(t.ids, t.clusters).then(t.resolve, t.reject);
    }
  }
}
