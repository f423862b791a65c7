/**
 * `contact-import watch <inbox>`: the nightly-drop folder.
 *
 * Files dropped into the inbox are imported one at a time, in arrival order, once they stop
 * growing, each by the same runImport as `run`. A finished file moves with its report to
 * processed/<run-id>/ (exit 0 or 1, or skipped as already loaded) or failed/<run-id>/
 * (exit 2 or 3). An interrupted run leaves its file in the inbox, so the next pass resumes it,
 * and so does an outage of the target (TARGET_UNREACHABLE), up to --outage-attempts runs;
 * credentials the target refuses leave the file there too and stop watch.
 * One lock per inbox: two watchers never take the same file.
 */
import type { Argv } from 'yargs';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, extname, join, relative, resolve } from 'node:path';
import { cellLimits, readOptions, type Io } from './common.js';
import { loadOptions, runOptionsFrom, type LoadArgs } from './run.js';
import { runImport, newRunId, type RunResult } from '../run.js';
import { loadMapping } from '../mapping/load.js';
import { createLogger, redactSecrets, type Logger } from '../log.js';
import { EXIT, ImportError, describeWhere, exitCodeFor, isImportError, toImportError, type ErrorCode } from '../errors.js';
import { acquireLock, describeHolder } from '../state/lock.js';
import { replaceFile } from '../replace-file.js';

export interface WatchArgs extends Omit<LoadArgs, 'files'> {
  inbox: string;
  once: boolean;
  interval: number;
  settle: number;
  'outage-attempts': number;
  'outage-wait': number;
}

export const INPUT_EXTENSIONS = ['.csv', '.tsv', '.txt', '.xls', '.xlsx'];
/** Names browsers and download tools give a file while it is still arriving, and Excel's owner files. */
const PARTIAL = [/\.part$/i, /\.partial$/i, /\.tmp$/i, /\.temp$/i, /\.crdownload$/i, /\.download$/i, /\.filepart$/i, /^~\$/];
/**
 * Errors that say the command is wrong, not the file: every later file would fail the same
 * way, so the file stays in the inbox and watch stops (exit 2) instead of emptying the inbox
 * into failed/.
 */
const COMMAND_ERRORS = new Set<ErrorCode>(['USAGE', 'MAPPING_NOT_FOUND', 'MAPPING_YAML', 'MAPPING_INVALID', 'TARGET_UNKNOWN', 'CONFIG_MISSING', 'STATE_UNUSABLE']);

/**
 * A run stopped because the target could not be reached (no answer, or 5xx, 429 and dropped
 * connections past the per-request retries) says nothing about the file: it stays in the
 * inbox and runs again after a wait, up to --outage-attempts runs in all, then goes to failed/.
 */
const OUTAGE_CODES = new Set<ErrorCode>(['TARGET_UNREACHABLE']);
/**
 * Credentials the target refused: every later file would be refused the same way, and
 * sending them again and again can lock the account. The file stays in the inbox (this
 * run's report goes to failed/) and watch stops, as for a mistake in the command.
 */
const CREDENTIAL_CODES = new Set<ErrorCode>(['AUTH_FAILED', 'AUTH_FORBIDDEN']);
/** In .work/: the files an outage sent back to the inbox, so that a later `watch --once` (cron) knows them. */
export const OUTAGES_FILE = 'outages.json';
interface Outage { size: number; mtimeMs: number; runs: number; nextAt: number }

export const WORK_DIR = '.work';
export const PROCESSED_DIR = 'processed';
export const FAILED_DIR = 'failed';
export const WATCH_LOCK = '.watch.lock';
/** Written in a failed file's report folder when the run stopped before writing a summary. */
export const ERROR_FILE = 'error.json';

