/**
 * One import run, composed in one place:
 *
 *   sources -> read errors -> map -> normalize -> validate -> (dedupe) -> loader -> report
 *
 * Rows travel in batches (one per source chunk) through a stream-chain pipeline, so
 * back-pressure reaches the file reader: when the loader has its requests in flight,
 * write() waits, the chain stops pulling, and the reader stops reading.
 */
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync, rmSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import chain from 'stream-chain';
import type { ContactRecord, RowRef } from './contact.js';
import { ImportError, inColumn, isImportError, toImportError, EXIT, exitCodeFor } from './errors.js';
import { acquireLock, describeHolder, storeLockPath } from './state/lock.js';
import { loadMapping, type LoadedMapping } from './mapping/load.js';
import { compileMapping, type CompiledMapping } from './transforms/map.js';
import { RowPool, workerCount, type Handoff, type PendingBatch } from './transforms/row-pool.js';
import { createBatchProcessor, isEncoded, isRowFailure, type BatchOutcomes } from './transforms/rows.js';
import { decodeRecords } from './transforms/dedupe-entry.js';
import { createValidator } from './transforms/validate.js';
import { createNormalizer } from './transforms/normalize.js';
import { Deduper, RawCluster, dedupeOptionsFrom, type DedupeStats } from './transforms/dedupe.js';
import { CLUSTER_SEGMENTS, SEG, SEGMENTS, SingletonRenderer, clusterPlan, type ChunkClusters, type RenderedChunk } from './transforms/singleton-render.js';
import type { FileLoader } from './loaders/file/loader.js';
import { partRanges, WRITTEN } from './loaders/file/render.js';
import { openSource } from './sources/index.js';
import { cellsFreeOfNul, type OpenedSource } from './sources/types.js';
import { ReportWriter, type Stage } from './report/writer.js';
import { HttpClient } from './loaders/http.js';
import { createLoader, mappingEntriesFor, TARGET_REQUIREMENTS, unmappedTargetField } from './loaders/index.js';
import type { LoadOutcome, Loader, LoaderContext, TargetName } from './loaders/types.js';
import type { Logger } from './log.js';
import { redactSecrets } from './log.js';
import { buildSummary, writeSummaryFile, type Summary, type Timings } from './report/summary.js';
import { writeHtmlReport, REPORT_FILE } from './report/html.js';
import { hostname } from 'node:os';
import { openStore, resolveStatePath, type Db } from './state/store.js';
import { LEDGER_SCHEMA, Ledger } from './state/ledger.js';
import { Incremental, type MirrorOptions, type DeleteSummary } from './incremental.js';
import { InFlightRecords } from './in-flight.js';

export interface RunOptions {
  command: 'check' | 'run';
  inputs: string[];
  mappingPath: string;
  target: TargetName;
  /** Report folder; default <reportsRoot>/<run id>. */
  outDir?: string;
  reportsRoot?: string;
  dryRun: boolean;
  batchSize?: number;
  concurrency?: number;
  flags?: Record<string, unknown>;
  retry?: { attempts?: number; baseDelayMs?: number };
  env: NodeJS.ProcessEnv;
  log: Logger;
  /** Called with rows read so far, every batch. */
  onProgress?: (p: { rows: number; bytes?: number; totalBytes?: number }) => void;
  /** Keep the first N valid contacts (for `check`). */
  sample?: number;
  signal?: AbortSignal;
  maxCellChars?: number;
  /** A row longer than this many characters fails (CSV); default 4 x maxCellChars. */
  maxRowChars?: number;
  /** The state store (--state); default $CONTACT_IMPORT_STATE, else .contact-import/state.db. */
  statePath?: string;
  /** Load files the store says were already loaded into this target. */
  force?: boolean;
  /** --mirror: delete contacts this tool loaded before that no input row has. */
  mirror?: MirrorOptions;
  /** Rows of each table report.html embeds (default DEFAULT_MAX_ROWS; tests set fewer). */
  htmlMaxRows?: number;
}

export interface RunResult {
  exitCode: number;
  outDir: string;
  summary: Summary;
  sample: ContactRecord[];
  report: ReportWriter;
}

export function newRunId(firstInput: string, now = new Date()): string {
  const ts = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, '').replace('T', '-');
  const name = basename(firstInput).replace(/\.[^.]+$/, '').replace(/[^A-Za-z0-9_-]+/g, '_').slice(0, 40);
  return `${ts}-${name}-${randomBytes(2).toString('hex')}`;
}

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Result batches handed out to render before this thread waits to write the oldest (loadRendered). */
const RENDER_AHEAD = 8;
/**
 * Contacts (or clusters) per chunk rendered in the second phase (loadRendered). With 100, the
 * four chunks the payload worker holds were not enough work to bridge a chunk the main thread
 * rendered itself, and the worker waited 11-16% of the phase (issue #11).
 */
const RENDER_CHUNK = 200;
/** Inputs of this many bytes or more start their row worker before their first row (RowPool.prestart). */
const PRESTART_BYTES = 1 << 20;

/** Why --mirror deletes nothing on a target without a ledger of what it loaded. */
const NO_MIRROR: Partial<Record<TargetName, string>> = {
  talkdesk: 'Talkdesk\'s contact sync (what the bridge serves) can add and update contacts but has no way to remove one',
  file: 'the file target only writes payloads',
};

