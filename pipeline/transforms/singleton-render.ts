/**
 * The second phase of a run that dedupes into the file target, spread over two threads
 * (issue #11). After the last row is read, dedupe hands out its results: most contacts merged
 * with nothing (about 80% of the bench's rows), the rest are clusters of duplicates. What the
 * run writes for either depends on that contact or cluster alone, so a worker renders it
 * straight from the dedupe spill (it reads the file itself, so the records are parsed on one
 * side only) into UTF-8 bytes in transferred memory:
 *   - a contact that merged with nothing: its four payload lines and its success.csv row;
 *   - a cluster: its rows merged (dedupe's own mergeCluster), then the same parts for the
 *     surviving contact, and what the report writes for the rows merged into it: their
 *     merged.csv lines, their rows in report.html's merged table (as many as the page still
 *     embeds, claimed by the main thread when it hands the chunk out) and the contact's row in
 *     the page's "kept" table, its conflicts and its rows' key names.
 * The main thread writes it all, in the order of the results.
 *
 * Same bytes either way: the worker calls the functions the file target and the report call
 * (renderFileContact, successFields, successLine, RowLayout) and dedupe's own mergeCluster.
 * When the worker already holds `maxPending` chunks the main thread renders the next chunk
 * itself with the same ChunkRenderer (as the row pool's `help`), so neither thread waits for
 * the other for long.
 */
import type { Worker } from 'node:worker_threads';
import { bugAt } from '../errors.js';
import { doneNow, Handoff, spawnWorker, workerEntryUrl } from './row-pool.js';
import { decodePayload } from './dedupe-entry.js';
import { mergeCluster, type RawCluster } from './dedupe.js';
import type { ContactRecord } from '../contact.js';
import type { MergeOptions } from './merge.js';
import { FILE_PART, renderFileContact, writtenOutcome, type FileRenderPlan } from '../loaders/file/render.js';
import { CUT, MERGE_PART, successFields, successLine, type ConflictExample, type RenderedMerges } from '../report/writer.js';
import { keyName, RowLayout, type ReportInput } from '../report/row-layout.js';
import { pageRowJson } from '../report/html-rows.js';
import { ByteBuilder } from '../bytes.js';

/** What the worker receives once (workerData): plain data. */
export interface SingletonRenderInit {
  /** The dedupe spill (records.bin), complete on disk. */
  spillPath: string;
  plan: FileRenderPlan;
  /** The report's inputs, display paths and headers: where a merged row's cells go (RowLayout). */
  report: ReportInput;
  /** report.html's longest cell (ReportWriter.pageCellChars). */
  pageCellChars: number;
  /** The mapping's survivorship rules, for the clusters merged here. */
  merge: MergeOptions;
}

/**
 * The clusters of a chunk, to merge (dedupe's RawClusters, flattened into transferable
 * arrays): per cluster, how many records are read, how many of them are members and how many
 * of its merged rows report.html embeds; per record read, where its entry is in the spill and,
 * for a member after the first, which record's key joined it (its position among the
 * cluster's records, -1: unknown) and which key.
 */
export interface ClusterPlan {
  sizes: Int32Array;
  members: Int32Array;
  embed: Int32Array;
  via: Int32Array;
  codes: Int32Array;
  starts: Float64Array;
  ends: Float64Array;
}

/**
 * dedupe's clusters as a plan for the renderer; `ranges` says where records' entries are in
 * the spill, `claim(n)` how many of a cluster's n merged rows report.html embeds
 * (ReportWriter.claimMergedPageRows: the chunks are written in the order they are planned).
 */
export function clusterPlan(clusters: readonly RawCluster[], ranges: (ids: readonly number[]) => { starts: Float64Array; ends: Float64Array },
  claim: (merged: number) => number): ChunkClusters {
  let total = 0;
  for (const c of clusters) total += c.ids.length;
  const ids: number[] = new Array(total);
  const n = clusters.length;
  const plan = { sizes: new Int32Array(n), members: new Int32Array(n), embed: new Int32Array(n), via: new Int32Array(total), codes: new Int32Array(total) };
  let f = 0;
  for (let i = 0; i < n; i++) {
    const c = clusters[i];
    plan.sizes[i] = c.ids.length;
    plan.members[i] = c.members;
    plan.embed[i] = claim(c.members - 1);
    // Only the members' entries are read: those of the other records stay 0.
    plan.via.set(c.via, f);
    plan.codes.set(c.codes, f);
    for (let k = 0; k < c.ids.length; k++) ids[f + k] = c.ids[k];
    f += c.ids.length;
  }
  return { plan: { ...plan, ...ranges(ids) }, ids };
}

/** Parts rendered per contact that merged with nothing, in this order: the payloads as the file loader takes them, then success.csv's row. */
export const SEG = { ...FILE_PART, success: 4 } as const;
export const SEGMENTS = Object.keys(SEG).length;
/**
 * Parts rendered per cluster: the same, then what the report writes for the rows merged into
 * its contact (from SEG.success on, in ReportWriter.settleRenderedMerge's MERGE_PART order).
 */
