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
import { createReadStream } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { writeFileSync } from 'node:fs';
import chain from 'stream-chain';
import type { ContactRecord, RowRef } from './contact.js';
import { ImportError, isImportError, EXIT } from './errors.js';
import { loadMapping, type LoadedMapping } from './mapping/load.js';
import { compileMapping, type CompiledMapping } from './transforms/map.js';
import { createNormalizer } from './transforms/normalize.js';
import { createValidator } from './transforms/validate.js';
import { Deduper, dedupeOptionsFrom, type DedupeStats } from './transforms/dedupe.js';
import { openSource } from './sources/index.js';
import type { OpenedSource, SourceRow } from './sources/types.js';
import { ReportWriter, type Stage } from './report/writer.js';
import { HttpClient } from './loaders/http.js';
import { createLoader, TARGET_REQUIREMENTS } from './loaders/index.js';
import type { LoadOutcome, Loader, LoaderContext, TargetName } from './loaders/types.js';
import type { Logger } from './log.js';
import { redactSecrets } from './log.js';
import { writeSummary, type Summary } from './report/summary.js';
import { writeHtmlReport, REPORT_FILE } from './report/html.js';

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

interface Prepared {
  mapping: LoadedMapping;
  sources: OpenedSource[];
  compiled: CompiledMapping[];
}

