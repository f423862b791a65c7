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
import { csvCell, REPORT_COLUMNS } from './csv-safe.js';
import { CsvFile } from './csv-file.js';
import { DEFAULT_MAX_CELL_CHARS, HtmlRows, htmlRowsFile, type PreparedTable } from './html-rows.js';

export type Stage = 'read' | 'map' | 'normalize' | 'validate' | 'dedupe' | 'load';

export interface Counts { read: number; success: number; failed: number; merged: number; unchanged: number }

export interface Example { row: number; file: string; message: string }

export interface ReportInput {
  /** Display path of each input, by RowRef.file index. */
  files: string[];
  /** Original header of each input (raw names) and normalized names, by index. */
  headers: { raw: string[]; names: string[] }[];
}

/** Rows of each table report.html embeds (failed, merged, deleted; survivors of the merged rows embedded). */
export const DEFAULT_MAX_ROWS = 100_000;

/** report.html's tables of rows, prepared by the run (html-rows.ts). */
export interface PreparedTables {
  failed: PreparedTable; merged: PreparedTable; survivors: PreparedTable;
  /** The limits they were prepared with: a page asked for others reads the CSVs. */
  maxRows: number; maxCellChars: number;
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
  /**
   * report.html's rows, written as JSON as they settle (html-rows.ts): the first
   * DEFAULT_MAX_ROWS rows of failed.csv and merged.csv, and the success.csv rows of the
   * contacts those merged rows were merged into ("kept").
   */
  private readonly html: { failed: HtmlRows; merged: HtmlRows; survivors: HtmlRows };
  /** Column layout of the original-columns part of failed.csv / merged.csv. */
  private readonly columns: string[];
  private readonly placement: number[][];
  /** Per input: placement only moves forward, so a row's cells can be written in one pass. */
  private readonly inOrder: boolean[];
  /** Per input: the _file cell, encoded once. */
  private readonly fileCell: string[];
  private readonly multi: boolean;

