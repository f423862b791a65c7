/**
 * The run report: success.csv, failed.csv, merged.csv (and unchanged.csv when any)
 * written as rows settle, plus counts for summary.json. Every row read ends in
 * exactly one of the four outcomes; `assertInvariant` checks the sum at the end.
 *
 * CSVs are written in blocks with synchronous writes (file-sink.ts): bounded memory, and
 * a killed run keeps what it reported up to the last block. Rows are encoded straight into
 * one line string per row, without an array of cells, because this runs for every row read.
 */
import { join } from 'node:path';
import type { ContactRecord, RowRef } from '../contact.js';
import { displayName } from '../contact.js';
import { hintFor, type ErrorCode } from '../errors.js';
import { makeDirs } from '../dirs.js';
import type { LoadOutcome } from '../loaders/types.js';
import { csvCell } from './csv-safe.js';
import { CsvFile } from './csv-file.js';
import { DEFAULT_MAX_CELL_CHARS, HtmlRows, htmlRowsFile, type PreparedTable } from './html-rows.js';
import { keyName, RowLayout, type MergedBy, type ReportInput, type SuccessFields } from './row-layout.js';

export type Stage = 'read' | 'map' | 'normalize' | 'validate' | 'dedupe' | 'load';

export interface Counts { read: number; success: number; failed: number; merged: number; unchanged: number }

export interface Example { row: number; file: string; message: string }

export type { ReportInput, SuccessFields } from './row-layout.js';

/** Rows of each table report.html embeds (failed, merged, deleted; survivors of the merged rows embedded). */
export const DEFAULT_MAX_ROWS = 100_000;

/** report.html's tables of rows, prepared by the run (html-rows.ts). */
export interface PreparedTables {
  failed: PreparedTable; merged: PreparedTable; survivors: PreparedTable;
  /** The limits they were prepared with: a page asked for others reads the CSVs. */
  maxRows: number; maxCellChars: number;
}

/** A field on which merged rows disagreed, as summary.json's first examples show it. */
export interface ConflictExample { row: number; field: string; chosen: string; rejected: string[] }

/** The parts of a contact others were merged into, rendered elsewhere (settleRenderedMerge's `at` pairs). */
export const MERGE_PART = { success: 0, merged: 1, mergedPage: 2, keptPage: 3 } as const;

/** RenderedMerges.cut: a cell was cut for the page in the contact's merged rows, in its kept row. */
export const CUT = { merged: 1, kept: 2 } as const;

/**
 * Contacts others were merged into, rendered elsewhere: per contact c, its merged rows' key
 * names (keyName) at keysAt[c] to keysAt[c + 1] of `keyNames` (one per merged row), how many
 * of those rows the page embeds (claimMergedPageRows), which cells the page cut (CUT), and its
 * conflicts at conflictsAt[c] to conflictsAt[c + 1] of `conflicts`. Plain data: it crosses threads.
 */
export interface RenderedMerges {
  keyNames: string[];
  keysAt: Uint32Array;
  embedded: Int32Array;
  cut: Uint8Array;
  conflicts: ConflictExample[];
  conflictsAt: Uint32Array;
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
  readonly conflictExamples: ConflictExample[] = [];
  private readonly success: CsvFile;
  private readonly failed: CsvFile;
  private readonly merged: CsvFile;
  private readonly unchanged: CsvFile;
  /**
   * report.html's rows, written as JSON as they settle (html-rows.ts): the first
   * DEFAULT_MAX_ROWS rows of failed.csv and merged.csv, and the success.csv rows of the
   * contacts those merged rows were merged into ("kept").
   */
  private readonly html: { failed: HtmlRows; merged: HtmlRows; survivors: HtmlRows };
  /** Where a row's original cells go, and how a merged row is written (row-layout.ts). */
  readonly layout: RowLayout;

  /** `htmlMaxRows`: rows of each table report.html embeds (tests set fewer). */
  constructor(readonly outDir: string, input: ReportInput, private readonly htmlMaxRows = DEFAULT_MAX_ROWS) {
    makeOutDir(outDir);
    this.layout = new RowLayout(input);
    const { columns, multi } = this.layout;
    const pre = multi ? ['_file'] : [];
    const successColumns = [...pre, '_row', 'target_id', 'owner', 'action', 'name', 'phone', 'email', 'merged_rows', 'conflicts', 'notes'];
    const failedColumns = [...columns, ...pre, '_row', '_stage', '_code', '_error', '_hint'];
    const mergedColumns = [...columns, ...pre, '_row', ...(multi ? ['_merged_into_file'] : []), '_merged_into_row', '_merged_into_id', '_key', '_by'];
    this.success = new CsvFile(join(outDir, 'success.csv'), successColumns, false);
    this.failed = new CsvFile(join(outDir, 'failed.csv'), failedColumns, false);
    this.merged = new CsvFile(join(outDir, 'merged.csv'), mergedColumns, false);
    this.html = {
      failed: new HtmlRows(htmlRowsFile(outDir, 'failed'), failedColumns, htmlMaxRows),
      merged: new HtmlRows(htmlRowsFile(outDir, 'merged'), mergedColumns, htmlMaxRows),
      survivors: new HtmlRows(htmlRowsFile(outDir, 'survivors'), successColumns, Number.MAX_SAFE_INTEGER),
    };
    this.unchanged = new CsvFile(join(outDir, 'unchanged.csv'), [...pre, '_row', 'target_id', 'owner', 'name', 'loaded_by_run'], true);
  }

