/** The HTTP plumbing the emulators share: listen on a free local port, close without waiting for idle keep-alive sockets. */
import type { Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Listens on 127.0.0.1 and a port the system picks; resolves with the origin (http://127.0.0.1:port). */
export async function listenLocal(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Drops open connections (loaders keep them alive) and stops listening. */
export function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())));
}

/**
 * Counts a request in flight until its response closes (answered or dropped), keeping the
 * high-water mark, then calls `done` (once). Returns the count at arrival, this request included.
 */
export function trackInFlight(state: { inFlight: number; maxInFlight: number }, res: ServerResponse, done: () => void): number {
  state.maxInFlight = Math.max(state.maxInFlight, ++state.inFlight);
  res.once('close', () => {
    state.inFlight--;
    done();
  });
  return state.inFlight;
}