/** Everything that can be wrong before a row is read: mapping, files, columns. Throws usage errors. */
export async function prepare(o: Pick<RunOptions, 'inputs' | 'mappingPath' | 'maxCellChars' | 'maxRowChars'>): Promise<Prepared> {
  const mapping = await loadMapping(o.mappingPath);
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
  const prep = await prepare(o);
  const { mapping, sources, compiled } = prep;
  const m = mapping.mapping;
  const runId = newRunId(o.inputs[0], started);
  const outDir = resolve(o.outDir ?? join(o.reportsRoot ?? 'reports', runId));
  const report = new ReportWriter(outDir, {
    files: sources.map((s) => s.info.file),
    headers: sources.map((s) => ({ raw: s.info.rawHeaders, names: s.info.headers })),
  });

  const http = new HttpClient({
    retry: { ...(o.retry?.attempts ? { attempts: o.retry.attempts } : {}), ...(o.retry?.baseDelayMs !== undefined ? { baseDelayMs: o.retry.baseDelayMs } : {}) },
    onRetry: (r) => o.log.debug('retry', `retrying ${r.method} ${r.url} in ${r.delayMs} ms (${r.reason})`, { ...r }),
  });

  const inFlight = new Set<ContactRecord>();
  const settle = (rec: ContactRecord, outcome: LoadOutcome) => {
    if (!inFlight.delete(rec)) {
      throw new Error(`internal error: contact from row ${rec.ref.row} settled twice or never written (target ${o.target})`);
    }
    if (outcome.error) outcome.error = redactSecrets(outcome.error, o.env);
    report.settle(rec, outcome);
  };
  const abortCtl = new AbortController();
  o.signal?.addEventListener('abort', () => abortCtl.abort(), { once: true });

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
  const sample: ContactRecord[] = [];
  let status: Summary['status'] = 'completed';
  let abortError: ImportError | undefined;
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
    for (const rec of records) {
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
    o.onProgress?.(readProgress());
    return chain.none;
  };
  /** Stage: dedupe sees every record before any is loaded; they wait in its spill file. */
  const toDedupe = (records: ContactRecord[]) => {
    for (const rec of records) { dedupe!.add(rec); inFlight.delete(rec); } // dedupe accounts for it now
    o.onProgress?.(readProgress());
    return chain.none;
  };

  try {
    if (loader) await loader.open();

    const normalize = createNormalizer(m);
    const fail = (ref: RowRef, stage: Stage, code: ImportError['code'], message: string) => report.fail(ref, stage, code, message);

    const totalBytes = sources.reduce((a, s) => a + s.info.bytes, 0);
    let doneBytes = 0;
    for (let fi = 0; fi < sources.length; fi++) {
      const src = sources[fi];
      const c = compiled[fi];
      const validate = createValidator(m.required, undefined, c.columnsOf);
      let rowsInFile = 0;

      /** Stage: rows of one batch -> valid contact records; failures go to the report here. */
      const toRecords = (rows: SourceRow[]): ContactRecord[] => {
        const out: ContactRecord[] = [];
        report.rowRead(rows.length);
        rowsInFile += rows.length;
        for (const r of rows) {
          const ref: RowRef = { file: fi, row: r.row, values: r.values };
          if (r.error) { fail(ref, 'read', r.error.code, r.error.message); continue; }
          const mapped = c.map(r.values);
          const n = normalize(mapped);
          if (n.problems.length) {
            fail(ref, 'normalize', n.problems[0].code, n.problems.map((p) => p.message + (p.column ? ` (column "${p.column}")` : '')).join('; '));
            continue;
          }
          const missing = validate(n.contact);
          if (missing.length) {
            fail(ref, 'validate', missing[0].code, missing.map((p) => p.message).join('; '));
            continue;
          }
          const rec: ContactRecord = { contact: n.contact, ref, merged: [], conflicts: [], notes: n.notes, date: mapped.date };
          // Tracked from here: a record still buffered between stages when the run aborts is
          // reported NOT_SENT like one the loader held, so the invariant holds on every abort.
          inFlight.add(rec);
          out.push(rec);
        }
        return out;
      };
      readProgress = () => ({ rows: report.counts.read, bytes: doneBytes + (src.position?.() ?? 0), totalBytes });

      const batches = Readable.from(stopOnAbort(src.rows(), abortCtl.signal), { objectMode: true, highWaterMark: 2 });
      const pipeline = chain([batches, toRecords, dedupe ? toDedupe : toTarget] as unknown as [Readable, ...((x: never) => unknown)[]], { objectMode: true } as object);
      pipeline.resume();
      await finished(pipeline);
      inputsInfo.push({
        file: src.info.file, format: src.info.format, bytes: src.info.bytes,
        sha256: src.sha256?.() ?? await sha256File(src.info.file), encoding: src.info.encoding, delimiter: src.info.delimiter,
        sheet: src.info.sheet, headerRow: src.info.headerRow, rows: rowsInFile,
      });
      doneBytes += src.info.bytes;
      if (abortCtl.signal.aborted) { status = 'interrupted'; break; }
    }
    if (dedupe && status === 'completed') {
      for await (const batch of dedupe.results()) {
        await toTarget(batch);
        if (abortCtl.signal.aborted) { status = 'interrupted'; break; }
      }
    }
    if (loader) await loader.close();
  } catch (e) {
    if (isImportError(e) && e.kind === 'usage' && report.counts.read === 0) {
      // A usage error found before any row (a header-only file, a property missing): nothing was sent.
      for (const s of sources) s.close();
      report.close();
      throw e;
    }
    if (!isImportError(e)) throw e;
    abortError = e;
    status = 'aborted';
    abortCtl.abort();
  } finally {
    for (const s of sources) s.close();
    http.close();
    if (dedupe) {
      dedupeStats = dedupe.stats;
      // Rows still waiting in dedupe when the run stopped were never handed to the target.
      for (const rec of dedupe.unsent()) {
        report.fail(rec.ref, 'load', 'NOT_SENT', abortError
          ? `not sent: the run was aborted (${abortError.code}: ${redactSecrets(abortError.message, o.env)})`
          : 'not sent: the run was interrupted before this row was loaded');
      }
      dedupe.close();
    }
  }

  // Contacts handed to the loader and not confirmed: they did not land (or we cannot know).
  for (const rec of [...inFlight]) {
    settle(rec, { status: 'failed', code: 'NOT_SENT',
      error: abortError ? `not sent: the run was aborted (${abortError.code}: ${abortError.message})` : 'not sent: the run was interrupted' });
  }
  report.close();

  const durationMs = performance.now() - t0;
  const summary = writeSummary(outDir, {
    runId, command: o.command, target: o.target, dryRun: o.dryRun, started, durationMs,
    inputs: inputsInfo, mapping: { file: mapping.path, sha256: mapping.sha256 }, report, status,
    abort: abortError ? { code: abortError.code, message: redactSecrets(abortError.message, o.env), hint: abortError.hint } : undefined,
    http: o.command === 'run' && o.target !== 'file' ? http.stats : undefined,
    dedupe: dedupeStats,
  });
  const exitCode = status === 'aborted' ? EXIT.ABORTED
    : status === 'interrupted' ? EXIT.ABORTED
      : report.counts.failed > 0 ? EXIT.ROWS_FAILED : EXIT.OK;
  summary.exitCode = exitCode;
  writeFileSync(join(outDir, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  // report.html reads the CSVs just closed; the page failing to build must not lose the run's
  // outcome, which summary.json and the CSVs already hold.
  try {
    await writeHtmlReport(outDir, summary);
    summary.files.report = REPORT_FILE;
    writeFileSync(join(outDir, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  } catch (e) {
    o.log.warn('report.html', `could not write report.html: ${(e as Error).message}`);
  }
  return { exitCode, outDir, summary, sample, report };
}

/** Ends a source early when the run is interrupted (SIGINT/SIGTERM): the batch in flight finishes. */
async function* stopOnAbort<T>(it: AsyncIterable<T>, signal: AbortSignal): AsyncGenerator<T> {
  for await (const x of it) {
    yield x;
    if (signal.aborted) return;
  }
}