export function watchCommand(io: Io, done: (code: number) => void) {
  return {
    command: 'watch <inbox>',
    describe: 'Import each file dropped into a folder once it stops growing; move it with its report to processed/ or failed/',
    builder: (y: Argv) => loadOptions(readOptions(y)).hide('out').hide('open')
      .positional('inbox', { type: 'string', describe: 'the folder files are dropped into', demandOption: true })
      .option('once', { type: 'boolean', default: false, describe: 'process what is there (waiting for files still growing), then exit with the worst exit code (for cron)' })
      .option('interval', { type: 'number', default: 30, describe: 'seconds between looks at the inbox' })
      .option('settle', { type: 'number', default: 5, describe: 'a file is taken once its size and time stay the same for this many seconds' })
      .option('outage-attempts', { type: 'number', default: 3, describe: 'runs of a file, in all, while the target cannot be reached (TARGET_UNREACHABLE): until then the file stays in the inbox; 1: straight to failed/' })
      .option('outage-wait', { type: 'number', default: 300, describe: 'seconds before a file runs again after an outage; doubles each time' })
      .check((a) => {
        const attempts = a['outage-attempts'] as unknown;
        if (!(typeof attempts === 'number' && Number.isInteger(attempts) && attempts >= 1)) {
          throw new ImportError('USAGE', `--outage-attempts must be a whole number of runs, 1 or more, got ${String(attempts)}`);
        }
        for (const k of ['interval', 'settle', 'outage-wait'] as const) {
          const v = a[k] as unknown;
          if (!(typeof v === 'number' && Number.isFinite(v) && v > 0)) throw new ImportError('USAGE', `--${k} must be a positive number of seconds, got ${String(v)}`);
        }
        if (a.out !== undefined) throw new ImportError('USAGE', '--out does not apply to watch: each report goes beside its file in processed/<run-id>/ or failed/<run-id>/');
        if (a.open) throw new ImportError('USAGE', '--open does not apply to watch: it runs unattended');
        return true;
      })
      .example('$0 watch /srv/drops -m mappings/crm.yaml --target spoke --once', 'from cron: import what was dropped, then exit')
      .example('$0 watch /srv/drops -m mappings/crm.yaml --target spoke --mirror --interval 60', 'keep watching; each file is a full export'),
    handler: async (a: WatchArgs) => {
      done(await watchInbox(io, a));
    },
  };
}

interface Candidate { name: string; path: string; size: number; mtimeMs: number }
interface Seen { size: number; mtimeMs: number; since: number }
interface FileResult { code: number; interrupted?: boolean; deferred?: boolean; stop?: boolean }
interface Scan { ready: Candidate[]; waiting: number; retrying: number; nextRetryAt: number }

export async function watchInbox(io: Io, a: WatchArgs): Promise<number> {
  const log = createLogger({ format: a['log-format'], level: a.verbose ? 'debug' : 'info', write: io.err, env: io.env });
  const inbox = resolve(a.inbox);
  let st;
  try { st = statSync(inbox); } catch { throw new ImportError('FILE_NOT_FOUND', `inbox folder ${inbox} does not exist`, { file: inbox }); }
  if (!st.isDirectory()) throw new ImportError('USAGE', `${inbox} is not a folder: watch takes the folder files are dropped into`, { file: inbox });
  // A broken mapping would send every file to failed/; refuse before taking any.
  await loadMapping(a.mapping);

  const lock = acquireLock(join(inbox, WATCH_LOCK), { command: 'contact-import watch', detail: inbox });
  try {
    if (lock.tookOverStale) {
      log.warn('lock.stale', `took over the stale lock ${join(inbox, WATCH_LOCK)}: ${lock.tookOverStale.reason} (${describeHolder(lock.tookOverStale)})`,
        { lock: join(inbox, WATCH_LOCK), reason: lock.tookOverStale.reason, holder: { ...lock.tookOverStale, token: undefined } });
    }
    log.info('watch.started', `watching ${inbox} (${a.once ? 'once' : `every ${a.interval} s`}, target ${a.target})`, { inbox, once: a.once, interval: a.interval, settle: a.settle, target: a.target });
    return await new Watcher(io, a, inbox, log).loop();
  } finally {
    lock.release();
  }
}

