/**
 * `npm run bench`: speed and memory, measured on one generated file, never asserted.
 *
 *   npm run bench -- [--rows 1000000] [--seed 42] [--only floor,naive,tool,xlsx,phones,spoke,bridge]
 *                    [--xlsx-rows 100000] [--spoke-rows 50000] [--phone-rows N] [--list-diffs 500] [--keep]
 *
 * Each subject (floor, naive, tool, SheetJS, check on XLSX, the Spoke run) is a child
 * process measured from outside (measure.ts). The table goes to stdout and the figures
 * to test/bench/results.json, keyed by row count so a 5M memory run does not overwrite
 * the 1M figures. See test/bench/README.md for how to read them.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { writeCsv } from './generate.js';
import { lastJson, runNode, transpile, type Measured } from './measure.js';
import { ensureXlsx } from './xlsx.js';
import { measureSpoke, type SpokeOutcome } from './spoke.js';
import type { PhoneAgreement } from './phones.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '../..');
const DATA = join(HERE, 'data');
const SCRATCH = join(DATA, 'tmp');
const RESULTS = join(HERE, 'results.json');
const MAPPING = join(HERE, 'mapping.yaml');
const BIN = join(ROOT, 'bin/contact-import.js');
const SECTIONS = ['floor', 'naive', 'tool', 'xlsx', 'phones', 'spoke', 'bridge'] as const;
type Section = (typeof SECTIONS)[number];

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    seed: { type: 'string', default: '42' },
    only: { type: 'string' },
    'xlsx-rows': { type: 'string', default: '100000' },
    'spoke-rows': { type: 'string', default: '50000' },
    'bridge-contacts': { type: 'string', default: '1000000' },
    'phone-rows': { type: 'string' },
    'list-diffs': { type: 'string', default: '500' },
    keep: { type: 'boolean', default: false },
  },
});
const int = (s: string, name: string) => {
  const n = Number(s.replace(/[_,]/g, ''));
  if (!Number.isInteger(n) || n < 1) usage(`--${name} expects a positive whole number, got ${JSON.stringify(s)}`);
  return n;
};
function usage(msg: string): never {
  process.stderr.write(`bench: ${msg}\nusage: npm run bench -- [--rows N] [--seed N] [--only ${SECTIONS.join(',')}] [--xlsx-rows N] [--spoke-rows N] [--bridge-contacts N] [--phone-rows N] [--list-diffs N] [--keep]\n`);
  process.exit(2);
}
const rows = int(args.rows!, 'rows');
const seed = int(args.seed!, 'seed');
const xlsxRows = int(args['xlsx-rows']!, 'xlsx-rows');
const spokeRows = int(args['spoke-rows']!, 'spoke-rows');
const bridgeContacts = int(args['bridge-contacts']!, 'bridge-contacts');
const phoneRows = args['phone-rows'] ? int(args['phone-rows'], 'phone-rows') : rows;
const listDiffs = int(args['list-diffs']!, 'list-diffs');
const only = new Set<Section>(args.only ? (args.only.split(',').map((s) => s.trim()) as Section[]) : SECTIONS);
for (const s of only) if (!SECTIONS.includes(s)) usage(`unknown section ${JSON.stringify(s)} in --only`);

interface RunFigures {
  rows: number;
  wallS: number;
  rowsPerS: number;
  mbPerS: number;
  peakRssMb: number;
  userS?: number;
  sysS?: number;
  rssMethod: Measured['rssMethod'];
  exitCode: number;
  outputMb?: number;
  detail?: unknown;
  at: string;
}
type Outcome = RunFigures | { error: string } | { skipped: string };
const isFigures = (o: unknown): o is RunFigures => typeof o === 'object' && o !== null && 'wallS' in o;

const dataCsv = (n: number) => join(DATA, `contacts-${n}-${seed}.csv`);
const mb = (bytes: number) => bytes / 1e6;
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
const rel = (p: string) => relative(ROOT, p);
let failed = false;

function ensureCsv(n: number): string {
  const file = dataCsv(n);
  if (existsSync(file)) return file;
  process.stderr.write(`generating ${rel(file)} (${n.toLocaleString('en-US')} rows, seed ${seed}) ...\n`);
  const t = performance.now();
  writeCsv(file, n, seed);
  process.stderr.write(`  ${mb(statSync(file).size).toFixed(1)} MB in ${((performance.now() - t) / 1000).toFixed(1)} s\n`);
  return file;
}

function figures(m: Measured, n: number, bytes: number, extra: Partial<RunFigures> = {}): RunFigures {
  return {
    rows: n, wallS: round(m.wallS), rowsPerS: Math.round(n / m.wallS), mbPerS: round(mb(bytes) / m.wallS),
    peakRssMb: Math.round(m.peakRssMb), userS: m.userS, sysS: m.sysS, rssMethod: m.rssMethod, exitCode: m.exitCode,
    at: new Date().toISOString(), ...extra,
  };
}

function childError(what: string, m: Measured): { error: string } {
  failed = true;
  const tail = (m.stderr.trim() || m.stdout.trim()).split('\n').slice(-6).join('\n    ');
  return { error: `${what} exited ${m.exitCode}:\n    ${tail}` };
}

function dirBytes(p: string): number {
  if (!existsSync(p)) return 0;
  const st = statSync(p);
  if (!st.isDirectory()) return st.size;
  return readdirSync(p).reduce((n, f) => n + dirBytes(join(p, f)), 0);
}

function toolBuilt(): string | undefined {
  return existsSync(join(ROOT, 'dist/cli/main.js')) ? undefined : 'the CLI is not built (dist/cli/main.js missing): run `npm run build`, or use `npm run bench`';
}

/** The tool's own summary.json, reduced to what the bench reports. */
function toolSummary(outDir: string): Record<string, unknown> | undefined {
  const f = join(outDir, 'summary.json');
  if (!existsSync(f)) return undefined;
  const s = JSON.parse(readFileSync(f, 'utf8')) as Record<string, unknown> & { failuresByCode?: Record<string, { count: number }> };
  const failures: Record<string, number> = {};
  for (const [code, v] of Object.entries(s.failuresByCode ?? {})) failures[code] = v.count;
  return { status: s.status, durationMs: s.durationMs, timings: s.timings, counts: s.counts, invariant: s.invariant, failuresByCode: failures, mergesByKey: s.mergesByKey, dedupe: s.dedupe };
}

