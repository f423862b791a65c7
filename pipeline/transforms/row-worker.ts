/**
 * Entry of a row worker thread (see row-pool.ts). It receives the validated mapping and
 * each input's header once, compiles the mapping itself (functions cannot cross threads),
 * then answers batches of rows' cells with their outcomes, one message per batch (for a
 * run that dedupes, valid rows encoded as dedupe entries, in memory handed over).
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Mapping } from '../mapping/schema.js';
import { compileMapping } from './map.js';
import { createBatchProcessor, firstThrowing, isEncoded, type BatchProcessor } from './rows.js';
import { transferList } from './dedupe-entry.js';
import type { RowPoolInit, RowPoolRequest, RowPoolResponse } from './row-pool.js';

const init = workerData as RowPoolInit;
const processors = new Map<number, BatchProcessor>();

function processorFor(file: number): BatchProcessor {
  let p = processors.get(file);
  if (!p) {
    const f = init.files[file];
    // The main thread compiled the same mapping against the same header without error,
    // so this cannot fail on a missing column.
    p = createBatchProcessor(init.mapping as Mapping, compileMapping(init.mapping as Mapping, f.headers, f.file, init.mappingFile), file, init.encode, f.nulFree);
    processors.set(file, p);
  }
  return p;
}

parentPort!.on('message', (req: RowPoolRequest) => {
  let res: RowPoolResponse;
  try {
    res = { id: req.id, outcomes: processorFor(req.file)(req.rows, req.rowNos) };
  } catch (e) {
    // A bug in map/normalize/validate: report it with the batch so the run fails naming it,
    // instead of the thread dying and the main thread guessing why. The processor is looked up
    // per row: compiling it may be what threw.
    const err = e as Error;
    res = { id: req.id, error: { message: err?.message ?? String(e), stack: err?.stack, index: firstThrowing((rows, rowNos) => processorFor(req.file)(rows, rowNos), req.rows, req.rowNos) } };
  }
  // Encoded records are handed over, not copied: the main thread writes them to the spill as they are.
  parentPort!.postMessage(res, res.outcomes && isEncoded(res.outcomes) ? transferList(res.outcomes.records) : []);
});
