/**
 * `mkdir -p` that always ends, with the user's mistake named as such.
 *
 * node's `mkdirSync(dir, { recursive: true })` loops for ever when a folder exists but
 * refuses a new entry with ENOENT (`--out /proc/self/x`: 100% CPU, deaf to SIGTERM), and
 * through a symbolic link to nothing it throws a bare ENOENT. Here each missing level is
 * created once, from the top, and the first refusal says which part of the path is wrong.
 */
import { lstatSync, mkdirSync, readlinkSync, statSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ImportError, writeFailed, type ErrorCode } from './errors.js';

export interface DirUse {
  /** What the folder is, for the message: "the report folder", "the state store's folder". */
  what: string;
  /** How to choose another one: "pick a folder for --out". */
  fix: string;
  /** The usage error a path that cannot be a folder is (default FOLDER_UNUSABLE). */
  code?: ErrorCode;
}

const statOrUndefined = (p: string): Stats | undefined => {
  try {
    return statSync(p);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw e;
  }
};

/** Creates `dir` and its missing parents; an ImportError (usage or WRITE_FAILED) when it cannot. */
export function makeDirs(dir: string, use: DirUse): void {
  const code = use.code ?? 'FOLDER_UNUSABLE';
  const unusable = (why: string) => new ImportError(code, `${use.what} ${dir} cannot be created: ${why}; ${use.fix}`, { file: dir });
  const missing: string[] = [];
  let at = resolve(dir);
  for (;;) {
    const st = statOrUndefined(at);
    if (st) {
      if (!st.isDirectory()) {
        throw at === resolve(dir)
          ? new ImportError(code, `${use.what} ${dir} is an existing file; ${use.fix}`, { file: dir })
          : unusable(`${at} is a file, not a folder`);
      }
      break;
    }
    let link: string | undefined;
    try { if (lstatSync(at).isSymbolicLink()) link = readlinkSync(at); } catch { /* not there at all */ }
    if (link !== undefined) throw unusable(`${at} is a link to ${link}, which does not exist`);
    missing.push(at);
    const up = dirname(at);
    if (up === at) break;
    at = up;
  }
  for (let i = missing.length - 1; i >= 0; i--) {
    try {
      mkdirSync(missing[i]);
    } catch (e) {
      const errno = (e as NodeJS.ErrnoException).code;
      if (errno === 'EEXIST' && statOrUndefined(missing[i])?.isDirectory()) continue; // made meanwhile
      if (errno === 'ENOENT' || errno === 'EEXIST' || errno === 'ENOTDIR') {
        throw unusable(`${dirname(missing[i])} does not accept a new folder (${errno})`);
      }
      throw writeFailed(e, missing[i], use.what);
    }
  }
}