  /**
   * From now on a write the disk refuses (WRITE_FAILED) goes to `handler`, once per file,
   * instead of being thrown out of fail() / settle() in the middle of a batch: the rows
   * are still counted, so a run that stops on it still adds up.
   */
  onWriteError(handler: (e: unknown) => void) {
    for (const f of [this.success, this.failed, this.merged, this.unchanged]) f.onError = handler;
  }


  /** A row was read from a source (call once per row, before its outcome). */
  rowRead(n = 1) { this.counts.read += n; }

  fail(ref: RowRef, stage: Stage, code: ErrorCode, message: string) {
    this.counts.failed++;
    this.failuresByCode[code] = (this.failuresByCode[code] ?? 0) + 1;
    this.failuresByStage[stage] = (this.failuresByStage[stage] ?? 0) + 1;
    const ex = (this.examples[code] ??= []);
    if (ex.length < 5) ex.push({ row: ref.row, file: this.layout.input.files[ref.file], message });
    const l = this.layout;
    this.failed.writeLine(`${l.original(ref)}${l.pre(ref)}${ref.row},${stage},${code},${csvCell(message)},${csvCell(hintFor(code))}`);
    const page = this.html.failed;
    if (page.wants) page.add(l.pageCells(ref, String(ref.row), stage, code, message, hintFor(code)));
    else page.skip();
  }

  private mergedRow(ref: RowRef, into: RowRef, intoId: string, key: string, by: MergedBy) {
    this.counts.merged++;
    this.mergedBy[by]++;
    const k = keyName(key);
    this.mergesByKey[k] = (this.mergesByKey[k] ?? 0) + 1;
    this.merged.writeLine(this.layout.mergedLine(ref, into, intoId, key, by));
    const page = this.html.merged;
    if (page.wants) page.add(this.layout.mergedPageCells(ref, into, intoId, key, by));
    else page.skip();
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
      const f = successFields(rec, o, this.layout.mergedRowFiles);
      this.success.writeLine(successLine(rec, o, f, this.layout.successFileCells));
      // Its merged rows come next in merged.csv: the page shows this contact beside them if
      // the first of them is among the rows it embeds.
      if (rec.merged.length && this.html.merged.wants) this.html.survivors.add(this.layout.survivorPageCells(rec, o, f));
    } else if (o.status === 'unchanged') {
      this.counts.unchanged++;
      this.unchanged.writeLine(`${this.layout.pre(rec.ref)}${rec.ref.row},${csvCell(id)},${csvCell(c.owner ?? '')},${csvCell(displayName(c))},${csvCell(o.loadedBy ?? '')}`);
    } else {
      // merged by the target into a contact it already had
      this.mergedRow(rec.ref, rec.ref, id, o.notes?.[0] ?? 'merged by target', 'target');
    }
    for (const m of rec.merged) this.mergedRow(m.ref, rec.ref, id, m.key, 'pipeline');
    for (const cf of rec.conflicts) this.conflict({ row: rec.ref.row, ...cf });
    if (o.notes?.length && o.status !== 'success') for (const n of o.notes) this.noteOnce(n);
  }

  private conflict(e: ConflictExample) {
    this.conflictsByField[e.field] = (this.conflictsByField[e.field] ?? 0) + 1;
    if (this.conflictExamples.length < 50) this.conflictExamples.push(e);
  }

  /**
   * A contact the file target took whose success.csv row was rendered elsewhere (the second
   * phase's singleton renderer: a contact that merged with nothing, no conflicts, action
   * `action`): [start, end) of `b` is that row, line end included, as successLine() gives it.
   */
  settleRendered(b: Buffer, start: number, end: number, action: string) {
    this.targetActions[action] = (this.targetActions[action] ?? 0) + 1;
    this.counts.success++;
    this.success.writeBytes(b, start, end);
  }

  /**
   * How many of the next `n` merged rows report.html embeds, claimed now for a contact whose
   * merged rows are rendered elsewhere and settled later, in order, with settleRenderedMerge.
   */
  claimMergedPageRows(n: number): number {
    return this.html.merged.claim(n);
  }

  /** The page's longest cell in its merged and kept tables (html-rows.ts cutCells), for rows rendered elsewhere. */
  get pageCellChars(): number { return this.html.merged.maxCellChars; }

  /**
   * Contact `c` of `r`, which the file target took and others were merged into, its lines
   * rendered elsewhere (the second phase's payload worker, with the functions settle() calls):
   * `at` holds a [start, end) pair of `b` per MERGE_PART, line ends included, a start of -1
   * where it has none.
   */
  settleRenderedMerge(b: Buffer, at: ArrayLike<number>, r: RenderedMerges, c: number, action: string) {
    this.settleRendered(b, at[2 * MERGE_PART.success], at[2 * MERGE_PART.success + 1], action);
    const n = r.keysAt[c + 1] - r.keysAt[c];
    this.counts.merged += n;
    this.mergedBy.pipeline += n;
    for (let k = r.keysAt[c]; k < r.keysAt[c + 1]; k++) {
      const name = r.keyNames[k];
      this.mergesByKey[name] = (this.mergesByKey[name] ?? 0) + 1;
    }
    const m = 2 * MERGE_PART.merged, mp = 2 * MERGE_PART.mergedPage, kp = 2 * MERGE_PART.keptPage;
    if (at[m] >= 0) this.merged.writeBytes(b, at[m], at[m + 1], n);
    const embedded = r.embedded[c];
    if (at[kp] >= 0) this.html.survivors.addRendered(b, at[kp], at[kp + 1], 1, (r.cut[c] & CUT.kept) !== 0);
    if (at[mp] >= 0) this.html.merged.addRendered(b, at[mp], at[mp + 1], embedded, (r.cut[c] & CUT.merged) !== 0);
    this.html.merged.skip(n - embedded);
    for (let k = r.conflictsAt[c]; k < r.conflictsAt[c + 1]; k++) this.conflict(r.conflicts[k]);
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
    for (const t of Object.values(this.html)) t.close();
  }

  /**
   * report.html's tables as the run prepared them (after close()), or undefined when a side
   * file could not be written: the page is then built from the CSVs.
   */
  preparedTables(): PreparedTables | undefined {
    const { failed, merged, survivors } = this.html;
    if (failed.broken || merged.broken || survivors.broken) return undefined;
    // Without merged rows the page's "kept" table has no columns, as when it read no file.
    return {
      failed: failed.prepared(), merged: merged.prepared(), survivors: survivors.prepared(merged.state.total ? survivors.columns : []),
      maxRows: this.htmlMaxRows, maxCellChars: DEFAULT_MAX_CELL_CHARS,
    };
  }

  /** Removes the side files of the prepared tables (once the page is written, or not). */
  removePreparedTables() {
    for (const t of Object.values(this.html)) t.remove();
  }
}

