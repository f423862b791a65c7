/** Runs the built `contact-import bridge` as a child process, as Talkdesk's side would find it. */
import { spawn, type ChildProcess } from 'node:child_process';
import { BIN, ROOT } from './cli.js';

export interface RunningBridge {
  child: ChildProcess;
  url: string;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<number | null>;
}

/**
 * Starts the bridge on a free port and resolves once its log (stderr) says where it listens;
 * rejects if it exits first. `env` is the whole environment beside PATH and HOME, so a test
 * states every credential it gives.
 */
export function startBridgeCli(args: string[], opts: { env: Record<string, string>; cwd?: string }): Promise<RunningBridge> {
  const child = spawn(process.execPath, [BIN, 'bridge', '--port', '0', ...args],
    { cwd: opts.cwd ?? ROOT, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...opts.env } });
  let out = '';
  let err = '';
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d) => { out += d; });
    child.stderr!.on('data', (d) => {
      err += d;
      const m = /listening on (http:\/\/[^\s"]+)/.exec(err);
      if (m) resolve({ child, url: m[1], stdout: () => out, stderr: () => err, exit });
    });
    void exit.then((code) => reject(new Error(`bridge exited ${code} before listening: ${err}`)));
  });
}