class Watcher {
  private readonly seen = new Map<string, Seen>();
  private readonly ignored = new Set<string>();
  /** Files that could not be moved out of the inbox: never run again by this watcher. */
  private readonly stuck = new Set<string>();
  private readonly work: string;
  private worst = 0;
  /** Files an outage sent back to the inbox, by name (kept in .work/outages.json). */
  private readonly outages: Record<string, Outage>;
  /** Files whose wait after an outage was already logged by this watcher. */
  private readonly waitLogged = new Set<string>();

  constructor(private io: Io, private a: WatchArgs, private inbox: string, private log: Logger) {
    this.work = join(inbox, WORK_DIR);
    this.outages = this.loadOutages();
  }

  private loadOutages(): Record<string, Outage> {
    try {
      const o = JSON.parse(readFileSync(join(this.work, OUTAGES_FILE), 'utf8')) as Record<string, Outage>;
      return o && typeof o === 'object' && !Array.isArray(o) ? o : {};
    } catch {
      return {}; // none yet (or unreadable: the files then run as new ones)
    }
  }

  private saveOutages() {
    const path = join(this.work, OUTAGES_FILE);
    try {
      if (!Object.keys(this.outages).length) { rmSync(path, { force: true }); return; }
      mkdirSync(this.work, { recursive: true });
      replaceFile(path, JSON.stringify(this.outages, null, 2) + '\n');
    } catch (e) {
      // This watcher still knows the waits; a later `watch --once` would run those files at once.
      this.log.warn('watch.outages', `could not record the files waiting after an outage in ${path}: ${(e as Error).message}`, { path });
    }
  }

  private forgetOutage(name: string) {
    if (!(name in this.outages)) return;
    delete this.outages[name];
    this.saveOutages();
  }

  /** Watches until --once is done or a signal stops it; every way out ends with watch.stopped and its exit code. */
  async loop(): Promise<number> {
    const code = await this.watch();
    this.log.info('watch.stopped', `stopped watching ${this.inbox} (exit ${code})`, { inbox: this.inbox, exitCode: code });
    return code;
  }

  private async watch(): Promise<number> {
    const signal = this.io.signal;
    const settleMs = this.a.settle * 1000;
    let idle = false;
    while (!signal?.aborted) {
      const { ready, waiting, retrying, nextRetryAt } = this.scan(settleMs);
      let deferred = false;
      for (const c of ready) {
        if (signal?.aborted) break;
        // Taken only if it did not change since it was judged settled (others may have run meanwhile).
        if (!this.unchanged(c)) continue;
        idle = false;
        const r = await this.process(c);
        if (r.deferred) { deferred = true; break; }
        this.worst = Math.max(this.worst, r.code);
        if (r.stop) return this.worst;
        if (r.interrupted) return this.a.once ? Math.max(this.worst, EXIT.ABORTED) : EXIT.ABORTED;
      }
      if (deferred && this.a.once) return Math.max(this.worst, EXIT.ABORTED);
      if (ready.length && !deferred) continue; // look again at once: more may have settled meanwhile
      // A file still waiting to run again after an outage is not loaded: a scheduler must see it.
      if (this.a.once && waiting === 0 && !deferred) return retrying ? Math.max(this.worst, EXIT.ABORTED) : this.worst;
      if (!this.a.once && !idle && waiting === 0) {
        this.log.info('watch.idle', `waiting for files in ${this.inbox}`, { inbox: this.inbox });
        idle = true;
      }
      // While a file is settling, look again when it may have; otherwise at the poll interval.
      let ms = waiting ? Math.min(this.a.once ? settleMs / 4 : this.a.interval * 1000, settleMs / 2) : this.a.interval * 1000;
      if (retrying) ms = Math.min(ms, nextRetryAt - Date.now());
      await sleep(Math.max(ms, 20), signal);
    }
    // Stopped before --once finished its work: a scheduler must not read that as success. A
    // long-running watcher stopped between files stops cleanly; each file's outcome is in its report.
    return this.a.once ? Math.max(this.worst, EXIT.ABORTED) : EXIT.OK;
  }