/**
 * Creates the report folder. --out naming an existing file (or a path under one, or through
 * a link to nothing) is the user's mistake, reported as such instead of as mkdir's errno.
 */
function makeOutDir(outDir: string) {
  makeDirs(outDir, { what: 'the report folder', fix: 'pick a folder (a new or existing one) for --out', code: 'OUT_NOT_A_FOLDER' });
}

/** "company: kept "Acme" over "ACME Inc"; title: kept ..." */
export function describeConflicts(rec: ContactRecord): string {
  return rec.conflicts.map((c) => `${c.field}: kept ${JSON.stringify(c.chosen)} over ${c.rejected.map((r) => JSON.stringify(r)).join(', ')}`).join('; ');
}

/** `files`: the inputs' display paths when the run has several (merged_rows then names each row's file). */
export function successFields(rec: ContactRecord, o: LoadOutcome, files: readonly string[] | undefined): SuccessFields {
  const c = rec.contact;
  const notes = !o.notes?.length ? rec.notes.join('; ')
    : rec.notes.length ? `${rec.notes.join('; ')}; ${o.notes.join('; ')}` : o.notes.join('; ');
  let phones = '';
  for (let i = 0; i < c.phones.length; i++) phones += (i ? ' ' : '') + c.phones[i].e164 + (c.phones[i].ext ? ` x${c.phones[i].ext}` : '');
  let mergedRows = '';
  if (files) {
    // With several inputs a row number alone is ambiguous: each entry names its file.
    for (let i = 0; i < rec.merged.length; i++) {
      const ref = rec.merged[i].ref;
      mergedRows += (i ? '; ' : '') + `${files[ref.file]}:${ref.row}`;
    }
  } else {
    for (let i = 0; i < rec.merged.length; i++) mergedRows += (i ? ' ' : '') + rec.merged[i].ref.row;
  }
  return { id: o.targetId ?? c.id ?? '', phones, mergedRows, conflicts: describeConflicts(rec), notes };
}

/**
 * A contact's success.csv row, without its line end. `fileCell`: with several inputs, each
 * input's _file cell and its comma (csvCell of its display path + ','). A pure function, so
 * that the singleton renderer (another thread) writes the very row the report would.
 */
export function successLine(rec: ContactRecord, o: LoadOutcome, f: SuccessFields, fileCell: readonly string[] | undefined): string {
  const c = rec.contact;
  return `${fileCell ? fileCell[rec.ref.file] : ''}${rec.ref.row},${csvCell(f.id)},${csvCell(c.owner ?? '')},${csvCell(o.action ?? 'loaded')},`
    + `${csvCell(displayName(c))},${csvCell(f.phones)},${csvCell(c.emails.join(' '))},${fileCell ? csvCell(f.mergedRows) : f.mergedRows},`
    + `${csvCell(f.conflicts)},${csvCell(f.notes)}`;
}
