/**
 * Entry of the payload worker (see singleton-render.ts): reads the contacts and clusters it
 * is asked for from the dedupe spill and answers each chunk with what the run writes for
 * them, rendered (ChunkRenderer), its bytes handed over.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openSync } from 'node:fs';
import { ChunkRenderer, type RenderRequest, type RenderResponse, type SingletonRenderInit } from './singleton-render.js';
import { SpillWindow } from './dedupe-spill.js';

const init = workerData as SingletonRenderInit;
// Its own descriptor on the spill: the contacts come in ascending order, read a window at a time.
const spill = new SpillWindow(openSync(init.spillPath, 'r'));
const renderer = new ChunkRenderer(init);

parentPort!.on('message', (req: RenderRequest) => {
  let res: RenderResponse;
  try {
    const c = req.clusters;
    // A cluster's rows are read on their own (its first row is usually in the window still).
    const chunk = renderer.render(req.starts.length, (k) => spill.payload(req.starts[k], req.ends[k]),
      c && { plan: c, payloadOf: (f) => spill.payloadAside(c.starts[f], c.ends[f]) });
    res = { id: req.id, chunk };
  } catch (e) {
    const err = e as Error;
    res = { id: req.id, error: { message: err?.message ?? String(e), stack: err?.stack } };
  }
  const transfer: ArrayBuffer[] = [];
  if (res.chunk) {
    transfer.push(res.chunk.bytes.buffer as ArrayBuffer, res.chunk.sizes.buffer as ArrayBuffer);
    const cl = res.chunk.clusters;
    if (cl) transfer.push(cl.sizes.buffer as ArrayBuffer, cl.keysAt.buffer as ArrayBuffer, cl.embedded.buffer as ArrayBuffer, cl.cut.buffer as ArrayBuffer, cl.conflictsAt.buffer as ArrayBuffer);
  }
  parentPort!.postMessage(res, transfer);
});
