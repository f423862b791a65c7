/** `--open`: show report.html in the default browser, when this machine has a way to. */
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** The first executable named `cmd` on PATH (PATHEXT on Windows), or undefined. */
export function findOnPath(cmd: string, env: NodeJS.ProcessEnv, platform = process.platform): string | undefined {
  const exts = platform === 'win32' ? (env.PATHEXT ?? '.EXE;.CMD;.BAT').split(';') : [''];
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    for (const ext of exts) {
      const p = join(dir, cmd + ext);
      try { accessSync(p, constants.X_OK); return p; } catch { /* not here */ }
    }
  }
  return undefined;
}

/** The command that opens a file with the desktop's default application, if there is one. */
export function openerFor(file: string, env: NodeJS.ProcessEnv, platform = process.platform): { cmd: string; args: string[] } | undefined {
  if (platform === 'darwin') {
    const open = findOnPath('open', env, platform);
    return open ? { cmd: open, args: [file] } : undefined;
  }
  if (platform === 'win32') {
    // `start` is a cmd.exe built-in; its first quoted argument is the window title. With /s,
    // cmd strips the outer quotes of the whole command, so the path keeps its own (spaces).
    return { cmd: env.ComSpec ?? 'cmd.exe', args: ['/d', '/s', '/c', `"start "" "${file}""`] };
  }
  const xdg = findOnPath('xdg-open', env, platform);
  return xdg ? { cmd: xdg, args: [file] } : undefined;
}

/**
 * Starts the opener detached and does not wait for it: a headless server has no browser,
 * and that is not an error of the import, so every failure here is silent.
 */
export function openInBrowser(file: string, env: NodeJS.ProcessEnv): boolean {
  const o = openerFor(file, env);
  if (!o) return false;
  try {
    const child = spawn(o.cmd, o.args, { detached: true, stdio: 'ignore', env, windowsVerbatimArguments: process.platform === 'win32' });
    child.on('error', () => { /* no browser: nothing to do */ });
    child.unref();
    return true;
  } catch {
    return false;
  }
}