// ---------------------------------------------------------------- sections

async function runFloor(file: string, bytes: number, js: string): Promise<Outcome> {
  const m = await runNode([js, file], { scratch: SCRATCH });
  if (m.exitCode !== 0) return childError('floor', m);
  return checkRows('floor', m, rows) ?? figures(m, rows, bytes, { detail: lastJson(m.stdout) });
}

async function runNaive(file: string, bytes: number, js: string): Promise<Outcome> {
  const out = join(SCRATCH, `naive-${Date.now()}.csv`);
  const m = await runNode([js, file, out], { scratch: SCRATCH });
  if (m.exitCode !== 0) return childError('naive', m);
  const f = checkRows('naive', m, rows) ?? figures(m, rows, bytes, { detail: lastJson(m.stdout), outputMb: round(mb(dirBytes(out)), 1) });
  if (!args.keep) rmSync(out, { force: true });
  return f;
}

async function runTool(file: string, bytes: number): Promise<Outcome> {
  const notBuilt = toolBuilt();
  if (notBuilt) { failed = true; return { error: notBuilt }; }
  const out = join(SCRATCH, `tool-out-${Date.now()}`);
  const m = await runNode([BIN, 'run', file, '--mapping', MAPPING, '--target', 'file', '--out', out, '--quiet'], { cwd: ROOT, scratch: SCRATCH });
  // 1 = the run finished and some rows failed, which the messy file guarantees.
  if (m.exitCode !== 0 && m.exitCode !== 1) return childError('contact-import run', m);
  const summary = toolSummary(out);
  const bad = summaryProblem('contact-import run', m, summary, rows);
  const f = bad ?? figures(m, rows, bytes, { detail: summary, outputMb: round(mb(dirBytes(out)), 1) });
  if (!args.keep) rmSync(out, { recursive: true, force: true });
  return f;
}

