/**
 * An exclusive lock file, so that two imports never write the same state store (or two
 * watchers never share an inbox) at once.
 *
 * The lock is a file created with O_EXCL ('wx') holding who holds it. A holder that dies
 * without releasing (SIGKILL, power loss) leaves the file behind; the next process takes
 * it over when it can prove the holder is gone: same host and the pid no longer runs (or
 * the machine rebooted, or the pid now belongs to a younger process), or the file is
 * unreadable and old enough that no live process is still writing it. A lock from another
 * host is never broken: we cannot see that host's processes.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ImportError } from '../errors.js';
import { makeDirs } from '../dirs.js';

export interface LockInfo {
  pid: number;
  host: string;
  startedAt: string;
  command: string;
  detail?: string;
  /** Unique per acquisition: tells our lock from a later one written by the same pid. */
  token?: string;
  /** Linux: the boot the holder ran in; a lock from an earlier boot is stale whatever its pid. */
  bootId?: string;
  /** Linux: the holder's start time (clock ticks since boot), so a reused pid is not mistaken for it. */
  procStart?: string;
}

/** What a takeover replaced: the old holder when the file could be read, and why it was stale. */
export interface StaleLock extends Partial<LockInfo> {
  reason: string;
}

export interface Lock {
  release(): void;
  tookOverStale?: StaleLock;
}

/** An unreadable lock younger than this may be one a live process is still writing. */
export const CORRUPT_LOCK_AGE_MS = 60_000;
/** How long a takeover waits before confirming it won, so a simultaneous takeover's rename lands first. */
const TAKEOVER_SETTLE_MS = 100;

/** The lock beside a state store: every run that uses the store takes it. */
export function storeLockPath(statePath: string): string {
  return resolve(statePath) + '.lock';
}

export function acquireLock(lockFile: string, holder: { command: string; detail?: string }): Lock {
  return acquire(lockFile, holder, 0);
}

function acquire(lockFile: string, holder: { command: string; detail?: string }, attempt: number): Lock {
  const file = resolve(lockFile);
  makeDirs(dirname(file), { what: 'the folder of the lock file', fix: 'pick another path for --state (or CONTACT_IMPORT_STATE), or another inbox' });
  const mine: LockInfo = {
    pid: process.pid, host: hostname(), startedAt: new Date().toISOString(),
    command: holder.command, ...(holder.detail !== undefined ? { detail: holder.detail } : {}),
    token: randomBytes(12).toString('hex'), ...linuxIdentity(process.pid),
  };
  const text = JSON.stringify(mine) + '\n';

  if (createExclusive(file, text)) return held(file, mine);

  // The file exists: decide from what it holds whether its holder is gone.
  let raw: string | undefined;
  try {
    raw = readFileSync(file, 'utf8');
  } catch (e) {
    // Released between our create and our read: try once more, then report whoever holds it.
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' && createExclusive(file, text)) return held(file, mine);
    raw = undefined;
  }
  const info = raw === undefined ? undefined : parseLock(raw);
  const stale = staleReason(file, info);
  if (!stale) throw lockedError(file, info);

  // Take over: replace the stale file in one rename, but only if it is still the same stale file.
  const tmp = `${file}.${process.pid}.${mine.token}.tmp`;
  writeDurably(tmp, text, 'w');
  try {
    let now: string | undefined;
    try { now = readFileSync(file, 'utf8'); } catch { now = undefined; }
    if (now !== raw) {
      // Someone else released or took it over since we looked: judge again from scratch.
      unlinkQuietly(tmp);
      if (attempt >= 5) throw lockedError(file, now === undefined ? undefined : parseLock(now));
      return acquire(lockFile, holder, attempt + 1);
    }
    renameSync(tmp, file);
  } catch (e) {
    unlinkQuietly(tmp);
    throw e;
  }
  // Another process that judged the same file stale may rename its own file over ours in the
  // instant between its check and its rename; the last rename wins, so wait, then confirm.
  sleepSync(TAKEOVER_SETTLE_MS);
  let after: LockInfo | undefined;
  try { after = parseLock(readFileSync(file, 'utf8')); } catch { after = undefined; }
  if (after?.token !== mine.token) throw lockedError(file, after);
  const lock = held(file, mine);
  lock.tookOverStale = { ...(info ?? {}), reason: stale };
  return lock;
}

