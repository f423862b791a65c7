/**
 * Entry of the payload worker (see singleton-render.ts): reads the contacts it is asked for
 * from the dedupe spill and answers each chunk with their rendered bytes, handed over.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { renderChunk, SpillFileReader, type RenderRequest, type RenderResponse, type SingletonRenderInit } from './singleton-render.js';

const init = workerData as SingletonRenderInit;
const spill = new SpillFileReader(init.spillPath);

parentPort!.on('message', (req: RenderRequest) => {
  let res: RenderResponse;
  try {
    res = { id: req.id, chunk: renderChunk(req.starts.length, (k) => spill.payload(req.starts[k], req.ends[k]), init) };
  } catch (e) {
    const err = e as Error;
    res = { id: req.id, error: { message: err?.message ?? String(e), stack: err?.stack } };
  }
  parentPort!.postMessage(res, res.chunk ? [res.chunk.bytes.buffer as ArrayBuffer, res.chunk.sizes.buffer as ArrayBuffer] : []);
});