export const CLUSTER_SEG = { ...SEG, merged: SEG.success + MERGE_PART.merged, mergedPage: SEG.success + MERGE_PART.mergedPage, keptPage: SEG.success + MERGE_PART.keptPage } as const;
export const CLUSTER_SEGMENTS = Object.keys(CLUSTER_SEG).length;

/**
 * A chunk, rendered: its bytes back to back (the contacts that merged with nothing, then the
 * clusters), and per contact SEGMENTS sizes (per cluster CLUSTER_SEGMENTS): the Spoke JSON
 * without a line end, the other parts with theirs, each the byte length + 1, or 0 where
 * there is none.
 */
export interface RenderedChunk {
  bytes: Uint8Array;
  sizes: Uint32Array;
  /** Each contact's owner (its Spoke phonebook). */
  owners: string[];
  /** The chunk's clusters, when it had any. */
  clusters?: RenderedClusters;
}

/** A chunk's clusters, rendered: their parts in the chunk's bytes from `from` on. */
export interface RenderedClusters extends RenderedMerges {
  from: number;
  sizes: Uint32Array;
  owners: string[];
}

/**
 * UTF-8 parts written back to back, each part's size + 1 noted in `sizes`. It holds its
 * ByteBuilder rather than extending it, so that the builder's methods see one class.
 */
class Parts {
  readonly out: ByteBuilder;
  constructor(room: number) { this.out = new ByteBuilder(Math.max(64 * 1024, room)); }
  get used(): number { return this.out.used; }
  /** `s`, then `end` ('', '\n' or '\r\n': ASCII) as bytes: `s + end` would be a new string, copied whole before it is encoded. */
  put(s: string | undefined, end: '' | '\n' | '\r\n', sizes: Uint32Array, at: number) {
    if (s === undefined) return;
    const n = this.out.text(s);
    this.out.ascii(end);
    sizes[at] = n + end.length + 1;
  }
}

/** Renders chunks, on the payload worker or on the main thread: the same init gives the same bytes. */
export class ChunkRenderer {
  private readonly layout: RowLayout;
  constructor(private readonly init: Omit<SingletonRenderInit, 'spillPath'>) {
    this.layout = new RowLayout(init.report);
  }

  /**
   * Renders `count` contacts that merged with nothing (no merged rows, no conflicts), the k-th
   * from its spill payload `payloadOf(k)` (dedupe-entry.ts), then the clusters of `clusters`,
   * record `f` of its flattened list read by `clusters.payloadOf(f)`.
   */
  render(count: number, payloadOf: (k: number) => string, clusters?: { plan: ClusterPlan; payloadOf: (f: number) => string }): RenderedChunk {
    const sizes = new Uint32Array(count * SEGMENTS);
    const owners = new Array<string>(count);
    const parts = new Parts(count * 2048);
    for (let k = 0; k < count; k++) {
      const rec = decodePayload(payloadOf(k));
      try {
        this.contact(rec, parts, sizes, k * SEGMENTS, owners, k);
      } catch (e) {
        throw this.bug('writing the contact', rec, e);
      }
    }
    const rendered = clusters && this.clusters(clusters.plan, clusters.payloadOf, parts);
    const chunk: RenderedChunk = { bytes: parts.out.copy(), sizes, owners };
    if (rendered) chunk.clusters = rendered;
    return chunk;
  }

  /** A contact's payload parts and success.csv row; its SuccessFields. */
  private contact(rec: ContactRecord, parts: Parts, sizes: Uint32Array, at: number, owners: string[], k: number) {
    // The payload parts first, at the SEG places that are FILE_PART's.
    const r = renderFileContact(rec.contact, this.init.plan, parts.out, sizes, at);
    const o = writtenOutcome(rec.contact.id, r.notes);
    owners[k] = r.owner;
    const f = successFields(rec, o, this.layout.mergedRowFiles);
    parts.put(successLine(rec, o, f, this.layout.successFileCells), '\r\n', sizes, at + SEG.success);
    return { o, f };
  }

