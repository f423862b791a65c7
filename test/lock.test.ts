/** The lock file: exclusive acquire, release only of our own lock, stale and corrupt takeover, races. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { acquireLock, storeLockPath, type LockInfo } from '../pipeline/state/lock.js';
import { ImportError, exitCodeFor, EXIT } from '../pipeline/errors.js';
import { ROOT, tempDir } from './helpers/cli.js';

const LOCK_MODULE = pathToFileURL(join(ROOT, 'pipeline', 'state', 'lock.ts')).href;

/** The pid of a process that has exited (and was reaped), so it is certainly not running. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(r.stdout.toString());
}

function readLock(file: string): LockInfo {
  return JSON.parse(readFileSync(file, 'utf8')) as LockInfo;
}

function lockedError(fn: () => unknown): ImportError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ImportError, `expected an ImportError, got ${String(e)}`);
    assert.equal(e.code, 'LOCKED');
    return e;
  }
  assert.fail('expected LOCKED');
}

test('acquire writes who holds it; release removes it; the lock can be taken again', () => {
  const t = tempDir();
  try {
    const file = join(t.path, 'sub', 'state.db.lock');
    const lock = acquireLock(file, { command: 'contact-import run', detail: 'nightly.csv' });
    assert.equal(lock.tookOverStale, undefined);
    const info = readLock(file);
    assert.equal(info.pid, process.pid);
    assert.equal(info.host, hostname());
    assert.equal(info.command, 'contact-import run');
    assert.equal(info.detail, 'nightly.csv');
    assert.ok(!Number.isNaN(Date.parse(info.startedAt)));
    lock.release();
    assert.equal(existsSync(file), false);
    lock.release(); // twice is harmless
    acquireLock(file, { command: 'again' }).release();
    assert.equal(existsSync(file), false);
  } finally { t.cleanup(); }
});

test('a lock held by a live process is refused with who, where, since when and what to do; exit 3, not 0 or 2', () => {
  const t = tempDir();
  try {
    const file = join(t.path, 'x.lock');
    const lock = acquireLock(file, { command: 'contact-import watch', detail: '/srv/inbox' });
    const startedAt = readLock(file).startedAt;
    const e = lockedError(() => acquireLock(file, { command: 'contact-import run' }));
    assert.equal(exitCodeFor(e), EXIT.ABORTED);
    for (const part of [file, `process ${process.pid}`, hostname(), 'contact-import watch /srv/inbox', startedAt, 'wait for it']) {
      assert.ok(e.message.includes(part), `message names ${part}: ${e.message}`);
    }
    assert.equal(readLock(file).startedAt, startedAt, 'the holder\'s lock is untouched');
    lock.release();
  } finally { t.cleanup(); }
});

test('a lock whose process is dead on this host is taken over and reported', () => {
  const t = tempDir();
  try {
    const file = join(t.path, 'x.lock');
    const pid = deadPid();
    writeFileSync(file, JSON.stringify({ pid, host: hostname(), startedAt: '2024-01-01T00:00:00.000Z', command: 'contact-import run', detail: 'old.csv' }));
    const lock = acquireLock(file, { command: 'contact-import run' });
    assert.ok(lock.tookOverStale);
    assert.equal(lock.tookOverStale.pid, pid);
    assert.equal(lock.tookOverStale.detail, 'old.csv');
    assert.match(lock.tookOverStale.reason, new RegExp(`process ${pid} is no longer running`));
    assert.equal(readLock(file).pid, process.pid);
    lock.release();
    assert.equal(existsSync(file), false);
  } finally { t.cleanup(); }
});

test('a live pid from an earlier boot, or reused by a younger process, is stale (Linux /proc)', { skip: !existsSync('/proc/sys/kernel/random/boot_id') }, () => {
  const t = tempDir();
  try {
    const file = join(t.path, 'x.lock');
    // Our own pid is alive: only the recorded identity can tell it is not the holder.
    writeFileSync(file, JSON.stringify({ pid: process.pid, host: hostname(), startedAt: '2024-01-01T00:00:00.000Z', command: 'run', bootId: 'an-earlier-boot' }));
    const a = acquireLock(file, { command: 'run' });
    assert.match(a.tookOverStale!.reason, /restarted/);
    a.release();
    const me = readFileSync(`/proc/${process.pid}/stat`, 'utf8');
    const procStart = me.slice(me.lastIndexOf(')') + 2).split(' ')[19];
    writeFileSync(file, JSON.stringify({ pid: process.pid, host: hostname(), startedAt: '2024-01-01T00:00:00.000Z', command: 'run', procStart: String(Number(procStart) - 1) }));
    const b = acquireLock(file, { command: 'run' });
    assert.match(b.tookOverStale!.reason, /pid now belongs to another process/);
    b.release();
    writeFileSync(file, JSON.stringify({ pid: process.pid, host: hostname(), startedAt: '2024-01-01T00:00:00.000Z', command: 'run', procStart }));
    lockedError(() => acquireLock(file, { command: 'run' }));
  } finally { t.cleanup(); }
});

test('an unreadable lock is left alone while young (it may be being written) and taken over after a minute', () => {
  const t = tempDir();
  try {
    const file = join(t.path, 'x.lock');
    writeFileSync(file, '{"pid": 12');
    const e = lockedError(() => acquireLock(file, { command: 'run' }));
    assert.match(e.message, /cannot be read as a lock/);
    const old = new Date(Date.now() - 120_000);
    utimesSync(file, old, old);
    const lock = acquireLock(file, { command: 'run' });
    assert.match(lock.tookOverStale!.reason, /unreadable and \d+ s old/);
    assert.equal(readLock(file).pid, process.pid);
    lock.release();
  } finally { t.cleanup(); }
});

test('another host\'s lock is never broken, even when old and its pid is not running here', () => {
  const t = tempDir();
  try {
    const file = join(t.path, 'x.lock');
    writeFileSync(file, JSON.stringify({ pid: deadPid(), host: 'other-host.example', startedAt: '2024-01-01T00:00:00.000Z', command: 'contact-import watch' }));
    const old = new Date(Date.now() - 86_400_000);
    utimesSync(file, old, old);
    const e = lockedError(() => acquireLock(file, { command: 'run' }));
    assert.match(e.message, /other-host\.example/);
    assert.match(e.message, /another host is never broken automatically/);
    assert.equal(readLock(file).host, 'other-host.example');
  } finally { t.cleanup(); }
});

test('release leaves a lock that is no longer ours (someone took it over)', () => {
  const t = tempDir();
  try {
    const file = join(t.path, 'x.lock');
    const lock = acquireLock(file, { command: 'run' });
    const theirs = JSON.stringify({ pid: process.pid, host: hostname(), startedAt: new Date().toISOString(), command: 'run', token: 'someone-else' });
    writeFileSync(file, theirs);
    lock.release();
    assert.equal(readFileSync(file, 'utf8'), theirs);
  } finally { t.cleanup(); }
});

test('storeLockPath puts the lock beside the state store', () => {
  assert.equal(storeLockPath('/var/lib/ci/state.db'), '/var/lib/ci/state.db.lock');
});

/** Runs acquireLock in a child process; `mode` says how the child ends. */
function child(file: string, mode: 'exit' | 'hold' | 'race', go?: string) {
  const script = `
    import { acquireLock } from ${JSON.stringify(LOCK_MODULE)};
    import { existsSync } from 'node:fs';
    const mode = ${JSON.stringify(mode)};
    const go = ${JSON.stringify(go ?? '')};
    if (go) { process.stdout.write('ready\\n'); while (!existsSync(go)) await new Promise((r) => setTimeout(r, 5)); }
    try {
      acquireLock(${JSON.stringify(file)}, { command: 'child' });
      process.stdout.write('won\\n');
    } catch (e) {
      process.stdout.write((e.code ?? 'error') + '\\n');
    }
    // Holders stay alive a while, so that a loser cannot mistake the winner for a dead holder.
    if (mode === 'hold') setInterval(() => {}, 1000);
    else if (mode === 'race') await new Promise((r) => setTimeout(r, 1500));
  `;
  const p = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT });
  let out = '';
  p.stdout.on('data', (d) => { out += d; });
  const exited = new Promise<number | null>((res) => p.on('close', (code) => res(code)));
  const said = (word: string) => new Promise<void>((res, rej) => {
    const check = () => { if (out.includes(word)) { p.stdout.off('data', check); res(); } };
    p.stdout.on('data', check);
    p.on('close', () => (out.includes(word) ? res() : rej(new Error(`child ended without saying ${word}: ${out}`))));
    check();
  });
  return { p, exited, said, out: () => out.trim().split('\n').pop() };
}