/** An input as summary.json lists it. */
function inputInfo(src: OpenedSource, sha256: string | undefined, rows: number): Summary['inputs'][number] {
  const i = src.info;
  return { file: i.file, format: i.format, bytes: i.bytes, sha256, encoding: i.encoding, delimiter: i.delimiter, sheet: i.sheet, headerRow: i.headerRow, rows };
}

/**
 * The input's SHA-256: the one taken while it was read whole, else by reading it ('' if it
 * cannot be read). A run that was stopped (Ctrl-C, SIGTERM, an abort) does not read the rest
 * of an input only to hash it (undefined): at 5M rows that took 2.3 of the 6 s between Ctrl-C
 * and the exit, more on a slow disk, and a service manager's stop timeout may not wait.
 */
async function checksumOf(src: OpenedSource, stopped: boolean): Promise<string | undefined> {
  return src.sha256?.() ?? (stopped ? undefined : await sha256File(src.info.file).catch(() => ''));
}

interface Prepared {
  mapping: LoadedMapping;
  sources: OpenedSource[];
  compiled: CompiledMapping[];
}

/**
 * Everything that can be wrong before a row is read: mapping (also against the target's
 * required fields, before any file is opened), files, columns. Throws usage errors.
 */
export async function prepare(o: Pick<RunOptions, 'inputs' | 'mappingPath' | 'maxCellChars' | 'maxRowChars'> & { target?: TargetName }): Promise<Prepared> {
  const mapping = await loadMapping(o.mappingPath);
  const unmapped = o.target && unmappedTargetField(mapping.mapping, o.target);
  if (unmapped) {
    const how = mappingEntriesFor(unmapped);
    throw new ImportError('MAPPING_INVALID', `${mapping.path} fields.${unmapped}: target ${o.target} needs "${unmapped}" on every contact, and the mapping maps nothing to it: add ${how} (a column, a template or a value)`,
      { file: mapping.path, mappingPath: `fields.${unmapped}` });
  }
  const sources: OpenedSource[] = [];
  try {
    for (const input of o.inputs) {
      sources.push(await openSource(input, {
        sheet: mapping.mapping.source.sheet,
        headerRow: mapping.mapping.source.headerRow,
        delimiter: mapping.mapping.source.delimiter,
        encoding: mapping.mapping.source.encoding,
        maxCellChars: o.maxCellChars,
        maxRowChars: o.maxRowChars,
      }));
    }
    const compiled = sources.map((s) => compileMapping(mapping.mapping, s.info.headers, s.info.file, mapping.path));
    return { mapping, sources, compiled };
  } catch (e) {
    for (const s of sources) s.close();
    throw e;
  }
}