/**
 * Exit code 1 means "some rows failed" but is also what node exits with on a crash, so a
 * run counts only when it wrote a summary that read every row.
 */
function summaryProblem(what: string, m: Measured, summary: Record<string, unknown> | undefined, expected: number): { error: string } | undefined {
  if (!summary) return childError(`${what} (no summary.json written)`, m);
  const read = (summary.counts as { read?: number } | undefined)?.read;
  if (read !== expected) return childError(`${what} (summary.json says ${read} rows read, expected ${expected})`, m);
  return undefined;
}

/** A child that parsed a different number of rows than were generated measured something else. */
function checkRows(what: string, m: Measured, expected: number): { error: string } | undefined {
  const got = lastJson<{ rows?: number }>(m.stdout)?.rows;
  return got === expected ? undefined : childError(`${what} (parsed ${got} rows, expected ${expected})`, m);
}

async function runXlsx(readerJs: string): Promise<{ sheetjs: Outcome; check: Outcome; file?: string }> {
  const file = join(DATA, `contacts-${xlsxRows}-${seed}.xlsx`);
  if (!existsSync(file)) {
    process.stderr.write(`writing ${rel(file)} with SheetJS (${xlsxRows.toLocaleString('en-US')} rows) ...\n`);
    ensureXlsx(file, xlsxRows, seed);
  }
  const bytes = statSync(file).size;
  const s = await runNode([readerJs, file], { scratch: SCRATCH });
  const sheetjs: Outcome = s.exitCode === 0
    ? checkRows('SheetJS read', s, xlsxRows) ?? figures(s, xlsxRows, bytes, { detail: lastJson(s.stdout) })
    : childError('SheetJS read', s);
  const notBuilt = toolBuilt();
  if (notBuilt) { failed = true; return { sheetjs, check: { error: notBuilt }, file: rel(file) }; }
  const out = join(SCRATCH, `check-out-${Date.now()}`);
  const c = await runNode([BIN, 'check', file, '--mapping', MAPPING, '--out', out, '--quiet', '--show', '0'], { cwd: ROOT, scratch: SCRATCH });
  const summary = toolSummary(out);
  const check: Outcome = c.exitCode === 0 || c.exitCode === 1
    ? summaryProblem('contact-import check (xlsx)', c, summary, xlsxRows) ?? figures(c, xlsxRows, bytes, { detail: summary })
    : childError('contact-import check (xlsx)', c);
  if (!args.keep) rmSync(out, { recursive: true, force: true });
  return { sheetjs, check, file: rel(file) };
}

async function runPhones(): Promise<PhoneAgreement | { skipped: string } | { error: string }> {
  if (!existsSync(join(ROOT, 'pipeline/transforms/phone.ts'))) return { skipped: 'pipeline/transforms/phone.ts not present' };
  try {
    const { normalizePhoneCell } = await import('../../pipeline/transforms/phone.js');
    const { phoneAgreement } = await import('./phones.js');
    process.stderr.write(`phone agreement over every number of ${phoneRows.toLocaleString('en-US')} generated rows ...\n`);
    return await phoneAgreement(phoneRows, seed, listDiffs, normalizePhoneCell as Parameters<typeof phoneAgreement>[3]);
  } catch (e) {
    failed = true;
    return { error: `phone agreement failed: ${(e as Error).stack ?? String(e)}` };
  }
}

// ---------------------------------------------------------------- report

/** The bridge over a 1M-contact store: test/bench/bridge.ts as a child process, its lines kept as printed. */
function runBridge(): { lines: string[] } | { error: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(HERE, 'bridge.ts'), '--contacts', String(bridgeContacts)],
    { cwd: ROOT, encoding: 'utf8', maxBuffer: 16 << 20 });
  if (r.status !== 0) { failed = true; return { error: `bridge bench exited ${r.status}: ${(r.stderr || '').slice(-2000)}` }; }
  return { lines: r.stdout.trim().split('\n').filter(Boolean) };
}