  /**
   * Input files in the inbox, those that have not changed for settleMs first, oldest first;
   * files waiting to run again after an outage are counted apart.
   */
  private scan(settleMs: number): Scan {
    const now = Date.now();
    const ready: Candidate[] = [];
    let waiting = 0;
    let retrying = 0;
    let nextRetryAt = Infinity;
    const present = new Set<string>();
    const listed = new Set<string>();
    for (const d of readdirSync(this.inbox, { withFileTypes: true })) {
      const name = d.name;
      listed.add(name);
      if (name.startsWith('.') || this.stuck.has(name)) continue;
      if (d.isDirectory()) continue;
      if (PARTIAL.some((re) => re.test(name))) continue;
      if (!INPUT_EXTENSIONS.includes(extname(name).toLowerCase())) {
        if (!this.ignored.has(name)) {
          this.ignored.add(name);
          this.log.info('file.ignored', `ignored ${name}: not a ${INPUT_EXTENSIONS.join(' ')} file`, { file: join(this.inbox, name) });
        }
        continue;
      }
      let st;
      try { st = statSync(join(this.inbox, name)); } catch { continue; } // gone since the listing
      if (!st.isFile()) continue;
      const outage = this.outages[name];
      if (outage && (outage.size !== st.size || outage.mtimeMs !== st.mtimeMs)) {
        this.forgetOutage(name); // another file under the same name: a new one
      } else if (outage && outage.nextAt > now) {
        retrying++;
        nextRetryAt = Math.min(nextRetryAt, outage.nextAt);
        if (!this.waitLogged.has(name)) {
          this.waitLogged.add(name);
          this.log.info('file.retry-waiting', `left ${name} in the inbox: the target could not be reached on its last run; run ${outage.runs + 1} of ${this.a['outage-attempts']} is due at ${new Date(outage.nextAt).toISOString()}`,
            { file: join(this.inbox, name), runs: outage.runs, nextAt: new Date(outage.nextAt).toISOString() });
        }
        continue;
      }
      present.add(name);
      const prev = this.seen.get(name);
      if (!prev || prev.size !== st.size || prev.mtimeMs !== st.mtimeMs) {
        this.seen.set(name, { size: st.size, mtimeMs: st.mtimeMs, since: now });
        waiting++;
      } else if (now - prev.since >= settleMs) {
        ready.push({ name, path: join(this.inbox, name), size: st.size, mtimeMs: st.mtimeMs });
      } else {
        waiting++;
      }
    }
    for (const name of [...this.seen.keys()]) if (!present.has(name)) this.seen.delete(name);
    for (const name of Object.keys(this.outages)) if (!listed.has(name)) this.forgetOutage(name); // taken out of the inbox by hand
    ready.sort((x, y) => x.mtimeMs - y.mtimeMs || (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
    return { ready, waiting, retrying, nextRetryAt };
  }

  private unchanged(c: Candidate): boolean {
    try {
      const st = statSync(c.path);
      if (st.size === c.size && st.mtimeMs === c.mtimeMs) return true;
    } catch { /* removed meanwhile */ }
    return false;
  }

  private async process(c: Candidate): Promise<FileResult> {
    const { a, io, log } = this;
    this.seen.delete(c.name);
    log.info('file.picked', `picked ${c.name} (${c.size} bytes)`, { file: c.path, bytes: c.size, mtime: new Date(c.mtimeMs).toISOString() });
    mkdirSync(this.work, { recursive: true });
    const before = new Set(readdirSync(this.work));
    const startedAt = new Date();
    let result: RunResult | undefined;
    let error: unknown;
    try {
      result = await runImport({
        inputs: [c.path],
        mappingPath: a.mapping,
        reportsRoot: this.work,
        env: io.env,
        log,
        ...cellLimits(a),
        signal: io.signal,
        ...runOptionsFrom({ ...a, files: [c.path] }),
      });
    } catch (e) {
      error = e;
    }
    // The folder this run created under .work (one run at a time: the inbox lock guarantees it).
    const created = readdirSync(this.work).filter((n) => !before.has(n));

    // runImport takes the store's lock before it reads a row, and throws when it cannot.
    const lockedBy = isImportError(error) && error.code === 'LOCKED' ? error.message : undefined;
    if (lockedBy !== undefined) {
      // Another import holds the state store: the file is not at fault; try it on a later pass.
      for (const n of created) rmSync(join(this.work, n), { recursive: true, force: true });
      log.warn('file.deferred', `left ${c.name} in the inbox: ${lockedBy}`, { file: c.path, reason: lockedBy });
      return { code: EXIT.ABORTED, deferred: true };
    }
    if (isImportError(error) && COMMAND_ERRORS.has(error.code)) {
      for (const n of created) rmSync(join(this.work, n), { recursive: true, force: true });
      throw error;
    }

    if (result) {
      const s = result.summary;
      const status: string = s.status;
      if (status === 'interrupted') {
        log.warn('file.interrupted', `interrupted ${c.name}: it stays in the inbox and resumes on the next pass; report so far in ${relative(this.inbox, result.outDir)}/`,
          { file: c.path, runId: s.runId, status, counts: s.counts, exitCode: result.exitCode, report: result.outDir });
        return { code: result.exitCode, interrupted: true };
      }
      if (status === 'aborted' && s.abort !== undefined && CREDENTIAL_CODES.has(s.abort.code as ErrorCode)) {
        this.forgetOutage(c.name);
        const dir = this.moveReport(c, result.outDir, s.runId, FAILED_DIR);
        log.error('file.deferred', `left ${c.name} in the inbox and stopped watching: ${s.abort.code}: ${s.abort.message}. ${s.abort.hint} ` +
          `Then start watch again: the file runs then, and what loaded is not sent again.${dir ? ` This run's report -> ${relative(this.inbox, dir)}/` : ''}`,
        { file: c.path, runId: s.runId, counts: s.counts, exitCode: result.exitCode, report: dir, abort: s.abort });
        return { code: result.exitCode, stop: true };
      }
      const outage = status === 'aborted' && s.abort !== undefined && OUTAGE_CODES.has(s.abort.code as ErrorCode);
      const runs = (this.outages[c.name]?.runs ?? 0) + 1;
      if (outage && runs < a['outage-attempts']) return this.retryLater(c, result, runs);
      this.forgetOutage(c.name);
      const failed = result.exitCode >= EXIT.USAGE;
      const moved = this.finish(c, result.outDir, s.runId, failed ? FAILED_DIR : PROCESSED_DIR);
      if (!moved) return { code: Math.max(result.exitCode, EXIT.ABORTED) };
      const cn = s.counts;
      const what = status === 'skipped' ? 'skipped (already loaded)'
        : `${status}: ${cn.read} read, ${cn.success} loaded, ${cn.failed} failed, ${cn.merged} merged, ${cn.unchanged} unchanged`;
      const data = { file: c.path, runId: s.runId, status, counts: cn, exitCode: result.exitCode, report: moved.dir, moved: moved.input, abort: s.abort };
      const after = outage && runs > 1 ? `; run ${runs} of ${a['outage-attempts']} after an outage, the last` : '';
      if (failed) log.error('file.failed', `failed ${c.name}: ${what}${s.abort ? ` (${s.abort.code}: ${s.abort.message}${after})` : ''}, exit ${result.exitCode} -> ${relative(this.inbox, moved.dir)}/`, data);
      else log.info('file.processed', `processed ${c.name}: ${what}, exit ${result.exitCode} -> ${relative(this.inbox, moved.dir)}/`, data);
      return { code: result.exitCode };
    }

    // runImport threw before writing a summary: say why in the file's report folder.
    this.forgetOutage(c.name);
    const code = exitCodeFor(error);
    const runId = created.length === 1 ? created[0] : newRunId(c.path, startedAt);
    const dir = join(this.work, runId);
    mkdirSync(dir, { recursive: true });
    const ie = toImportError(error);
    const err = { code: ie.code, message: redactSecrets(ie.message, io.env), where: describeWhere(ie.where) || undefined, hint: ie.hint };
    writeFileSync(join(dir, ERROR_FILE), JSON.stringify({
      tool: 'contact-import', runId, command: 'watch', target: a.target, status: 'failed', file: basename(c.path), bytes: c.size,
      startedAt: startedAt.toISOString(), finishedAt: new Date().toISOString(), exitCode: code, error: err,
    }, null, 2) + '\n');
    const moved = this.finish(c, dir, runId, FAILED_DIR);
    log.error('file.failed', `failed ${c.name}: ${err.code}: ${err.message}, exit ${code}${moved ? ` -> ${relative(this.inbox, moved.dir)}/` : ''}`,
      { file: c.path, runId, exitCode: code, error: err, report: moved?.dir, moved: moved?.input });
    return { code };
  }

  /**
   * The target could not be reached: the file stays in the inbox and runs again after a wait
   * (doubling with each run); this run's report goes to failed/<run-id>/ without it.
   */
  private retryLater(c: Candidate, result: RunResult, runs: number): FileResult {
    const s = result.summary;
    const dir = this.moveReport(c, result.outDir, s.runId, FAILED_DIR);
    if (!dir) return { code: Math.max(result.exitCode, EXIT.ABORTED) };
    const nextAt = Date.now() + this.a['outage-wait'] * 1000 * 2 ** (runs - 1);
    this.outages[c.name] = { size: c.size, mtimeMs: c.mtimeMs, runs, nextAt };
    this.saveOutages();
    this.waitLogged.add(c.name);
    const cn = s.counts;
    this.log.warn('file.retry-later', `left ${c.name} in the inbox: ${s.abort!.code}: ${s.abort!.message}; ` +
      `run ${runs + 1} of ${this.a['outage-attempts']} is due at ${new Date(nextAt).toISOString()} (what loaded is not sent again); ` +
      `this run's report (${cn.success} loaded, ${cn.failed} failed) -> ${relative(this.inbox, dir)}/`,
    { file: c.path, runId: s.runId, runs, nextAt: new Date(nextAt).toISOString(), counts: cn, exitCode: result.exitCode, report: dir, abort: s.abort });
    return { code: result.exitCode };
  }

  /**
   * Moves the report folder to <dest>/<run-id>/ and the input beside it. Nothing is ever
   * overwritten: a taken folder name gets a suffix, and an input named like a report file
   * (failed.csv fed back) gets ".input" before its extension. The report moves first, so a
   * crash in between leaves the input in the inbox (run again: skipped or resumed), never lost.
   */
  private finish(c: Candidate, workDir: string, runId: string, dest: string): { dir: string; input: string } | undefined {
    const dir = this.moveReport(c, workDir, runId, dest);
    if (!dir) return undefined;
    try {
      const ext = extname(c.name);
      const stem = c.name.slice(0, c.name.length - ext.length);
      let input = join(dir, c.name);
      for (let i = 1; existsSync(input); i++) input = join(dir, `${stem}.input${i > 1 ? `-${i}` : ''}${ext}`);
      renameSync(c.path, input);
      return { dir, input };
    } catch (e) {
      return this.stuckIn(c, e, dir);
    }
  }

  /** Moves the report folder to <dest>/<run-id>/ (a taken name gets a suffix); undefined if it could not. */
  private moveReport(c: Candidate, workDir: string, runId: string, dest: string): string | undefined {
    try {
      const root = join(this.inbox, dest);
      mkdirSync(root, { recursive: true });
      let dir = join(root, runId);
      for (let i = 2; ; i++) {
        try {
          // rename refuses a non-empty target folder, so an existing report is never replaced.
          if (!existsSync(dir)) { renameSync(workDir, dir); return dir; }
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (code !== 'EEXIST' && code !== 'ENOTEMPTY') throw e;
        }
        dir = join(root, `${runId}-${i}`);
      }
    } catch (e) {
      return this.stuckIn(c, e, workDir);
    }
  }

  /** A file whose report or input could not be moved: this watcher never runs it again. */
  private stuckIn(c: Candidate, e: unknown, report: string): undefined {
    this.stuck.add(c.name);
    this.log.error('file.stuck', `could not move ${c.name} out of the inbox (${(e as Error).message}); it will not be run again until watch restarts`, { file: c.path, report });
    return undefined;
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((res) => {
    if (signal?.aborted) return res();
    const done = () => { clearTimeout(t); signal?.removeEventListener('abort', done); res(); };
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