export async function runImport(o: RunOptions): Promise<RunResult> {
  const started = new Date();
  const t0 = performance.now();
  const marks: RunMarks = {};
  const prep = await prepare(o);
  const { mapping, sources, compiled } = prep;
  const m = mapping.mapping;
  const runId = newRunId(o.inputs[0], started);
  const outDir = resolve(o.outDir ?? join(o.reportsRoot ?? 'reports', runId));
  let report: ReportWriter;
  try {
    report = new ReportWriter(outDir, {
      files: sources.map((s) => s.info.file),
      headers: sources.map((s) => ({ raw: s.info.rawHeaders, names: s.info.headers })),
    }, o.htmlMaxRows);
  } catch (e) {
    for (const s of sources) s.close();
    throw e;
  }
  // Until the run ends, summary.json says it is running: a folder left by a killed run
  // (SIGKILL, power cut) says so instead of looking like a finished report. The CSVs reach
  // the disk at least every second, so such a folder still shows what was settled.
  /** summary.json before the run has counts: while it runs, or when it stopped before its first row. */
  const writeInterimSummary = (fields: Record<string, unknown>) => writeSummaryFile(outDir, {
    tool: 'contact-import', runId, command: o.command, target: o.target, startedAt: started.toISOString(), inputs: o.inputs, ...fields,
  });
  try {
    writeInterimSummary({ status: 'running', pid: process.pid });
  } catch (e) {
    for (const s of sources) s.close();
    try { report.close(); } catch { /* the same disk: the summary's error says it */ }
    throw e;
  }

  const http = new HttpClient({
    retry: { ...(o.retry?.attempts !== undefined ? { attempts: o.retry.attempts } : {}), ...(o.retry?.baseDelayMs !== undefined ? { baseDelayMs: o.retry.baseDelayMs } : {}) },
    onRetry: (r) => o.log.debug('retry', `retrying ${r.method} ${r.url} in ${r.delayMs} ms (${r.reason})`, { ...r }),
  });

  const inFlight = new InFlightRecords();
  let incremental: Incremental | undefined;
  const settle = (rec: ContactRecord, outcome: LoadOutcome) => {
    if (!inFlight.delete(rec)) {
      throw new Error(`internal error: contact from row ${rec.ref.row} settled twice or never written (target ${o.target})`);
    }
    if (outcome.error) outcome.error = redactSecrets(outcome.error, o.env);
    report.settle(rec, outcome);
    // Only now, after the target confirmed it, does the contact count as loaded.
    incremental?.settled(rec, outcome);
  };
  const abortCtl = new AbortController();
  if (o.signal?.aborted) abortCtl.abort(); // an 'abort' listener added now would never hear it
  else o.signal?.addEventListener('abort', () => abortCtl.abort(), { once: true });

  // Widened on purpose: stopWith() (a closure) sets 'aborted', which TS cannot see from here.
  let status = 'completed' as Summary['status'];
  let abortError: ImportError | undefined;
  /** Why a row that never reached the target (or was not confirmed) did not load. */
  const notSent = () => (abortError
    ? `not sent: the run was aborted (${abortError.code}: ${redactSecrets(abortError.message, o.env)})`
    : 'not sent: the run was interrupted before this row was loaded');
  /** Stops the run with this error as its abort: an ImportError, a write the disk refused, or a bug. */
  const stopWith = (e: unknown) => {
    // A bug (INTERNAL), not the input or the target, stops as an abort does too, so that the
    // rows read so far still end as success, failed or merged and summary.json says what happened.
    abortError = toImportError(e);
    if (abortError.code === 'INTERNAL' && o.env.CONTACT_IMPORT_DEBUG) {
      o.log.error('run.internal', redactSecrets((e as Error)?.stack ?? abortError.message, o.env));
    }
    status = 'aborted';
    abortCtl.abort();
  };
  // A report file the disk refuses stops the run (WRITE_FAILED, unless it already stopped for
  // another reason); its rows are still counted, so the summary adds up.
  report.onWriteError((e) => { if (!abortError) stopWith(e); });
  const flusher = setInterval(() => report.flush(), 1000);
  flusher.unref();

  const ctx: LoaderContext = {
    env: o.env,
    mapping: m,
    options: { batchSize: o.batchSize, concurrency: o.concurrency, dryRun: o.dryRun, flags: o.flags ?? {} },
    http,
    log: o.log,
    outDir,
    settle,
    note: (msg) => report.noteOnce(redactSecrets(msg, o.env)),
    signal: abortCtl.signal,
  };

  const loader: Loader | undefined = o.command === 'check' ? undefined : createLoader(o.target, ctx);
  // The loader opens (credentials, the target's settings) before the first row when the
  // target has never been loaded from this store; on incremental runs only once a contact
  // needs sending, so a run where nothing changed makes no request at all.
  let opening: Promise<void> | undefined;
  const ensureOpen = () => (opening ??= loader ? loader.open() : Promise.resolve());
  /**
   * Closes the loader once, if it opened: on the way out of every run, the ones a throw
   * stops included. Requests in flight finish and settle their contacts (after an abort it
   * sends nothing new), payload lines still buffered reach their files, descriptors go back.
   */
  let closing: Promise<void> | undefined;
  const closeLoader = () => (closing ??= loader && opening ? opening.then(() => loader.close(), () => undefined) : Promise.resolve());

  // ---- the state store: incremental loads, files already loaded, resume, --mirror ----
  /** A run stopped before its first row (another import holds the store, a usage error): its folder says why. */
  const endBeforeFirstRow = (e: unknown) => {
    clearInterval(flusher);
    report.close();
    if (isImportError(e)) {
      writeInterimSummary({ status: 'aborted', abort: { code: e.code, message: redactSecrets(e.message, o.env), hint: e.hint }, exitCode: exitCodeFor(e) });
    }
  };
  let state: OpenedState | undefined;
  try {
    state = o.command === 'run' && o.target !== 'file' && loader ? openState({ o, loader, runId, outDir }) : undefined;
  } catch (e) {
    for (const s of sources) s.close();
    endBeforeFirstRow(e);
    throw e;
  }
  const db = state?.db;
  const ledger = state?.ledger;
  /** What summary.json's notes say about this run beyond its rows: the state store's, skipped inputs, --mirror, unhashed inputs. */
  const runNotes: string[] = [...(state?.notes ?? [])];
  if (ledger && db && loader?.identify && loader.destination) {
    incremental = new Incremental(db, ledger, runId, loader, { dryRun: o.dryRun, mirror: o.mirror, redact: (x) => redactSecrets(x, o.env) });
  }
  let deletes: DeleteSummary | undefined;
  /** Inputs the store says this target already loaded (skipped unless --force). */
  const skipped = new Map<number, { sha256: string; prior: { runId: string; loadedAt: string; report: string } }>();
  if (ledger && !o.force) {
    for (let fi = 0; fi < sources.length; fi++) {
      const sha = await sha256File(sources[fi].info.file);
      const prior = ledger.fileLoaded(sha);
      if (!prior) continue;
      skipped.set(fi, { sha256: sha, prior: { runId: prior.runId, loadedAt: prior.loadedAt, report: prior.report } });
      runNotes.push(`${sources[fi].info.file} was already loaded into ${o.target} (${ledger.destination}) by run ${prior.runId} on ${prior.loadedAt} `
        + `(report: ${prior.report}); it was not read again. Use --force to load it anyway.`);
      o.log.info('file.skipped', `${sources[fi].info.file}: already loaded by run ${prior.runId} on ${prior.loadedAt}; skipped (--force to load it again)`,
        { file: sources[fi].info.file, sha256: sha, loadedBy: prior.runId, loadedAt: prior.loadedAt });
    }
  }
  const allSkipped = sources.length > 0 && skipped.size === sources.length;
  const sample: ContactRecord[] = [];
  const inputsInfo: Summary['inputs'] = [];
  // Without match keys nothing is merged, and records stream straight to the loader.
  const dedupe = m.dedupe.keys.length ? new Deduper(dedupeOptionsFrom(m)) : undefined;
  let dedupeStats: DedupeStats | undefined;
  let readProgress = () => ({ rows: report.counts.read });

  // The target's own required fields are checked after dedupe, so that a duplicate row
  // without an id merges into the row that has one instead of failing on its own.
  let targetValidators: ((c: ContactRecord['contact']) => { code: ImportError['code']; message: string }[])[] | undefined;
  const targetProblems = (rec: ContactRecord) => {
    if (!targetValidators) {
      // Asked after open(): a loader may learn its required fields from the target (Samespace properties).
      const fields = loader ? loader.requiredFields : TARGET_REQUIREMENTS[o.target].fields;
      targetValidators = compiled.map((c) => createValidator([], fields.length ? { name: o.target, fields } : undefined, c.columnsOf));
    }
    return targetValidators[rec.ref.file](rec.contact);
  };

  /** Stage: hand records to the loader (or settle them for `check`). */
  const toTarget = async (records: ContactRecord[]) => {
    // The whole batch first: merged records from dedupe are new objects, and if the loader
    // aborts part-way through, the rest of the batch must still be reported NOT_SENT.
    for (const rec of records) inFlight.add(rec);
    await send(records);
    o.onProgress?.(readProgress());
    return chain.none;
  };
  /** Hands records already in flight to the loader (or settles them for `check`). */
  const send = async (records: ContactRecord[]) => {
    for (const rec of records) {
      // Stopped (a report file the disk refused): nothing more is sent; the rest are NOT_SENT.
      if (abortError) break;
      if (incremental) {
        const held = incremental.check(rec);
        if (held) {
          // The target confirmed this very contact before: nothing to send.
          settle(rec, { status: 'unchanged', action: 'unchanged', targetId: held.targetId ?? rec.contact.id, loadedBy: held.lastRun });
          continue;
        }
      }
      if (loader && !opening) await ensureOpen();
      const missing = targetProblems(rec);
      if (missing.length) {
        inFlight.delete(rec);
        const msg = missing.map((p) => p.message).join('; ');
        report.fail(rec.ref, 'validate', missing[0].code, msg);
        for (const mr of rec.merged) report.fail(mr.ref, 'validate', missing[0].code, `${msg} (merged into row ${rec.ref.row} by ${mr.key})`);
        continue;
      }
      if (o.sample && sample.length < o.sample) sample.push(rec);
      if (!loader) settle(rec, { status: 'success', action: 'would-load', targetId: rec.contact.id });
      else await loader.write(rec);
    }
  };
  // --mirror: a row that failed (a bad phone, a missing field) is still in the file; the
  // contact it names must not be deleted. Failed rows are rebuilt here, as far as they go,
  // to learn their key (rare, and only with --mirror).
  let mirrorWatch: ((fi: number, values: string[]) => void) | undefined;
  if (incremental && o.mirror) {
    const partial = createNormalizer(m);
    mirrorWatch = (fi, values) => incremental!.sawFailed(partial(compiled[fi].map(values)).contact);
  }
  /**
   * The second phase of a run into the file target, spread over two threads: a worker renders
   * what the run writes for dedupe's results (handed out raw: the contacts that merged with
   * nothing, and the clusters, which it merges), while this thread writes what it got;
   * everything is written in the order of dedupe's results, as the loop over results() below
   * writes it. Every record handed out ends settled or, not yet written, in dedupe's unsent()
   * (NOT_SENT).
   */
  const loadRendered = async (dedupe: Deduper, fileLoader: FileLoader) => {
    const renderer = new SingletonRenderer({
      init: {
        spillPath: dedupe.spillPath, plan: fileLoader.plan, report: report.layout.input,
        pageCellChars: report.pageCellChars, merge: { rules: m.dedupe.rules, idFrom: m.dedupe.idFrom },
      },
      payloadOf: (i, aside) => dedupe.payloadOf(i, aside),
      onWorkerLost: (message) => o.log.warn('run.payload-worker', `${message}; the main thread writes the rest of the contacts`),
    });
    type Item = number | RawCluster;
    /** Chunks handed out and not yet written, in order; `done` once rendered. */
    const pending: { items: Item[]; chunk: Promise<Handoff<RenderedChunk>>; done: boolean }[] = [];
    /** Where the parts of the contact being written are in its chunk's bytes: [start, end) pairs, -1 when absent. */
    const at = new Float64Array(2 * CLUSTER_SEGMENTS);
    /** The same, from the success.csv row on: what the report writes for a cluster (MERGE_PART). */
    const atReport = at.subarray(2 * SEG.success);
    const locate = (sizes: Uint32Array, from: number, count: number, pos: number) => partRanges(sizes, from, count, pos, at);
    const apply = async (items: Item[], rendered: Promise<Handoff<RenderedChunk>>) => {
      const chunk = (await rendered).take();
      const bytes = Buffer.from(chunk.bytes.buffer, chunk.bytes.byteOffset, chunk.bytes.byteLength);
      const cl = chunk.clusters;
      let k = 0;
      let pos = 0;
      let c = 0;
      let cpos = cl?.from ?? 0;
      for (let i = 0; i < items.length; i++) {
        if (abortError) return; // the rest stays unsent: NOT_SENT
        const id = items[i];
        if (typeof id !== 'number') {
          // A cluster, merged and rendered by the renderer: its contact and the rows merged into it.
          cpos = locate(cl!.sizes, c * CLUSTER_SEGMENTS, CLUSTER_SEGMENTS, cpos);
          fileLoader.writeRendered(cl!.owners[c], bytes, at);
          report.settleRenderedMerge(bytes, atReport, cl!, c, WRITTEN);
          dedupe.sentAll(id.ids, id.members);
          c++;
          continue;
        }
        pos = locate(chunk.sizes, k * SEGMENTS, SEGMENTS, pos);
        // The first four parts are the payloads, in the order writeRendered() takes them (SEG).
        fileLoader.writeRendered(chunk.owners[k], bytes, at);
        report.settleRendered(bytes, at[2 * SEG.success], at[2 * SEG.success + 1], WRITTEN);
        dedupe.sent(id);
        k++;
      }
      o.onProgress?.(readProgress());
    };
    try {
      for await (const items of dedupe.resultItems(true, RENDER_CHUNK)) {
        const ids: number[] = [];
        let clusters: ChunkClusters | undefined;
        const raw: RawCluster[] = [];
        for (const x of items) if (typeof x === 'number') ids.push(x); else raw.push(x);
        if (raw.length) clusters = clusterPlan(raw, (read) => dedupe.entryRanges(read), (n) => report.claimMergedPageRows(n));
        const { starts, ends } = dedupe.entryRanges(ids);
        const b = { items, chunk: renderer.render(ids, starts, ends, clusters), done: false };
        b.chunk.then(() => { b.done = true; }, () => { b.done = true; });
        pending.push(b);
        // What is rendered is written, in order. Rather than wait for the worker, this thread
        // renders the next chunks itself (the renderer's help, when the worker has no room),
        // up to RENDER_AHEAD chunks ahead.
        while (pending.length && (pending[0].done || pending.length > RENDER_AHEAD)) { const h = pending.shift()!; await apply(h.items, h.chunk); }
        // Let the worker's answers in before the next chunk: awaiting a rendered chunk does not
        // (a microtask), and until they are read the worker looks full, so this thread rendered
        // the next chunks itself while the worker, done, waited. Progress and signals get through too.
        await new Promise((r) => setImmediate(r));
        if (abortCtl.signal.aborted) break;
      }
      while (pending.length && !abortCtl.signal.aborted) { const b = pending.shift()!; await apply(b.items, b.chunk); }
      if (abortCtl.signal.aborted && !abortError) status = 'interrupted';
    } finally {
      // Batches never applied (the run stopped) are still in dedupe's unsent(): NOT_SENT.
      await renderer.close();
    }
  };

  let rowPool: RowPool | undefined;
  try {
    if (loader && !allSkipped && !(incremental && ledger!.size > 0)) await ensureOpen();

    const fail = (ref: RowRef, stage: Stage, code: ImportError['code'], message: string) => report.fail(ref, stage, code, message);
    /** A row the source could not read: the message names the cell's column, as the later stages' messages do. */
    const failRead = (ref: RowRef, e: ImportError) => fail(ref, 'read', e.code, e.message + inColumn(e.where.column));
    // Map, normalize and validate run on worker threads once a file is big enough to pay
    // for starting them (transforms/row-pool.ts); the main thread reads, dedupes, writes.
    // A run that dedupes gets its valid rows as dedupe entries (keys hashed, record encoded),
    // made where the rows were processed: see transforms/dedupe-entry.ts.
    const keySpec = dedupe ? { keys: m.dedupe.keys, scope: m.dedupe.scope } : undefined;
    const nulFree = sources.map((s) => cellsFreeOfNul(s.info.format));
    const pool = rowPool = new RowPool({
      init: { mapping: m, files: sources.map((s, fi) => ({ file: s.info.file, headers: s.info.headers, nulFree: nulFree[fi] })), mappingFile: mapping.path, encode: keySpec },
      inline: compiled.map((c, fi) => createBatchProcessor(m, c, fi, keySpec, nulFree[fi])),
      workers: workerCount(o.env, { dedupes: Boolean(dedupe) }),
      help: true,
    });
    // An input this big holds well over the pool's first 4,000 rows (contacts rows are
    // 150-400 bytes): its worker starts now and is ready when they are done.
    if (sources.reduce((a, s, fi) => a + (skipped.has(fi) ? 0 : s.info.bytes), 0) >= PRESTART_BYTES) pool.prestart();

    const totalBytes = sources.reduce((a, s) => a + s.info.bytes, 0);
    marks.readFrom = performance.now();
    let doneBytes = 0;
    for (let fi = 0; fi < sources.length; fi++) {
      const src = sources[fi];
      if (skipped.has(fi)) {
        // Never read: the checksum is the one the skip was decided on.
        const { sha256, prior } = skipped.get(fi)!;
        inputsInfo.push({ ...inputInfo(src, sha256, 0), skipped: { reason: 'already loaded', ...prior } });
        doneBytes += src.info.bytes;
        continue;
      }
      let rowsInFile = 0;

      /**
       * A batch's row outcomes (from a worker, or computed here for small inputs) handed to
       * `use` once they are ready. Rows count as read only then, so a batch still in a worker
       * when the run fails is not counted.
       */
      const whenProcessed = <T>(batch: PendingBatch, use: (result: BatchOutcomes) => T): T | Promise<T> => {
        const counted = (result: BatchOutcomes) => {
          report.rowRead(batch.rows.length);
          rowsInFile += batch.rows.length;
          return use(result);
        };
        const outcomes = pool.outcomesOf(batch);
        return outcomes instanceof Promise ? outcomes.then((h) => counted(h.take())) : counted(outcomes);
      };
      /** Stage (a run without dedupe): valid contact records on to the loader; failures go to the report here, in row order. */
      const toRecords = (batch: PendingBatch) => whenProcessed(batch, (result): ContactRecord[] => {
        if (isEncoded(result)) throw new Error('internal error: dedupe entries reached a run that does not dedupe');
        const out: ContactRecord[] = [];
        let k = 0;
        for (const r of batch.rows) {
          const ref: RowRef = { file: fi, row: r.row, values: r.values };
          if (r.error) { failRead(ref, r.error); continue; }
          const res = result[k++];
          if (isRowFailure(res)) {
            fail(ref, res[0], res[1], res[2]);
            if (mirrorWatch) mirrorWatch(fi, r.values);
            continue;
          }
          const rec: ContactRecord = { contact: res.contact, ref, merged: [], conflicts: [], notes: res.notes ?? [], date: res.date };
          // Tracked from here: a record still buffered between stages when the run aborts is
          // reported NOT_SENT like one the loader held, so the invariant holds on every abort.
          inFlight.add(rec);
          out.push(rec);
        }
        if (k !== result.length) throw new Error(`row outcomes out of step with rows of ${src.info.file}: ${result.length} outcomes for ${k} rows`);
        return out;
      });
      /**
       * Stage (a run that dedupes): failures go to the report in row order, and the valid rows,
       * already encoded, to dedupe, which sees every record before any is loaded; they wait in
       * its spill file.
       */
      const toDedupe = (batch: PendingBatch) => whenProcessed(batch, (result) => {
        if (!isEncoded(result)) throw new Error('internal error: a run that dedupes got contacts instead of dedupe entries');
        let k = 0;
        let f = 0;
        for (const r of batch.rows) {
          if (r.error) { failRead({ file: fi, row: r.row, values: r.values }, r.error); continue; }
          if (result.failed[f] === k++) {
            const values = result.failedValues[f];
            const [stage, code, message] = result.failures[f++];
            fail({ file: fi, row: r.row, values }, stage, code, message);
            if (mirrorWatch) mirrorWatch(fi, values);
          }
        }
        if (k - f !== result.records.ends.length || f !== result.failures.length) {
          throw new Error(`row outcomes out of step with rows of ${src.info.file}: ${result.failures.length} failures and ${result.records.ends.length} records for ${k} rows`);
        }
        if (abortError) {
          // Stopped (a report file the disk refused while this batch was read): the batch's
          // records are rebuilt and stay in flight, to end NOT_SENT.
          for (const rec of decodeRecords(result.records)) inFlight.add(rec);
        } else {
          // From here dedupe accounts for the records. It writes no report, but its spill can
          // refuse a write part-way through the batch (a full disk): the records it did not
          // take stay in flight, to end NOT_SENT with the run's abort.
          const before = dedupe!.count;
          try {
            dedupe!.addBatch(result.records);
          } catch (e) {
            for (const rec of decodeRecords(result.records, dedupe!.count - before)) inFlight.add(rec);
            throw e;
          }
        }
        o.onProgress?.(readProgress());
        return chain.none;
      });
      readProgress = () => ({ rows: report.counts.read, bytes: doneBytes + (src.position?.() ?? 0), totalBytes });

      const batches = Readable.from(pool.ahead(fi, stopOnAbort(src.rows(), abortCtl.signal)), { objectMode: true, highWaterMark: 2 });
      const pipeline = chain((dedupe ? [batches, toDedupe] : [batches, toRecords, toTarget]) as unknown as [Readable, ...((x: never) => unknown)[]], { objectMode: true } as object);
      pipeline.resume();
      try {
        await finished(pipeline);
      } finally {
        // Also when the run stopped part-way through this file: the summary names what was read.
        inputsInfo.push(inputInfo(src, await checksumOf(src, abortCtl.signal.aborted), rowsInFile));
      }
      doneBytes += src.info.bytes;
      if (abortCtl.signal.aborted) { if (!abortError) status = 'interrupted'; break; }
    }
    // Every row is through the per-row stages: the worker threads' memory goes back before
    // dedupe hands out its results (the run's peak is at the end of reading).
    await pool.close();
    marks.readTo = performance.now();
    if (dedupe && status === 'completed' && loader?.target === 'file' && pool.stats.workers > 0 && !o.sample && !incremental
      && loader.requiredFields.length === 0) {
      // The contacts that merged with nothing are rendered on a worker (transforms/singleton-render.ts).
      if (!opening) await ensureOpen();
      await loadRendered(dedupe, loader as FileLoader);
    } else if (dedupe && status === 'completed') {
      let batches = 0;
      for await (const batch of dedupe.results()) {
        await toTarget(batch);
        // The spill is read synchronously and a loader that only writes files never waits
        // on I/O, so without this the whole phase is one run of microtasks: no progress
        // line, and Ctrl-C / SIGTERM not heard until the end (measured: 22 s at 1M rows).
        if (++batches % 4 === 0) await new Promise((r) => setImmediate(r));
        if (abortCtl.signal.aborted) { if (!abortError) status = 'interrupted'; break; }
      }
    }
    if (o.mirror && status === 'completed') {
      if (!incremental) {
        runNotes.push(`--mirror: nothing was deleted: ${NO_MIRROR[o.target] ?? `the ${o.target} target keeps no record of contacts to delete`}`);
      } else if (skipped.size) {
        runNotes.push('--mirror: nothing was deleted, because an input was skipped as already loaded and its contacts were not read (use --force to read it)');
      } else {
        deletes = await incremental.mirror(join(outDir, 'deleted.csv'), ensureOpen);
      }
    } else if (o.mirror && incremental) {
      runNotes.push(`--mirror: nothing was deleted, because the run did not read every row (${status})`);
    }
    await closeLoader();
  } catch (e) {
    if (isImportError(e) && e.kind === 'usage' && report.counts.read === 0) {
      // A usage error found before any row (a header-only file, a property missing): nothing was sent.
      await closeLoader().catch(() => undefined);
      for (const s of sources) s.close();
      state?.close('aborted');
      endBeforeFirstRow(e);
      throw e;
    }
    // The first reason stays the run's abort (a write the flusher met may come first).
    if (!abortError) stopWith(e);
    // Before the runner settles what the loader holds as NOT_SENT: a contact the target took
    // while the run was stopping is success, and one the file target wrote is in its file.
    // What close() throws now (the abort it was told of) is not news: the first reason stands.
    await closeLoader().catch(() => undefined);
  } finally {
    // The loader is closed on every way here: what follows is finishing.
    marks.loadTo = performance.now();
    // Workers hold the event loop: terminated on every way out (done, aborted, a bug).
    await rowPool?.close();
    for (const s of sources) s.close();
    http.close();
    if (dedupe) {
      dedupeStats = dedupe.stats;
      // Rows still waiting in dedupe when the run stopped were never handed to the target.
      try {
        for (const rec of dedupe.unsent()) report.fail(rec.ref, 'load', 'NOT_SENT', notSent());
      } finally {
        dedupe.close();
      }
    }
  }

  // Contacts handed to the loader and not confirmed: they did not land (or we cannot know).
  for (const rec of inFlight.values()) settle(rec, { status: 'failed', code: 'NOT_SENT', error: notSent() });
  clearInterval(flusher);
  // The last blocks of the CSVs go to disk here: a full disk now still stops the run as WRITE_FAILED.
  report.close();
  if (status === 'completed' && allSkipped) status = 'skipped';
  if (state) {
    try {
      incremental?.flush();
      // A --mirror run whose deletes were held back by the guard (or failed) is not done with
      // its file: the user is told to run it again with --allow-mass-delete, which must not be skipped.
      const deletesDone = !deletes || !(deletes.guarded.length || deletes.failed || deletes.notAttempted);
      if (status === 'completed' && !o.dryRun && deletesDone) {
        // Recorded only once every row has an outcome: a killed or interrupted run's file
        // is not "loaded", so the same command runs it again (and sends only the rest).
        for (const info of inputsInfo) {
          // Every input of a completed run was read whole, so it has its checksum.
          if (info.skipped || info.sha256 === undefined) continue;
          ledger!.recordFile({ sha256: info.sha256, file: info.file, bytes: info.bytes, runId, report: outDir, loadedAt: new Date().toISOString(), counts: { ...report.counts } });
        }
      }
    } finally {
      state.close(status);
    }
  }

  // Inputs the run stopped before reaching (the target refused the credentials first, say) are
  // named too, with no rows read: the summary always lists what the user gave.
  for (let fi = inputsInfo.length; fi < sources.length; fi++) inputsInfo.push(inputInfo(sources[fi], await checksumOf(sources[fi], abortCtl.signal.aborted), 0));
  const unhashed = inputsInfo.filter((i) => i.sha256 === undefined);
  if (unhashed.length) {
    runNotes.push(`no sha256 for ${unhashed.map((i) => i.file).join(', ')}: the run stopped before reading ${unhashed.length === 1 ? 'it' : 'them'} to the end, and hashing the rest would only have delayed the stop`);
  }
  const durationMs = performance.now() - t0;
  const summary = buildSummary({
    runId, command: o.command, target: o.target, dryRun: o.dryRun, started, durationMs,
    timings: timingsOf(t0, marks, t0 + durationMs),
    inputs: inputsInfo, mapping: { file: mapping.path, sha256: mapping.sha256 }, report, status,
    abort: abortError ? { code: abortError.code, message: redactSecrets(abortError.message, o.env), hint: abortError.hint } : undefined,
    http: o.command === 'run' && o.target !== 'file' ? http.stats : undefined,
    dedupe: dedupeStats,
  });
  if (state) {
    summary.state = {
      path: state.path, destination: ledger!.destination,
      unchangedNotSent: incremental?.unchanged ?? 0,
      ...(state.resumed.length ? { resumedAfter: state.resumed } : {}),
      ...(skipped.size ? { skippedInputs: skipped.size } : {}),
    };
  }
  if (deletes) {
    summary.deletes = deletes;
    summary.files.deleted = 'deleted.csv';
  }
  summary.notes.push(...runNotes.map((n) => redactSecrets(n, o.env)));
  const deletesIncomplete = Boolean(deletes && (deletes.guarded.length || deletes.failed || deletes.notAttempted));
  const exitCode = status === 'aborted' ? EXIT.ABORTED
    : status === 'interrupted' ? EXIT.ABORTED
      : report.counts.failed > 0 || deletesIncomplete ? EXIT.ROWS_FAILED : EXIT.OK;
  summary.exitCode = exitCode;
  writeSummaryFile(outDir, summary);
  // report.html copies the tables of rows the report prepared as it wrote the CSVs just closed;
  // the page failing to build must not lose the run's outcome, which summary.json and the CSVs hold.
  try {
    await writeHtmlReport(outDir, summary, { prepared: report.preparedTables(), maxRows: o.htmlMaxRows });
    summary.files.report = REPORT_FILE;
    writeSummaryFile(outDir, summary);
  } catch (e) {
    // A page cut short by a full disk would look whole in a browser: better none.
    rmSync(join(outDir, REPORT_FILE), { force: true });
    o.log.warn('report.html', `report.html not written: ${(e as Error).message}`);
  } finally {
    report.removePreparedTables();
  }
  return { exitCode, outDir, summary, sample, report };
}