function table(rowsOut: [string, Outcome | undefined][]): string {
  const head = ['subject', 'rows', 'wall s', 'rows/s', 'MB/s', 'peak RSS MB', 'cpu s (user+sys)'];
  const lines: string[][] = [head];
  const notes: string[] = [];
  for (const [name, o] of rowsOut) {
    if (!o) continue;
    if (isFigures(o)) {
      const cpu = o.userS !== undefined ? (o.userS + (o.sysS ?? 0)).toFixed(1) : '';
      lines.push([name, o.rows.toLocaleString('en-US'), o.wallS.toFixed(2), o.rowsPerS.toLocaleString('en-US'), o.mbPerS.toFixed(1), String(o.peakRssMb), cpu]);
    } else {
      lines.push([name, '', '', '', '', '', '']);
      notes.push(`${name}: ${'error' in o ? 'ERROR ' + o.error : o.skipped}`);
    }
  }
  const w = head.map((_, i) => Math.max(...lines.map((l) => l[i].length)));
  const fmt = (l: string[]) => l.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
  return [fmt(lines[0]), w.map((n) => '-'.repeat(n)).join('  '), ...lines.slice(1).map(fmt), ...notes].join('\n');
}

type Record_ = Record<string, unknown>;
function ratios(r: Record_): Record<string, number> | undefined {
  const { floor, naive, tool } = r as { floor?: Outcome; naive?: Outcome; tool?: Outcome };
  const out: Record<string, number> = {};
  if (isFigures(tool) && isFigures(floor)) {
    out.toolOverFloorWall = round(tool.wallS / floor.wallS);
    out.toolOverFloorRss = round(tool.peakRssMb / floor.peakRssMb);
  }
  if (isFigures(tool) && isFigures(naive)) {
    out.naiveOverToolWall = round(naive.wallS / tool.wallS);
    out.naiveOverToolRss = round(naive.peakRssMb / tool.peakRssMb);
  }
  return Object.keys(out).length ? out : undefined;
}

// ---------------------------------------------------------------- main

mkdirSync(SCRATCH, { recursive: true });
const started = new Date();
const load0 = loadavg();
const record: Record_ = {};
const jsDir = join(DATA, 'js');

if (only.has('floor') || only.has('naive') || only.has('tool')) {
  const file = ensureCsv(rows);
  const bytes = statSync(file).size;
  record.dataset = { file: rel(file), rows, seed, mb: round(mb(bytes), 1) };
  // The control for the peak RSS figures: node running nothing. The kernel counts the pages of
  // node's own binary that a process maps, and how many depends on how the page cache holds the
  // binary at the time (README: "Peak RSS and node's binary"), for every subject alike.
  const empty = await runNode(['-e', ''], { scratch: SCRATCH });
  record.nodeItself = empty.exitCode === 0 ? { peakRssMb: Math.round(empty.peakRssMb), rssMethod: empty.rssMethod } : childError('node -e ""', empty);
  if (only.has('floor')) {
    process.stderr.write('floor: papaparse streaming, header on, rows discarded ...\n');
    record.floor = await runFloor(file, bytes, transpile(join(HERE, 'floor.ts'), jsDir));
  }
  if (only.has('naive')) {
    process.stderr.write('naive: papaparse + libphonenumber-js + Map dedupe + Papa.unparse ...\n');
    record.naive = await runNaive(file, bytes, transpile(join(HERE, 'naive.ts'), jsDir));
  }
  if (only.has('tool')) {
    process.stderr.write('tool: contact-import run --target file ...\n');
    record.tool = await runTool(file, bytes);
  }
}
if (only.has('xlsx')) {
  process.stderr.write('xlsx: SheetJS alone, then contact-import check ...\n');
  record.xlsx = await runXlsx(transpile(join(HERE, 'xlsx-read.ts'), jsDir));
}
if (only.has('phones')) record.phones = await runPhones();
if (only.has('spoke')) {
  process.stderr.write(`spoke: contact-import run --target spoke against the emulator (50 ms latency, ${spokeRows.toLocaleString('en-US')} rows) ...\n`);
  let spoke: SpokeOutcome;
  try {
    spoke = await measureSpoke({ root: ROOT, file: ensureCsv(spokeRows), rows: spokeRows, mapping: MAPPING, scratch: SCRATCH, keep: !!args.keep });
  } catch (e) {
    spoke = { error: `spoke measurement failed: ${(e as Error).stack ?? String(e)}` };
  }
  if ('error' in spoke) failed = true;
  record.spoke = spoke;
}
if (only.has('bridge')) {
  process.stderr.write(`bridge: ${bridgeContacts.toLocaleString('en-US')}-contact store, pages of 1,000 over HTTP ...\n`);
  record.bridge = runBridge();
}
record.machine = {
  cpus: cpus().length, cpuModel: cpus()[0]?.model, memGb: round(totalmem() / 2 ** 30, 1), node: process.version,
  loadavgAtStart: load0.map((x) => round(x)), loadavgAtEnd: loadavg().map((x) => round(x)),
  note: 'shared machine: other processes run at the same time; compare ratios, not absolute times',
};
record.startedAt = started.toISOString();