test('a process that exits releases its lock; one that is SIGKILLed leaves it, and the next run takes it over', async () => {
  const t = tempDir();
  try {
    const file = join(t.path, 'x.lock');
    const a = child(file, 'exit');
    assert.equal(await a.exited, 0);
    assert.equal(a.out(), 'won');
    assert.equal(existsSync(file), false, 'released on exit without release()');

    const b = child(file, 'hold');
    await b.said('won');
    const pid = readLock(file).pid;
    assert.equal(pid, b.p.pid);
    lockedError(() => acquireLock(file, { command: 'run' }));
    b.p.kill('SIGKILL');
    await b.exited;
    assert.equal(existsSync(file), true, 'a SIGKILL cannot release');
    const lock = acquireLock(file, { command: 'run' });
    assert.equal(lock.tookOverStale?.pid, pid);
    lock.release();
  } finally { t.cleanup(); }
});

for (const start of ['no lock file', 'a stale lock file'] as const) {
  test(`four processes acquiring at once over ${start}: exactly one wins, the others are refused`, async () => {
    const t = tempDir();
    try {
      const file = join(t.path, 'x.lock');
      if (start === 'a stale lock file') {
        writeFileSync(file, JSON.stringify({ pid: deadPid(), host: hostname(), startedAt: '2024-01-01T00:00:00.000Z', command: 'dead' }));
      }
      const go = join(t.path, 'go');
      const kids = Array.from({ length: 4 }, () => child(file, 'race', go));
      await Promise.all(kids.map((k) => k.said('ready')));
      writeFileSync(go, '');
      await Promise.all(kids.map((k) => k.exited));
      const outcomes = kids.map((k) => k.out()).sort();
      assert.deepEqual(outcomes, ['LOCKED', 'LOCKED', 'LOCKED', 'won'], outcomes.join(' '));
      assert.equal(existsSync(file), false, 'the winner released it on exit');
    } finally { t.cleanup(); }
  });
}