/** When a run began and ended reading, and ended loading (performance.now()): summary.json's timings. */
export interface RunMarks { readFrom?: number; readTo?: number; loadTo?: number }

/**
 * summary.json's timings from the moments the run passed. A moment it never reached (it
 * stopped before) is taken as the next one it did, so that phase counts 0. Each moment is
 * rounded once, so the phases add up to durationMs exactly.
 */
export function timingsOf(t0: number, marks: RunMarks, end: number): Timings {
  const loadTo = marks.loadTo ?? end;
  const readTo = marks.readTo ?? loadTo;
  const readFrom = marks.readFrom ?? readTo;
  const ms = (t: number) => Math.round(t - t0);
  return {
    openMs: ms(readFrom),
    readMs: ms(readTo) - ms(readFrom),
    loadMs: ms(loadTo) - ms(readTo),
    finishMs: ms(end) - ms(loadTo),
  };
}

/** Ends a source early when the run is interrupted (SIGINT/SIGTERM): the batch in flight finishes. */
async function* stopOnAbort<T>(it: AsyncIterable<T>, signal: AbortSignal): AsyncGenerator<T> {
  for await (const x of it) {
    yield x;
    if (signal.aborted) return;
  }
}

interface OpenedState {
  path: string;
  db: Db;
  ledger: Ledger;
  /** Runs of this target that died part-way (SIGKILL, a crash): this run resumes after them. */
  resumed: { runId: string; report: string; startedAt: string }[];
  notes: string[];
  close(status: string): void;
}

