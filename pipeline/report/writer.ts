/**
 * The run report: success.csv, failed.csv, merged.csv (and unchanged.csv when any)
 * written as rows settle, plus counts for summary.json. Every row read ends in
 * exactly one of the four outcomes; `assertInvariant` checks the sum at the end.
 *
 * CSVs are written in 64 KiB blocks with synchronous writes: bounded memory, and the
 * rows are on disk as soon as they settle (a killed run keeps what it reported).
 */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { ContactRecord, RowRef } from '../contact.js';
import { displayName } from '../contact.js';
import { hintFor, type ErrorCode } from '../errors.js';
import type { LoadOutcome } from '../loaders/types.js';
import { csvLine, REPORT_COLUMNS } from './csv-safe.js';

export type Stage = 'read' | 'map' | 'normalize' | 'validate' | 'dedupe' | 'load';

class CsvFile {
  private fd: number | undefined;
  private buf = '';
  rows = 0;
  constructor(readonly path: string, private readonly header: string[], private readonly lazy: boolean, private readonly bom = true) {
    if (!lazy) this.open();
  }
  private open() {
    this.fd = openSync(this.path, 'w');
    this.buf = (this.bom ? '\uFEFF' : '') + csvLine(this.header);
  }
  write(cells: string[]) {
    if (this.fd === undefined) this.open();
    this.buf += csvLine(cells);
    this.rows++;
    if (this.buf.length > 65536) this.flush();
  }
  flush() {
    if (this.fd !== undefined && this.buf) { writeSync(this.fd, this.buf); this.buf = ''; }
  }
  close() {
    this.flush();
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

export interface Counts { read: number; success: number; failed: number; merged: number; unchanged: number }

export interface Example { row: number; file: string; message: string }

export interface ReportInput {
  /** Display path of each input, by RowRef.file index. */
  files: string[];
  /** Original header of each input (raw names) and normalized names, by index. */
  headers: { raw: string[]; names: string[] }[];
}

export class ReportWriter {
  readonly counts: Counts = { read: 0, success: 0, failed: 0, merged: 0, unchanged: 0 };
  readonly failuresByCode: Record<string, number> = {};
  readonly failuresByStage: Record<string, number> = {};
  readonly mergesByKey: Record<string, number> = {};
  readonly mergedBy: Record<'pipeline' | 'target', number> = { pipeline: 0, target: 0 };
  readonly targetActions: Record<string, number> = {};
  readonly examples: Record<string, Example[]> = {};
  readonly notes: string[] = [];
  /** Fields on which merged rows disagreed, and the first examples. */
  readonly conflictsByField: Record<string, number> = {};
  readonly conflictExamples: { row: number; field: string; chosen: string; rejected: string[] }[] = [];
  private readonly success: CsvFile;
  private readonly failed: CsvFile;
  private readonly merged: CsvFile;
  private readonly unchanged: CsvFile;
  /** Column layout of the original-columns part of failed.csv / merged.csv. */
  private readonly columns: string[];
  private readonly placement: number[][];
  private readonly multi: boolean;

  constructor(readonly outDir: string, private readonly input: ReportInput) {
    mkdirSync(outDir, { recursive: true });
    this.multi = input.files.length > 1;
    const first = input.headers[0];
    const sameHeaders = input.headers.every((h) => h.names.join('\u0000') === first.names.join('\u0000'));
    // A failed.csv fed back as input brings the columns this tool added (_row, _code, ...):
    // they are dropped here so that they are not repeated in the new report.
    const added = (n: string) => (REPORT_COLUMNS as readonly string[]).includes(n);
    if (sameHeaders) {
      this.columns = first.raw.filter((_r, i) => !added(first.names[i]));
      let k = 0;
      const pos = first.names.map((n) => (added(n) ? -1 : k++));
      this.placement = input.headers.map(() => pos);
    } else {
      // Different headers across inputs: the union of column names, in order of first appearance.
      const union: string[] = [];
      for (const h of input.headers) for (const n of h.names) if (!added(n) && !union.includes(n)) union.push(n);
      this.columns = union;
      this.placement = input.headers.map((h) => h.names.map((n) => (added(n) ? -1 : union.indexOf(n))));
    }
    const pre = this.multi ? ['_file'] : [];
    this.success = new CsvFile(join(outDir, 'success.csv'),
      [...pre, '_row', 'target_id', 'owner', 'action', 'name', 'phone', 'email', 'merged_rows', 'conflicts', 'notes'], false);
    this.failed = new CsvFile(join(outDir, 'failed.csv'), [...this.columns, ...pre, '_row', '_stage', '_code', '_error', '_hint'], false);
    this.merged = new CsvFile(join(outDir, 'merged.csv'),
      [...this.columns, ...pre, '_row', '_merged_into_row', '_merged_into_id', '_key', '_by'], false);
    this.unchanged = new CsvFile(join(outDir, 'unchanged.csv'), [...pre, '_row', 'target_id', 'owner', 'name'], true);
  }

  private original(ref: RowRef): string[] {
    const out = new Array<string>(this.columns.length).fill('');
    const place = this.placement[ref.file];
    for (let i = 0; i < ref.values.length; i++) {
      const at = place[i];
      // A ragged row's extra fields are not added as columns (failed.csv stays rectangular,
      // so it can be fed back); the row's _error quotes them.
      if (at !== undefined && at >= 0) out[at] = ref.values[i];
    }
    return out;
  }

  private pre(ref: RowRef): string[] {
    return this.multi ? [this.input.files[ref.file]] : [];
  }

  /** A row was read from a source (call once per row, before its outcome). */
  rowRead(n = 1) { this.counts.read += n; }

  fail(ref: RowRef, stage: Stage, code: ErrorCode, message: string) {
    this.counts.failed++;
    this.failuresByCode[code] = (this.failuresByCode[code] ?? 0) + 1;
    this.failuresByStage[stage] = (this.failuresByStage[stage] ?? 0) + 1;
    const ex = (this.examples[code] ??= []);
    if (ex.length < 5) ex.push({ row: ref.row, file: this.input.files[ref.file], message });
    this.failed.write([...this.original(ref), ...this.pre(ref), String(ref.row), stage, code, message, hintFor(code)]);
  }

  private mergedRow(ref: RowRef, into: RowRef, intoId: string, key: string, by: 'pipeline' | 'target') {
    this.counts.merged++;
    this.mergedBy[by]++;
    const k = key.split('=')[0] || key;
    this.mergesByKey[k] = (this.mergesByKey[k] ?? 0) + 1;
    this.merged.write([...this.original(ref), ...this.pre(ref), String(ref.row), String(into.row), intoId, key, by]);
  }

  /** The outcome of one contact from the loader (or from check / file targets). */
  settle(rec: ContactRecord, o: LoadOutcome) {
    const c = rec.contact;
    if (o.action) this.targetActions[o.action] = (this.targetActions[o.action] ?? 0) + 1;
    if (o.status === 'failed') {
      const code = o.code ?? 'TARGET_REJECTED';
      const msg = o.error ?? 'the target refused the contact';
      this.fail(rec.ref, 'load', code, msg);
      // Rows folded into a contact that did not load did not load either.
      for (const m of rec.merged) this.fail(m.ref, 'load', code, `${msg} (merged into row ${rec.ref.row} by ${m.key})`);
      return;
    }
    const id = o.targetId ?? c.id ?? '';
    if (o.status === 'success') {
      this.counts.success++;
      const notes = [...rec.notes, ...(o.notes ?? [])];
      this.success.write([...this.pre(rec.ref), String(rec.ref.row), id, c.owner ?? '', o.action ?? 'loaded', displayName(c),
        c.phones.map((p) => p.e164 + (p.ext ? ` x${p.ext}` : '')).join(' '), c.emails.join(' '),
        rec.merged.map((m) => m.ref.row).join(' '), describeConflicts(rec), notes.join('; ')]);
    } else if (o.status === 'unchanged') {
      this.counts.unchanged++;
      this.unchanged.write([...this.pre(rec.ref), String(rec.ref.row), id, c.owner ?? '', displayName(c)]);
    } else {
      // merged by the target into a contact it already had
      this.mergedRow(rec.ref, rec.ref, id, o.notes?.[0] ?? 'merged by target', 'target');
    }
    for (const m of rec.merged) this.mergedRow(m.ref, rec.ref, id, m.key, 'pipeline');
    for (const cf of rec.conflicts) {
      this.conflictsByField[cf.field] = (this.conflictsByField[cf.field] ?? 0) + 1;
      if (this.conflictExamples.length < 50) this.conflictExamples.push({ row: rec.ref.row, ...cf });
    }
    if (o.notes?.length && o.status !== 'success') for (const n of o.notes) this.noteOnce(n);
  }

  private readonly seenNotes = new Set<string>();
  noteOnce(n: string) {
    if (this.seenNotes.has(n) || this.notes.length >= 200) return;
    this.seenNotes.add(n);
    this.notes.push(n);
  }

  settled(): number {
    const c = this.counts;
    return c.success + c.failed + c.merged + c.unchanged;
  }

  flush() {
    this.success.flush(); this.failed.flush(); this.merged.flush(); this.unchanged.flush();
  }

  close() {
    this.success.close(); this.failed.close(); this.merged.close(); this.unchanged.close();
  }
}

/** "company: kept "Acme" over "ACME Inc"; title: kept ..." */
export function describeConflicts(rec: ContactRecord): string {
  return rec.conflicts.map((c) => `${c.field}: kept ${JSON.stringify(c.chosen)} over ${c.rejected.map((r) => JSON.stringify(r)).join(', ')}`).join('; ');
}
