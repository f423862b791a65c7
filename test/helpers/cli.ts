/** Runs the built CLI as a user would (a child process), and reads what it wrote. */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import Papa from 'papaparse';
import { restoreCell } from '../../pipeline/report/csv-safe.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = join(ROOT, 'bin', 'contact-import.js');

export interface CliResult { code: number; stdout: string; stderr: string }

export interface RunOpts { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number }

export function runCli(args: string[], opts: RunOpts = {}): Promise<CliResult> {
  return runProcess(process.execPath, [BIN, ...args], opts);
}

/** Any command (e.g. bash setting a limit, then the CLI), with runCli's clean environment and output capture. */
export function runProcess(command: string, args: string[], opts: RunOpts = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    // A clean environment: no credentials leak in from the developer's shell. Each call
    // gets its own state store unless the test names one (CONTACT_IMPORT_STATE or --state),
    // so runs never find each other's ledger or write into the repository's folder.
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, CONTACT_IMPORT_STATE: freshStatePath(), ...opts.env };
    const child = spawn(command, args, { cwd: opts.cwd ?? ROOT, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code: code ?? -1, stdout, stderr }); });
  });
}

let stateRoot: string | undefined;
let stateN = 0;
/** A state store path no other run uses, under one folder removed when the test process exits. */
export function freshStatePath(): string {
  if (!stateRoot) {
    const root = mkdtempSync(join(tmpdir(), 'ci-state-'));
    stateRoot = root;
    process.on('exit', () => rmSync(root, { recursive: true, force: true }));
  }
  return join(stateRoot, `state-${++stateN}.db`);
}

export function tempDir(prefix = 'ci-test-'): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

export interface SummaryJson {
  status: string;
  exitCode: number;
  counts: { read: number; success: number; failed: number; merged: number; unchanged: number };
  invariant: { holds: boolean };
  failuresByCode: Record<string, { count: number; hint: string; examples: { row: number; message: string }[] }>;
  mergesByKey: Record<string, number>;
  targetActions: Record<string, number>;
  notes: string[];
  inputs: { file: string; sha256: string; rows: number; encoding?: string; delimiter?: string; format: string }[];
  abort?: { code: string; message: string; hint: string };
  [k: string]: unknown;
}

export function readSummary(dir: string): SummaryJson {
  return JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as SummaryJson;
}

/** The accounting invariant, checked against the summary and against the CSVs themselves. */
export function assertInvariant(dir: string): SummaryJson {
  const s = readSummary(dir);
  const c = s.counts;
  assert.equal(c.read, c.success + c.failed + c.merged + c.unchanged, `invariant broken in ${dir}: ${JSON.stringify(c)}`);
  assert.equal(s.invariant.holds, true);
  assert.equal(readReportCsv(dir, 'success.csv').length, c.success, 'success.csv rows = counts.success');
  assert.equal(readReportCsv(dir, 'failed.csv').length, c.failed, 'failed.csv rows = counts.failed');
  assert.equal(readReportCsv(dir, 'merged.csv').length, c.merged, 'merged.csv rows = counts.merged');
  const failSum = Object.values(s.failuresByCode).reduce((a, f) => a + f.count, 0);
  assert.equal(failSum, c.failed, 'failuresByCode adds up to counts.failed');
  return s;
}

/**
 * A report CSV as objects (BOM stripped), with formula-neutralized cells restored as the
 * tool does when it reads its own reports. Missing file (unchanged.csv is lazy) = no rows.
 */
export function readReportCsv(dir: string, name: string): Record<string, string>[] {
  let text: string;
  try { text = readFileSync(join(dir, name), 'utf8'); } catch { return []; }
  const parsed = Papa.parse<Record<string, string>>(text.replace(/^\uFEFF/, ''), { header: true, skipEmptyLines: true });
  assert.deepEqual(parsed.errors, [], `${name} parses cleanly`);
  return parsed.data.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, restoreCell(v)])));
}

/**
 * A generated contacts CSV, `dir/<name>.csv`: External ID, Name, a distinct US Phone, and
 * unless `owner` is false an Owner (three of them), then an Extra column holding `extra`
 * when given; with its mapping, `dir/<name>.yaml`, ending in `mappingTail` (a dedupe section).
 */
export function writeContacts(dir: string, name: string, n: number, o: { owner?: boolean; extra?: string; mappingTail?: string } = {}): { input: string; mapping: string } {
  const owner = o.owner ?? true;
  const lines = [['External ID', 'Name', 'Phone', ...(owner ? ['Owner'] : []), ...(o.extra !== undefined ? ['Extra'] : [])].join(',')];
  for (let i = 0; i < n; i++) {
    const cells = [`C-${i}`, `Person ${i}`, `+1415555${String(i).padStart(4, '0')}`];
    if (owner) cells.push(`owner${i % 3}@ourco.example`);
    if (o.extra !== undefined) cells.push(o.extra);
    lines.push(cells.join(','));
  }
  const input = join(dir, `${name}.csv`);
  writeFileSync(input, lines.join('\n') + '\n');
  const mapping = join(dir, `${name}.yaml`);
  writeFileSync(mapping, `fields:\n  id: External ID\n  name: Name\n  phones: Phone\n${owner ? '  owner: Owner\n' : ''}${o.mappingTail ?? ''}`);
  return { input, mapping };
}

/**
 * A copy of the mapping at `path` (relative to ROOT or absolute) in `dir` that also maps
 * fields.id from `column`: a sample mapping without an id leaves talkdesk.jsonl empty
 * (Talkdesk needs an id on every contact), and a test reading a whole contact there needs one.
 */
export function mappingWithId(path: string, column: string, dir: string): string {
  const text = readFileSync(resolve(ROOT, path), 'utf8');
  assert.match(text, /^fields:\n/m, `${path} has a fields: section`);
  assert.doesNotMatch(text, /^ {2}id:/m, `${path} maps no id yet`);
  const out = join(dir, `${basename(path, '.yaml')}-with-id.yaml`);
  writeFileSync(out, text.replace(/^fields:\n/m, `fields:\n  id: ${JSON.stringify(column)}\n`));
  return out;
}

/** The data report.html embeds (its tables of rows), as the page's script reads it. */
export function reportPageData(dir: string) {
  const html = readFileSync(join(dir, 'report.html'), 'utf8');
  return JSON.parse(/<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(html)![1]);
}

/**
 * Inputs `dir/part-<i>.csv` (each file's lines joined by `eol`) run with the mapping `yaml`
 * into the file target, the report in `dir/report`.
 */
export async function runFileTarget(dir: string, files: string[][], yaml: string, eol = '\n'): Promise<{ out: string; r: CliResult }> {
  const inputs = files.map((lines, i) => {
    const path = join(dir, `part-${i}.csv`);
    writeFileSync(path, lines.join(eol) + eol);
    return path;
  });
  const mapping = join(dir, 'm.yaml');
  writeFileSync(mapping, yaml);
  const out = join(dir, 'report');
  const r = await runCli(['run', ...inputs, '-m', mapping, '--target', 'file', '--out', out, '--quiet']);
  return { out, r };
}