  /** `htmlMaxRows`: rows of each table report.html embeds (tests set fewer). */
  constructor(readonly outDir: string, private readonly input: ReportInput, private readonly htmlMaxRows = DEFAULT_MAX_ROWS) {
    makeOutDir(outDir);
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
    this.inOrder = this.placement.map((place) => {
      let last = -1;
      for (const at of place) if (at >= 0) { if (at <= last) return false; last = at; }
      return true;
    });
    this.fileCell = input.files.map((f) => csvCell(f) + ',');
    const pre = this.multi ? ['_file'] : [];
    const successColumns = [...pre, '_row', 'target_id', 'owner', 'action', 'name', 'phone', 'email', 'merged_rows', 'conflicts', 'notes'];
    const failedColumns = [...this.columns, ...pre, '_row', '_stage', '_code', '_error', '_hint'];
    const mergedColumns = [...this.columns, ...pre, '_row', ...(this.multi ? ['_merged_into_file'] : []), '_merged_into_row', '_merged_into_id', '_key', '_by'];
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

  /**
   * A failed or merged row's cells as report.html embeds them: the original cells in the
   * report's column layout (what original() encodes), the _file cell with several inputs,
   * then `more`.
   */
  private pageCells(ref: RowRef, ...more: string[]): string[] {
    const out = this.placedCells(ref);
    if (this.multi) out.push(this.input.files[ref.file]);
    for (const m of more) out.push(m);
    return out;
  }

  /** The row's original cells in the report's column layout, missing ones empty. */
  private placedCells(ref: RowRef): string[] {
    const place = this.placement[ref.file];
    const values = ref.values;
    const out = new Array<string>(this.columns.length).fill('');
    for (let i = 0; i < values.length; i++) {
      const at = place[i];
      if (at !== undefined && at >= 0) out[at] = values[i] ?? '';
    }
    return out;
  }

  /**
   * The row's original cells in the report's column layout, each followed by a comma.
   * A ragged row's extra fields are not added as columns (failed.csv stays rectangular,
   * so it can be fed back); the row's _error quotes them.
   */
  private original(ref: RowRef): string {
    const place = this.placement[ref.file];
    const values = ref.values;
    const width = this.columns.length;
    let line = '';
    if (this.inOrder[ref.file]) {
      let next = 0;
      for (let i = 0; i < values.length; i++) {
        const at = place[i];
        if (at === undefined || at < 0) continue;
        for (; next < at; next++) line += ',';
        line += csvCell(values[i] ?? '') + ',';
        next = at + 1;
      }
      for (; next < width; next++) line += ',';
      return line;
    }
    for (const v of this.placedCells(ref)) line += csvCell(v) + ',';
    return line;
  }

  /** The _file cell and its comma when the run has several inputs, else nothing. */
  private pre(ref: RowRef): string {
    return this.multi ? this.fileCell[ref.file] : '';
  }

  /** With several inputs, each input's _file cell and its comma, as success.csv rows start; else undefined. */
  successFileCells(): string[] | undefined { return this.multi ? [...this.fileCell] : undefined; }

  /** A row was read from a source (call once per row, before its outcome). */
  rowRead(n = 1) { this.counts.read += n; }

  fail(ref: RowRef, stage: Stage, code: ErrorCode, message: string) {
    this.counts.failed++;
    this.failuresByCode[code] = (this.failuresByCode[code] ?? 0) + 1;
    this.failuresByStage[stage] = (this.failuresByStage[stage] ?? 0) + 1;
    const ex = (this.examples[code] ??= []);
    if (ex.length < 5) ex.push({ row: ref.row, file: this.input.files[ref.file], message });
    this.failed.writeLine(`${this.original(ref)}${this.pre(ref)}${ref.row},${stage},${code},${csvCell(message)},${csvCell(hintFor(code))}`);
    const page = this.html.failed;
    if (page.wants) page.add(this.pageCells(ref, String(ref.row), stage, code, message, hintFor(code)));
    else page.skip();
  }

  private mergedRow(ref: RowRef, into: RowRef, intoId: string, key: string, by: 'pipeline' | 'target') {
    this.counts.merged++;
    this.mergedBy[by]++;
    const k = key.split('=')[0] || key;
    this.mergesByKey[k] = (this.mergesByKey[k] ?? 0) + 1;
    // With several inputs the kept row may be in another file than the merged one: both are named.
    this.merged.writeLine(`${this.original(ref)}${this.pre(ref)}${ref.row},${this.pre(into)}${into.row},${csvCell(intoId)},${csvCell(key)},${by}`);
    const page = this.html.merged;
    if (page.wants) {
      const cells = this.pageCells(ref, String(ref.row));
      if (this.multi) cells.push(this.input.files[into.file]);
      cells.push(String(into.row), intoId, key, by);
      page.add(cells);
    } else page.skip();
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
      const f = successFields(rec, o, this.multi ? this.input.files : undefined);
      this.success.writeLine(successLine(rec, o, f, this.multi ? this.fileCell : undefined));
      // Its merged rows come next in merged.csv: the page shows this contact beside them if
      // the first of them is among the rows it embeds.
      if (rec.merged.length && this.html.merged.wants) {
        const pre = this.multi ? [this.input.files[rec.ref.file]] : [];
        this.html.survivors.add([...pre, String(rec.ref.row), f.id, c.owner ?? '', o.action ?? 'loaded',
          displayName(c), f.phones, c.emails.join(' '), f.mergedRows, f.conflicts, f.notes]);
      }
    } else if (o.status === 'unchanged') {
      this.counts.unchanged++;
      this.unchanged.writeLine(`${this.pre(rec.ref)}${rec.ref.row},${csvCell(id)},${csvCell(c.owner ?? '')},${csvCell(displayName(c))},${csvCell(o.loadedBy ?? '')}`);
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

/** The cells of a success.csv row that take work to build (report.html's "kept" table repeats them). */
export interface SuccessFields { id: string; phones: string; mergedRows: string; conflicts: string; notes: string }

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
