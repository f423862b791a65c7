/**
 * The Spoke loader through the real command line, against the in-process emulator with
 * a fixed latency per request. The figure is the loader's share of the ideal rate,
 * concurrency × batch / latency (every request slot always busy and nothing but the
 * latency costing time), measured over the PUTs' own span in the emulator's log so
 * that reading, phones and dedupe before the first PUT do not count.
 *
 * test/bench/spoke-throughput.ts (written with the loader) drives the loader alone
 * with synthetic contacts; this one runs the whole tool on generated rows.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { runNode, type Measured } from './measure.js';

export interface SpokeResult {
  rows: number;
  latencyMs: number;
  batchSize: number;
  concurrency: number;
  idealPerS: number;
  puts: number;
  putsFailed: number;
  contactsPut: number;
  meanBatch: number;
  maxInFlight: number;
  loadSpanS: number;
  contactsPerS: number;
  shareOfIdeal: number;
  wallS: number;
  peakRssMb: number;
  exitCode: number;
  counts?: Record<string, number>;
}

export type SpokeOutcome = SpokeResult | { skipped: string } | { error: string };

export async function measureSpoke(opts: {
  root: string; file: string; rows: number; mapping: string; scratch: string; keep: boolean;
  latencyMs?: number; batchSize?: number; concurrency?: number;
}): Promise<SpokeOutcome> {
  const loaderSrc = join(opts.root, 'pipeline/loaders/spoke/loader.ts');
  const loaderJs = join(opts.root, 'dist/loaders/spoke/loader.js');
  const emulatorSrc = join(opts.root, 'test/emulators/spoke.ts');
  if (!existsSync(loaderSrc) || !existsSync(emulatorSrc)) return { skipped: 'loader not present' };
  if (!existsSync(loaderJs)) return { skipped: 'loader not built (dist/loaders/spoke/loader.js missing: run npm run build)' };

  const latencyMs = opts.latencyMs ?? 50;
  const batchSize = opts.batchSize ?? 100;
  const concurrency = opts.concurrency ?? 4;
  const { startSpokeEmulator } = await import('../emulators/spoke.js');
  const emu = await startSpokeEmulator({ faults: { latencyMs }, maxContactsPerPut: Math.max(1000, batchSize) });
  const out = join(opts.scratch, `spoke-out-${Date.now()}`);
  let m: Measured;
  try {
    // The emulator answers from this process's event loop while the child runs.
    m = await runNode([
      join(opts.root, 'bin/contact-import.js'), 'run', opts.file, '--mapping', opts.mapping, '--target', 'spoke',
      '--batch-size', String(batchSize), '--concurrency', String(concurrency), '--out', out, '--quiet',
    ], { cwd: opts.root, env: { ...process.env, ...emu.env }, scratch: opts.scratch });
    if (m.exitCode === 2 && m.stderr.includes('TARGET_UNKNOWN')) {
      return { skipped: 'loader not present in the CLI (contact-import run --target spoke: TARGET_UNKNOWN)' };
    }
    if (m.exitCode !== 0 && m.exitCode !== 1) {
      return { error: `contact-import run --target spoke exited ${m.exitCode}: ${m.stderr.trim().split('\n').slice(-5).join(' | ')}` };
    }
    // Exit code 1 is also a crash: the run counts only if it wrote its summary.
    if (!existsSync(join(out, 'summary.json'))) {
      return { error: `contact-import run --target spoke wrote no summary.json (exit ${m.exitCode}): ${m.stderr.trim().split('\n').slice(-5).join(' | ')}` };
    }
    const puts = emu.requests('PUT /phonebooks/:email/contacts');
    const ok = puts.filter((p) => p.status === 200);
    if (!ok.length) return { error: `no successful PUT (${puts.length} PUTs); stderr: ${m.stderr.trim().split('\n').slice(-3).join(' | ')}` };
    const contactsPut = ok.reduce((n, p) => n + (p.ids?.length ?? 0), 0);
    const first = puts.reduce((t, p) => Math.min(t, p.start), Infinity);
    const last = puts.reduce((t, p) => Math.max(t, p.end), 0);
    const loadSpanS = (last - first) / 1000;
    const idealPerS = (concurrency * batchSize) / (latencyMs / 1000);
    const contactsPerS = contactsPut / loadSpanS;
    let counts: Record<string, number> | undefined;
    const summaryFile = join(out, 'summary.json');
    if (existsSync(summaryFile)) counts = (JSON.parse(readFileSync(summaryFile, 'utf8')) as { counts: Record<string, number> }).counts;
    return {
      rows: opts.rows, latencyMs, batchSize, concurrency, idealPerS,
      puts: puts.length, putsFailed: puts.length - ok.length, contactsPut,
      meanBatch: Math.round((contactsPut / ok.length) * 10) / 10,
      maxInFlight: emu.state.maxInFlight,
      loadSpanS: round2(loadSpanS), contactsPerS: Math.round(contactsPerS), shareOfIdeal: round2(contactsPerS / idealPerS),
      wallS: round2(m.wallS), peakRssMb: Math.round(m.peakRssMb), exitCode: m.exitCode, counts,
    };
  } finally {
    await emu.close();
    if (!opts.keep) rmSync(out, { recursive: true, force: true });
  }
}

const round2 = (x: number) => Math.round(x * 100) / 100;