  private clusters(plan: ClusterPlan, payloadOf: (f: number) => string, parts: Parts): RenderedClusters {
    const n = plan.sizes.length;
    const out: RenderedClusters = {
      from: parts.used, sizes: new Uint32Array(n * CLUSTER_SEGMENTS), owners: new Array<string>(n),
      keyNames: [], keysAt: new Uint32Array(n + 1), embedded: new Int32Array(n), cut: new Uint8Array(n), conflicts: [], conflictsAt: new Uint32Array(n + 1),
    };
    const l = this.layout;
    const st = { cellsTruncated: false };
    let f = 0;
    for (let c = 0; c < n; c++) {
      const size = plan.sizes[c];
      const payloads = new Array<string>(size);
      for (let k = 0; k < size; k++) payloads[k] = payloadOf(f + k);
      let rec: ContactRecord;
      try {
        rec = mergeCluster(payloads, plan.members[c], plan.via.subarray(f, f + size), plan.codes.subarray(f, f + size), this.init.merge);
      } catch (e) {
        let first: ContactRecord | undefined;
        try { first = decodePayload(payloads[0]); } catch { /* the message says what it can */ }
        throw this.bug('merging the duplicates', first, e);
      }
      f += size;
      try {
        const at = c * CLUSTER_SEGMENTS;
        const { o, f: fields } = this.contact(rec, parts, out.sizes, at, out.owners, c);
        // As ReportWriter.settle() writes the rows merged into a contact the target took.
        const id = fields.id;
        const merged = rec.merged;
        let lines = '';
        for (const m of merged) {
          lines += l.mergedLine(m.ref, rec.ref, id, m.key, 'pipeline') + '\r\n';
          out.keyNames.push(keyName(m.key));
        }
        if (merged.length) parts.put(lines, '', out.sizes, at + CLUSTER_SEG.merged);
        const embed = Math.min(plan.embed[c], merged.length);
        if (embed > 0) {
          st.cellsTruncated = false;
          let rows = '';
          for (let k = 0; k < embed; k++) {
            const m = merged[k];
            rows += (k ? ',' : '') + pageRowJson(l.mergedPageCells(m.ref, rec.ref, id, m.key, 'pipeline'), this.init.pageCellChars, st);
          }
          if (st.cellsTruncated) out.cut[c] |= CUT.merged;
          parts.put(rows, '', out.sizes, at + CLUSTER_SEG.mergedPage);
          st.cellsTruncated = false;
          parts.put(pageRowJson(l.survivorPageCells(rec, o, fields), this.init.pageCellChars, st), '', out.sizes, at + CLUSTER_SEG.keptPage);
          if (st.cellsTruncated) out.cut[c] |= CUT.kept;
        }
        out.keysAt[c + 1] = out.keyNames.length;
        out.embedded[c] = embed;
        for (const cf of rec.conflicts) out.conflicts.push({ row: rec.ref.row, ...cf } satisfies ConflictExample);
        out.conflictsAt[c + 1] = out.conflicts.length;
      } catch (e) {
        throw this.bug('writing the contact', rec, e);
      }
    }
    return out;
  }

  /** A bug (the run stops on it), naming the file and row of the contact (or cluster's first row). */
  private bug(what: string, rec: ContactRecord | undefined, e: unknown): Error {
    const err = e as Error;
    const where = rec ? ` of ${this.init.report.files[rec.ref.file]} row ${rec.ref.row}` : '';
    return bugAt(`${what}${where} failed: ${err?.message ?? String(e)}`, err?.stack);
  }
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

interface Task { ids: readonly number[]; clusters?: ChunkClusters; resolve(c: Handoff<RenderedChunk>): void; reject(e: Error): void }

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
  /** The chunks this thread renders itself. */
  private readonly renderer: ChunkRenderer;

  constructor(private readonly o: SingletonRendererOptions) {
    this.renderer = new ChunkRenderer(o.init);
    this.worker = spawnWorker(o.workerUrl ?? workerEntryUrl('singleton-worker'), o.init);
    this.worker.on('message', (res: RenderResponse) => this.onResponse(res));
    this.worker.on('error', (e) => this.lose(`the payload worker thread failed: ${e?.message ?? String(e)}`));
    this.worker.on('exit', (code) => { if (!this.closed) this.lose(`the payload worker thread exited unexpectedly (exit code ${code})`); });
    this.worker.unref();
  }

  /**
   * The contacts of spill records `ids` (entries at [starts[k], ends[k]) of the file) and the
   * `clusters` (ChunkClusters: their plan, claimed from the report when handed out), rendered:
   * by the worker, or here when it is busy or gone. A chunk the worker answered with an error
   * (a bug) fails, and so does every later one. The chunk comes in a Handoff: take() it.
   */
  render(ids: readonly number[], starts: Float64Array, ends: Float64Array, clusters?: ChunkClusters): Promise<Handoff<RenderedChunk>> {
    if (this.broken) { const e = this.broken; return doneNow(() => { throw e; }); }
    if (this.lost || this.tasks.size >= (this.o.maxPending ?? 4)) {
      this.stats.helpedChunks++;
      return this.here(ids, clusters);
    }
    const id = this.nextId++;
    const p = new Promise<Handoff<RenderedChunk>>((resolve, reject) => this.tasks.set(id, { ids, clusters, resolve, reject }));
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
      task.resolve(new Handoff(res.chunk));
    }
  }

  /** A chunk rendered in this thread, as the promise the worker's answer would be. */
  private here(ids: readonly number[], clusters?: ChunkClusters): Promise<Handoff<RenderedChunk>> {
    return doneNow(() => new Handoff(this.renderer.render(ids.length, (k) => this.o.payloadOf(ids[k]),
      clusters && { plan: clusters.plan, payloadOf: (f) => this.o.payloadOf(clusters.ids[f], true) })));
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
