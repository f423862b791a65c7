/**
 * A port on 127.0.0.1 that refuses connections, for tests of an unreachable target.
 *
 * Binding port 0 and releasing it is racy here: test files run two at a time, and the next
 * server another file starts may be given that very port. Every test server listens on port 0,
 * which the kernel picks from the ephemeral range (above 1023), so a port below 1024 that
 * refuses a connection now is one no test can take. Probed rather than assumed, in case a
 * service of the machine listens on one.
 */
import { connect } from 'node:net';

const CANDIDATES = [1, 9, 4, 6, 8, 10, 12, 14, 16];

/** Whether a connection to `port` is refused at once (a port whose packets are dropped is not: it would hang). */
function refuses(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.setTimeout(2000, () => { s.destroy(); resolve(false); });
    s.once('connect', () => { s.destroy(); resolve(false); });
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNREFUSED'));
  });
}

export async function closedPort(): Promise<number> {
  for (const port of CANDIDATES) if (await refuses(port)) return port;
  throw new Error(`no refused port among ${CANDIDATES.join(', ')} on 127.0.0.1: every one of them has a listener`);
}