/**
 * Opens the state store for a loading run: the ledger of this target and destination,
 * and this run's entry in it. A dry run without a store file plans against an empty one
 * (in memory) and writes nothing.
 */
function openState(a: { o: RunOptions; loader: Loader; runId: string; outDir: string }): OpenedState {
  const { o, loader, runId, outDir } = a;
  const path = resolveStatePath(o.statePath ?? (o.flags?.state as string | undefined), o.env);
  const memory = o.dryRun && !existsSync(path);
  // One loading run per store at a time (a second `run`, or `watch`, is refused): two runs
  // loading the same target would send the same contacts twice and race on the ledger.
  // A dry run only reads, so it does not wait for anyone.
  const lock = o.dryRun ? undefined : acquireLock(storeLockPath(path), { command: 'run', detail: `${runId}: --target ${o.target} ${o.inputs.join(' ')}` });
  let db: Db;
  try {
    db = openStore({ path: memory ? ':memory:' : path, schemas: [LEDGER_SCHEMA] });
  } catch (e) {
    lock?.release();
    throw e;
  }
  // The Talkdesk target's store is the destination itself.
  const destination = loader.destination ?? (o.target === 'talkdesk' ? 'embedded store' : o.target);
  const ledger = new Ledger(db, o.target, destination);
  const notes: string[] = [];
  if (lock?.tookOverStale) {
    const stale = lock.tookOverStale;
    notes.push(`took over a stale lock on the state store (${stale.reason}; held by ${describeHolder(stale)})`);
    o.log.warn('lock.stale', `took over a stale lock on ${storeLockPath(path)}: ${stale.reason}`, { reason: stale.reason });
  }
  const resumed: OpenedState['resumed'] = [];
  if (!o.dryRun) {
    for (const r of ledger.unfinishedRuns()) {
      // Only one loading run holds the store at a time, so a run still marked running died.
      ledger.endRun(r.runId, 'died');
      resumed.push({ runId: r.runId, report: r.report, startedAt: r.startedAt });
      notes.push(`run ${r.runId} (started ${r.startedAt}, pid ${r.pid} on ${r.host}) stopped without finishing; the contacts the target confirmed to it are not sent again (they count as unchanged here); its partial report is in ${r.report}`);
    }
    ledger.startRun({ runId, report: outDir, pid: process.pid, host: hostname(), startedAt: new Date().toISOString() });
  }
  return {
    path: memory ? `${path} (not created yet: dry run)` : path, db, ledger, resumed, notes,
    close(status: string) {
      try {
        if (!o.dryRun) ledger.endRun(runId, status);
      } finally {
        db.close();
        lock?.release();
      }
    },
  };
}
