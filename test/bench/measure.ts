/**
 * Runs one benchmark subject as a child process and measures it from the outside:
 * wall time from the parent's clock, peak RSS of the child from GNU time's %M (the
 * kernel's ru_maxrss, exact) or, where /usr/bin/time is missing, by polling VmHWM in
 * /proc/<pid>/status (a lower bound: the last reading before the child exits).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import ts from 'typescript';

const GNU_TIME = '/usr/bin/time';

export interface Measured {
  exitCode: number;
  wallS: number;
  /** Peak resident set size of the child, MB (10^6 bytes). */
  peakRssMb: number;
  rssMethod: 'gnu-time' | 'proc-vmhwm';
  userS?: number;
  sysS?: number;
  stdout: string;
  stderr: string;
}

export interface RunChildOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Where GNU time writes its figures. */
  scratch: string;
}

/** Run `node <args>` and measure it. Resolves whatever the exit code; the caller judges it. */
export async function runNode(args: string[], opts: RunChildOptions): Promise<Measured> {
  mkdirSync(opts.scratch, { recursive: true });
  // BENCH_RSS=proc forces the /proc fallback (to check it on a machine that has GNU time).
  const useTime = process.env.BENCH_RSS !== 'proc' && existsSync(GNU_TIME);
  const timeFile = join(opts.scratch, `time-${process.pid}-${Date.now()}.txt`);
  const cmd = useTime ? GNU_TIME : process.execPath;
  const argv = useTime ? ['-f', '%M %U %S', '-o', timeFile, process.execPath, ...args] : args;

  const started = performance.now();
  const child = spawn(cmd, argv, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => { stdout = keepTail(stdout + s); });
  child.stderr.setEncoding('utf8').on('data', (s: string) => { stderr = keepTail(stderr + s); });

  let hwmKb = 0;
  let poll: NodeJS.Timeout | undefined;
  if (!useTime && child.pid) {
    const status = `/proc/${child.pid}/status`;
    poll = setInterval(() => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(status, 'utf8'));
        if (m) hwmKb = Math.max(hwmKb, Number(m[1]));
      } catch { /* the child has exited */ }
    }, 25);
  }

  const exitCode = await new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
  const wallS = (performance.now() - started) / 1000;
  if (poll) clearInterval(poll);

  if (useTime) {
    // GNU time prefixes "Command exited with non-zero status N" when the child fails.
    const lines = existsSync(timeFile) ? readFileSync(timeFile, 'utf8').trim().split('\n') : [];
    rmSync(timeFile, { force: true });
    const [maxKb, user, sys] = (lines.at(-1) ?? '0 0 0').split(/\s+/).map(Number);
    return { exitCode, wallS, peakRssMb: (maxKb * 1024) / 1e6, rssMethod: 'gnu-time', userS: user, sysS: sys, stdout, stderr };
  }
  return { exitCode, wallS, peakRssMb: (hwmKb * 1024) / 1e6, rssMethod: 'proc-vmhwm', stdout, stderr };
}

function keepTail(s: string): string {
  return s.length > 64 * 1024 ? s.slice(-64 * 1024) : s;
}

/** The last line of the child's stdout that parses as a JSON object. */
export function lastJson<T>(stdout: string): T | undefined {
  const lines = stdout.trim().split('\n').reverse();
  for (const l of lines) {
    if (!l.startsWith('{')) continue;
    try { return JSON.parse(l) as T; } catch { /* not ours */ }
  }
  return undefined;
}

/**
 * Transpile a self-contained bench script to plain ESM so it runs on bare node:
 * running it under tsx would add ≈ 0.7 s and ≈ 50 MB of start-up to the figures.
 * Output goes next to the cached data, which is git-ignored; bare imports still
 * resolve from the project's node_modules.
 */
export function transpile(srcFile: string, outDir: string): string {
  mkdirSync(outDir, { recursive: true });
  const out = join(outDir, basename(srcFile).replace(/\.ts$/, '.mjs'));
  const { outputText } = ts.transpileModule(readFileSync(srcFile, 'utf8'), {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    fileName: srcFile,
  });
  writeFileSync(out, outputText);
  return out;
}