/** One line saying who holds (or held) a lock, for messages and logs. */
export function describeHolder(info: Partial<LockInfo>): string {
  const what = [info.command, info.detail].filter(Boolean).join(' ');
  return `process ${info.pid ?? '?'} on host ${info.host ?? '?'}${what ? ` (${what})` : ''}, started ${info.startedAt ?? 'at an unknown time'}`;
}

function held(file: string, mine: LockInfo): Lock {
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    process.off('exit', release);
    try {
      // Only our own lock: after a takeover by someone who judged us dead, the file is theirs.
      if (parseLock(readFileSync(file, 'utf8'))?.token === mine.token) unlinkSync(file);
    } catch {
      // Already gone, or unreadable: either way it is not ours to remove.
    }
  };
  // A normal exit, an uncaught error or process.exit() releases it; a SIGKILL cannot, which
  // is what stale detection is for.
  process.on('exit', release);
  return { release };
}

function createExclusive(file: string, text: string): boolean {
  try {
    writeDurably(file, text, 'wx');
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new ImportError('STATE_UNUSABLE', `cannot create the lock file ${file}: ${(e as Error).message}`, { file });
  }
}

function writeDurably(file: string, text: string, flag: 'w' | 'wx') {
  const fd = openSync(file, flag, 0o644);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function parseLock(raw: string): LockInfo | undefined {
  try {
    const v = JSON.parse(raw) as Partial<LockInfo> | null;
    if (v && typeof v === 'object' && Number.isInteger(v.pid) && (v.pid as number) > 0 && typeof v.host === 'string') return v as LockInfo;
  } catch {
    // not JSON: corrupt
  }
  return undefined;
}

/** Why the lock's holder is certainly gone, or undefined when it may still be running. */
function staleReason(file: string, info: LockInfo | undefined): string | undefined {
  if (!info) {
    let age: number;
    try { age = Date.now() - statSync(file).mtimeMs; } catch { return undefined; }
    return age > CORRUPT_LOCK_AGE_MS ? `the lock file was unreadable and ${Math.round(age / 1000)} s old` : undefined;
  }
  if (info.host !== hostname()) return undefined;
  const now = linuxIdentity(info.pid);
  if (info.bootId && now.bootId && info.bootId !== now.bootId) return `process ${info.pid} ran before this machine restarted`;
  if (!pidAlive(info.pid)) return `process ${info.pid} is no longer running`;
  if (info.procStart && now.procStart && info.procStart !== now.procStart) return `process ${info.pid} is no longer running (the pid now belongs to another process)`;
  return undefined;
}

/** Whether a process of this machine runs under that pid (one of another user counts). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to another user, so it is alive.
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** Boot id and process start time where /proc has them (Linux); nothing elsewhere. */
function linuxIdentity(pid: number): { bootId?: string; procStart?: string } {
  const out: { bootId?: string; procStart?: string } = {};
  try { out.bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim(); } catch { /* not Linux */ }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22 (starttime); fields are counted after the command name, which may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[19]) out.procStart = fields[19];
  } catch { /* no such process, or not Linux */ }
  return out;
}

function lockedError(file: string, info: LockInfo | undefined): ImportError {
  if (!info) {
    return new ImportError('LOCKED', `${file} exists but cannot be read as a lock (another process may be writing it); it is taken over once it is over ${CORRUPT_LOCK_AGE_MS / 1000} s old, or delete it if no import is running`, { file });
  }
  const who = describeHolder(info);
  if (info.host !== hostname()) {
    return new ImportError('LOCKED', `${file} is held by ${who}; a lock from another host is never broken automatically: wait for that import, or delete the file if you are sure none is running there`, { file });
  }
  return new ImportError('LOCKED', `${file} is held by ${who}; wait for it to finish (or stop it), then run again; if no such import is running, delete the lock file`, { file });
}

function unlinkQuietly(file: string) {
  try { unlinkSync(file); } catch { /* already gone */ }
}

function sleepSync(ms: number) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
