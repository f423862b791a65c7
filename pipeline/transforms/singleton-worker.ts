/**
 * Entry of the payload worker (see singleton-render.ts): reads the contacts it is asked for
 * from the dedupe spill and answers each chunk with their rendered bytes, handed over, and
 * the surviving records of the chunk's clusters.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openSync } from 'node:fs';
import { renderChunk, type RenderRequest, type RenderResponse, type SingletonRenderInit } from './singleton-render.js';
import { SpillWindow } from './dedupe-spill.js';

const init = workerData as SingletonRenderInit;
// Its own descriptor on the spill: the contacts come in ascending order, read a window at a time.
const spill = new SpillWindow(openSync(init.spillPath, 'r'));

parentPort!.on('message', (req: RenderRequest) => {
  let res: RenderResponse;
  try {
    const c = req.clusters;
    // A cluster's rows are read on their own (its first row is usually in the window still).
    const chunk = renderChunk(req.starts.length, (k) => spill.payload(req.starts[k], req.ends[k]), init,
      c && { plan: c, payloadOf: (f) => spill.payloadAside(c.starts[f], c.ends[f]) });
    res = { id: req.id, chunk };
  } catch (e) {
    const err = e as Error;
    res = { id: req.id, error: { message: err?.message ?? String(e), stack: err?.stack } };
  }
  parentPort!.postMessage(res, res.chunk ? [res.chunk.bytes.buffer as ArrayBuffer, res.chunk.sizes.buffer as ArrayBuffer] : []);
});
