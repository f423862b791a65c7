/** summary.json: counts per outcome, failure reason and target action; inputs with checksums; timings. */
import { replaceFile } from '../replace-file.js';
import { join } from 'node:path';
import type { ReportWriter, Counts, Example } from './writer.js';
import type { HttpStats } from '../loaders/http.js';
import { hintFor, writeFailed } from '../errors.js';
import type { DedupeStats } from '../transforms/dedupe.js';
import type { DeleteSummary } from '../incremental.js';

export interface InputInfo {
  file: string; format: string; bytes: number;
  /** Absent when the run stopped before reading the input whole (summary.json's notes say so). */
  sha256?: string;
  encoding?: string; delimiter?: string; sheet?: string; headerRow: number; rows: number;
  /** Not read: the state store says this target already loaded this file (same sha256). */
  skipped?: { reason: string; runId: string; loadedAt: string; report: string };
}

/** Where a run's time went, in milliseconds: the four add up to durationMs. */
export interface Timings {
  /** Before the first row: inputs opened, the mapping compiled, the state store and the target opened (credentials checked). */
  openMs: number;
  /** Every row read through map, normalize and validate. A run that does not dedupe loads as it reads. */
  readMs: number;
  /** After the last row: dedupe's results handed to the target, the target's last answers, --mirror's deletes. */
  loadMs: number;
  /** Rows never sent accounted for, the report's CSVs closed, the state store updated (report.html comes after). */
  finishMs: number;
}

export interface Summary {
  tool: 'contact-import';
  runId: string;
  command: 'check' | 'run';
  target: string;
  dryRun: boolean;
  status: 'completed' | 'aborted' | 'interrupted' | 'skipped';
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  timings?: Timings;
  rowsPerSecond: number;
  mbPerSecond: number;
  inputs: InputInfo[];
  mapping: { file: string; sha256: string };
  counts: Counts;
  invariant: { formula: string; holds: boolean };
  failuresByCode: Record<string, { count: number; hint: string; examples: Example[] }>;
  failuresByStage: Record<string, number>;
  mergesByKey: Record<string, number>;
  mergedBy: Record<string, number>;
  conflictsByField: Record<string, number>;
  conflictExamples: ReportWriter['conflictExamples'];
  dedupe?: DedupeStats;
  targetActions: Record<string, number>;
  notes: string[];
  abort?: { code: string; message: string; hint: string };
  http?: HttpStats;
  /** Loading runs: the state store, contacts not sent because the target already held them, runs resumed. */
  state?: {
    path: string; destination: string; unchangedNotSent: number; skippedInputs?: number;
    resumedAfter?: { runId: string; report: string; startedAt: string }[];
  };
  /** --mirror: what happened to the contacts absent from the file (deleted.csv has each). */
  deletes?: DeleteSummary;
  files: Record<string, string>;
  exitCode?: number;
}

export interface SummaryInput {
  runId: string; command: 'check' | 'run'; target: string; dryRun: boolean; started: Date; durationMs: number;
  timings?: Timings; inputs: InputInfo[]; mapping: { file: string; sha256: string }; report: ReportWriter; status: Summary['status'];
  abort?: Summary['abort']; http?: HttpStats; dedupe?: DedupeStats;
}

export function invariantHolds(c: Counts): boolean {
  return c.read === c.success + c.failed + c.merged + c.unchanged;
}

/** The run's summary from the report's counts; run.ts adds the state, deletes and exit code, then writes it. */
export function buildSummary(s: SummaryInput): Summary {
  const r = s.report;
  const secs = Math.max(s.durationMs / 1000, 1e-6);
  const bytes = s.inputs.reduce((a, i) => a + i.bytes, 0);
  const failuresByCode: Summary['failuresByCode'] = {};
  for (const [code, count] of Object.entries(r.failuresByCode).sort((a, b) => b[1] - a[1])) {
    failuresByCode[code] = { count, hint: hintFor(code), examples: r.examples[code] ?? [] };
  }
  const summary: Summary = {
    tool: 'contact-import',
    runId: s.runId,
    command: s.command,
    target: s.target,
    dryRun: s.dryRun,
    status: s.status,
    startedAt: s.started.toISOString(),
    finishedAt: new Date(s.started.getTime() + s.durationMs).toISOString(),
    durationMs: Math.round(s.durationMs),
    timings: s.timings,
    rowsPerSecond: Math.round(r.counts.read / secs),
    mbPerSecond: Math.round((bytes / 1e6 / secs) * 100) / 100,
    inputs: s.inputs,
    mapping: s.mapping,
    counts: { ...r.counts },
    invariant: { formula: 'read = success + failed + merged + unchanged', holds: invariantHolds(r.counts) },
    failuresByCode,
    failuresByStage: r.failuresByStage,
    mergesByKey: r.mergesByKey,
    mergedBy: r.mergedBy,
    conflictsByField: r.conflictsByField,
    conflictExamples: r.conflictExamples,
    dedupe: s.dedupe,
    targetActions: r.targetActions,
    notes: r.notes,
    abort: s.abort,
    http: s.http,
    // unchanged.csv exists only once a row was unchanged (incremental runs): name only files there are.
    files: { success: 'success.csv', failed: 'failed.csv', merged: 'merged.csv', ...(r.counts.unchanged ? { unchanged: 'unchanged.csv' } : {}) },
  };
  if (!summary.invariant.holds) {
    // A row without an outcome is a bug: say so loudly rather than write a report that does not add up.
    throw new Error(`internal error: accounting does not add up: ${JSON.stringify(r.counts)}`);
  }
  return summary;
}

/**
 * summary.json, pretty-printed, replacing the one before whole: written beside it, then
 * renamed over it, so that a full disk or a kill mid-write leaves the summary before it (a
 * scheduler's script reads this file), never a cut-off JSON. A write the disk refuses is
 * WRITE_FAILED naming summary.json.
 */
export function writeSummaryFile(outDir: string, summary: object): void {
  const path = join(outDir, 'summary.json');
  try {
    replaceFile(path, JSON.stringify(summary, null, 2) + '\n');
  } catch (e) {
    throw writeFailed(e, path);
  }
}