// Merge into results.json under this row count: sections not run this time keep their last figures.
let all: Record<string, Record_> = {};
try { all = JSON.parse(readFileSync(RESULTS, 'utf8')) as Record<string, Record_>; } catch { /* first run, or unreadable */ }
const key = String(rows);
const merged: Record_ = { ...(all[key] ?? {}), ...record };
const r = ratios(merged);
if (r) merged.ratios = r;
all[key] = merged;
writeFileSync(RESULTS, JSON.stringify(all, null, 2) + '\n');

// ---------------------------------------------------------------- print

const x = record.xlsx as { sheetjs: Outcome; check: Outcome } | undefined;
const out: string[] = [];
out.push(`contact-import bench: ${rows.toLocaleString('en-US')} rows, seed ${seed}, ${cpus().length} CPUs, node ${process.version}, load average ${load0.map((v) => v.toFixed(2)).join(' ')} at start`);
if (record.dataset) out.push(`file: ${(record.dataset as { file: string; mb: number }).file} (${(record.dataset as { mb: number }).mb} MB)`);
out.push('');
const tableRows: [string, Outcome | undefined][] = [
  ['floor (papaparse)', record.floor as Outcome | undefined],
  ['naive script', record.naive as Outcome | undefined],
  ['tool (run, file)', record.tool as Outcome | undefined],
  ['xlsx: SheetJS read', x?.sheetjs],
  ['xlsx: tool check', x?.check],
];
if (tableRows.some(([, o]) => o)) out.push(table(tableRows));
const rr = ratios(record);
if (rr) {
  out.push('');
  if (rr.toolOverFloorWall !== undefined) out.push(`tool / floor:  wall ×${rr.toolOverFloorWall}, peak RSS ×${rr.toolOverFloorRss}`);
  if (rr.naiveOverToolWall !== undefined) out.push(`naive / tool:  wall ×${rr.naiveOverToolWall}, peak RSS ×${rr.naiveOverToolRss}`);
}
const nodeItself = record.nodeItself as { peakRssMb: number } | { error: string } | undefined;
if (nodeItself) out.push('peakRssMb' in nodeItself
  ? `node itself (node -e ""): peak RSS ${nodeItself.peakRssMb} MB, the control for every peak above (README: "Peak RSS and node's binary")`
  : `node itself: ERROR ${nodeItself.error}`);
