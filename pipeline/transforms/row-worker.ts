/**
 * Entry of a row worker thread (see row-pool.ts). It receives the validated mapping and
 * each input's header once, compiles the mapping itself (functions cannot cross threads),
 * then answers batches of rows' cells with their outcomes, one message per batch.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Mapping } from '../mapping/schema.js';
import { compileMapping } from './map.js';
import { createRowProcessor, type RowProcessor } from './rows.js';
import type { RowPoolInit, RowPoolRequest, RowPoolResponse } from './row-pool.js';

const init = workerData as RowPoolInit;
const processors = new Map<number, RowProcessor>();

function processorFor(file: number): RowProcessor {
  let p = processors.get(file);
  if (!p) {
    const f = init.files[file];
    // The main thread compiled the same mapping against the same header without error,
    // so this cannot fail on a missing column.
    p = createRowProcessor(init.mapping as Mapping, compileMapping(init.mapping as Mapping, f.headers, f.file, init.mappingFile));
    processors.set(file, p);
  }
  return p;
}

parentPort!.on('message', (req: RowPoolRequest) => {
  let res: RowPoolResponse;
  try {
    res = { id: req.id, outcomes: processorFor(req.file)(req.rows) };
  } catch (e) {
    // A bug in map/normalize/validate: report it with the batch so the run fails naming it,
    // instead of the thread dying and the main thread guessing why.
    const err = e as Error;
    res = { id: req.id, error: { message: err?.message ?? String(e), stack: err?.stack, index: firstThrowing(req) } };
  }
  parentPort!.postMessage(res);
});

/** Which row of the batch throws (rerun one by one: only ever done on a bug). */
function firstThrowing(req: RowPoolRequest): number | undefined {
  for (let i = 0; i < req.rows.length; i++) {
    try { processorFor(req.file)([req.rows[i]]); } catch { return i; }
  }
  return undefined;
}
