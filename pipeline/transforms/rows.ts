/**
 * The per-row stages (map -> normalize -> validate) as one pure function over a batch of
 * rows' cells. The same function runs in the main thread (small inputs, or
 * CONTACT_IMPORT_WORKERS=0) and in the row workers (row-worker.ts), so a row gets the
 * same outcome wherever it ran.
 *
 * Outcomes are plain data (structured-clone friendly): the main thread, which owns the
 * report and the rows' original cells, turns them into failures or ContactRecords.
 */
import type { Contact } from '../contact.js';
import { inColumn, type ErrorCode } from '../errors.js';
import type { Mapping } from '../mapping/schema.js';
import type { Stage } from '../report/writer.js';
import type { CompiledMapping } from './map.js';
import { createNormalizer } from './normalize.js';
import { createValidator } from './validate.js';
import { EntryEncoder, type EncodedRecords, type KeySpec } from './dedupe-entry.js';

/** A row that failed: stage, code, message (as report.fail takes them). */
export type RowFailure = readonly [stage: Stage, code: ErrorCode, message: string];
/** A row that passed: the contact, its notes (omitted when none) and its dedupe date. */
export interface RowContact { contact: Contact; notes?: string[]; date?: string }
export type RowOutcome = RowFailure | RowContact;

export const isRowFailure = (o: RowOutcome): o is RowFailure => Array.isArray(o);

export type RowProcessor = (rows: readonly string[][]) => RowOutcome[];

/** One row's cells -> its outcome. */
type RowFunction = (cells: string[]) => RowOutcome;

/** One input file's row function: the mapping compiled against that file's header. */
function createRowFunction(mapping: Mapping, compiled: CompiledMapping): RowFunction {
  const normalize = createNormalizer(mapping);
  const validate = createValidator(mapping.required, undefined, compiled.columnsOf);
  return (cells) => {
    const mapped = compiled.map(cells);
    const n = normalize(mapped);
    if (n.problems.length) {
      return ['normalize', n.problems[0].code, n.problems.map((p) => p.message + inColumn(p.column)).join('; ')];
    }
    const missing = validate(n.contact);
    if (missing.length) return ['validate', missing[0].code, missing.map((p) => p.message).join('; ')];
    // Empty notes and absent dates are left out: fewer objects to clone across threads.
    const r: RowContact = { contact: n.contact };
    if (n.notes.length) r.notes = n.notes;
    if (mapped.date !== undefined) r.date = mapped.date;
    return r;
  };
}

/** One input file's batch function over rows' cells, for a run that does not dedupe. */
export function createRowProcessor(mapping: Mapping, compiled: CompiledMapping): RowProcessor {
  const processRow = createRowFunction(mapping, compiled);
  return (rows) => {
    const out: RowOutcome[] = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) out[i] = processRow(rows[i]);
    return out;
  };
}

/**
 * A batch's outcomes for a run that dedupes: the failures (by position among the rows
 * given) and the valid rows already encoded as dedupe entries (dedupe-entry.ts), which
 * cross threads as transferred memory instead of cloned objects.
 */
export interface EncodedOutcomes {
  /** Positions of the rows that failed, ascending; failures[i] is the failure of row failed[i]. */
  failed: number[];
  failures: RowFailure[];
  /**
   * The cells of each failed row (failed.csv repeats them): the main thread lets go of a
   * batch's cells once it is sent to a worker, so that they die young instead of being
   * promoted while the worker has the batch.
   */
  failedValues: string[][];
  records: EncodedRecords;
}
export type BatchOutcomes = RowOutcome[] | EncodedOutcomes;
export const isEncoded = (o: BatchOutcomes): o is EncodedOutcomes => !Array.isArray(o);

/** Rows' cells and their row numbers -> outcomes; encoded for dedupe when `encode` is given. */
export type BatchProcessor = (rows: readonly string[][], rowNos: readonly number[]) => BatchOutcomes;

/**
 * Which row of a batch that threw throws on its own (a bug in map/normalize/validate), so
 * that the run's message names it: the rows run again one by one, only ever on a bug.
 */
export function firstThrowing(process: BatchProcessor, rows: readonly string[][], rowNos: readonly number[]): number | undefined {
  for (let i = 0; i < rows.length; i++) {
    try { process([rows[i]], [rowNos[i]]); } catch { return i; }
  }
  return undefined;
}

/**
 * One input file's batch function. With `encode` (the run dedupes), valid rows become
 * dedupe entries right here: keys hashed, record serialized, in the thread that made them.
 * `nulFree`: the file's source never passes a cell holding U+0000 (sources/types.ts cellsFreeOfNul).
 */
export function createBatchProcessor(mapping: Mapping, compiled: CompiledMapping, file: number, encode?: KeySpec, nulFree = false): BatchProcessor {
  if (!encode) return createRowProcessor(mapping, compiled);
  const processRow = createRowFunction(mapping, compiled);
  const encoder = new EntryEncoder(encode, undefined, 256 * 1024);
  return (rows, rowNos) => {
    const failed: number[] = [];
    const failures: RowFailure[] = [];
    const failedValues: string[][] = [];
    try {
      // Each contact is encoded as soon as it is made, so it dies young: made all first, a
      // batch's contacts outlived several young-generation collections and were copied by each.
      for (let i = 0; i < rows.length; i++) {
        const o = processRow(rows[i]);
        if (isRowFailure(o)) { failed.push(i); failures.push(o); failedValues.push(rows[i]); continue; }
        encoder.add({ contact: o.contact, file, row: rowNos[i], values: rows[i], nulFree, notes: o.notes ?? [], date: o.date });
      }
    } catch (e) {
      encoder.discard(); // a bug mid-batch: the next batch must not start with this one's entries
      throw e;
    }
    return { failed, failures, failedValues, records: encoder.finish() };
  };
}