if (x && isFigures(x.sheetjs) && isFigures(x.check)) out.push(`xlsx check / SheetJS:  wall ×${round(x.check.wallS / x.sheetjs.wallS)}, peak RSS ×${round(x.check.peakRssMb / x.sheetjs.peakRssMb)}`);
const tool = record.tool as Outcome | undefined;
if (isFigures(tool) && tool.detail) {
  const d = tool.detail as { counts?: Record<string, number>; invariant?: { holds: boolean }; timings?: Record<string, number> };
  if (d.counts) out.push(`tool counts: ${Object.entries(d.counts).map(([k, v]) => `${k} ${v.toLocaleString('en-US')}`).join(', ')}; invariant ${d.invariant?.holds ? 'holds' : 'BROKEN'}`);
  // Where the tool's time went, by its own summary.json: reading (the row worker's phase) and after reading (one thread).
  const t = d.timings;
  if (t) out.push(`tool phases: open ${(t.openMs / 1000).toFixed(2)} s, read ${(t.readMs / 1000).toFixed(2)} s, after reading ${(t.loadMs / 1000).toFixed(2)} s, finish ${(t.finishMs / 1000).toFixed(2)} s (summary.json timings)`);
}
const p = record.phones as PhoneAgreement | { skipped: string } | { error: string } | undefined;
if (p) {
  out.push('');
  if ('agreeShare' in p) {
    out.push(`phones: ${p.numbers.toLocaleString('en-US')} numbers from ${p.rows.toLocaleString('en-US')} rows; tool and google-libphonenumber agree on ${(p.agreeShare * 100).toFixed(2)}%`);
    out.push(`  same E.164 ${p.byKind.same}, both invalid ${p.byKind.bothInvalid}, different number ${p.byKind.differentNumber}, valid only for the tool ${p.byKind.toolOnly}, valid only for google ${p.byKind.googleOnly}`);
    out.push(`  the number the generator meant: tool ${(p.intended.toolShare * 100).toFixed(2)}%, google ${(p.intended.googleShare * 100).toFixed(2)}%; µs per number: tool ${p.microsPerNumber.tool}, google ${p.microsPerNumber.google}`);
    out.push(`  ${p.distinctDiffs} distinct differing cases; the ${p.diffs.length} most frequent are in results.json (phones.diffs)`);
    if (p.sameInput) {
      const q = p.sameInput;
      out.push(`  with the tool's 00/011/0011-as-"+" rule applied to google's input too (${q.googleReadWithPlus} numbers): agree on ${(q.agreeShare * 100).toFixed(3)}% (the figure the ≥ 99.99% target is judged on)`);
      out.push(`    same E.164 ${q.byKind.same}, both invalid ${q.byKind.bothInvalid}, different number ${q.byKind.differentNumber}, valid only for the tool ${q.byKind.toolOnly}, valid only for google ${q.byKind.googleOnly}; ${q.distinctDiffs} distinct differing cases in results.json (phones.sameInput.diffs)`);
      for (const d of q.diffs.slice(0, 10)) out.push(`    ${d.kind} ×${d.count}: ${JSON.stringify(d.text)} region ${d.region}: tool ${d.tool}, google ${d.google}`);
    }
  } else out.push(`phones: ${'error' in p ? 'ERROR ' + p.error : 'skipped: ' + p.skipped}`);
}
const s = record.spoke as SpokeOutcome | undefined;
if (s) {
  if ('shareOfIdeal' in s) {
    out.push(`spoke: ${s.contactsPut.toLocaleString('en-US')} contacts in ${s.puts} PUTs (mean ${s.meanBatch}) over ${s.loadSpanS} s = ${s.contactsPerS.toLocaleString('en-US')}/s; ideal ${s.concurrency} × ${s.batchSize} / ${s.latencyMs} ms = ${s.idealPerS.toLocaleString('en-US')}/s; share ${(s.shareOfIdeal * 100).toFixed(0)}% (max in flight ${s.maxInFlight}; whole run ${s.wallS} s, ${s.peakRssMb} MB)`);
  } else out.push(`spoke: ${'error' in s ? 'ERROR ' + s.error : 'skipped: ' + s.skipped}`);
}
const b = record.bridge as { lines: string[] } | { error: string } | undefined;
if (b) out.push(...('lines' in b ? b.lines.map((l) => `bridge: ${l}`) : [`bridge: ERROR ${b.error}`]));
out.push('');
out.push(`load average at end ${loadavg().map((v) => v.toFixed(2)).join(' ')} (figures are noisy on a shared machine). Figures written to ${rel(RESULTS)} under "${key}".`);
process.stdout.write(out.join('\n') + '\n');
if (failed) process.exitCode = 1;
