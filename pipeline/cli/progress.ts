/**
 * Progress on stderr: a bar with rows/s and ETA on a terminal (cli-progress), a plain
 * line every few seconds otherwise (logs of schedulers and CI stay readable).
 */
import cliProgress from 'cli-progress';

export interface Progress {
  update(p: { rows: number; bytes?: number; totalBytes?: number }): void;
  stop(): void;
}

export function createProgress(opts: { tty: boolean; quiet: boolean; write?: (s: string) => void; intervalMs?: number }): Progress {
  if (opts.quiet) return { update() {}, stop() {} };
  const t0 = Date.now();
  if (opts.tty) {
    const bar = new cliProgress.SingleBar({
      format: ' {bar} {percentage}% | {rows} rows | {rate} rows/s | ETA {eta_formatted}',
      stream: process.stderr, hideCursor: true, clearOnComplete: true, etaBuffer: 50, fps: 5,
    }, cliProgress.Presets.shades_classic);
    let started = false;
    return {
      update(p) {
        const rate = Math.round(p.rows / Math.max((Date.now() - t0) / 1000, 0.001));
        if (!started) { bar.start(p.totalBytes ?? 1, 0, { rows: 0, rate: 0 }); started = true; }
        bar.update(p.bytes ?? 0, { rows: p.rows.toLocaleString('en-US'), rate: rate.toLocaleString('en-US') });
      },
      stop() { if (started) bar.stop(); },
    };
  }
  const write = opts.write ?? ((s: string) => process.stderr.write(s + '\n'));
  const every = opts.intervalMs ?? 5000;
  let last = t0;
  return {
    update(p) {
      const now = Date.now();
      if (now - last < every) return;
      last = now;
      const secs = (now - t0) / 1000;
      const rate = Math.round(p.rows / Math.max(secs, 0.001));
      const pct = p.totalBytes && p.bytes ? ` (${Math.min(100, Math.round((p.bytes / p.totalBytes) * 100))}%)` : '';
      write(`progress: ${p.rows.toLocaleString('en-US')} rows${pct}, ${rate.toLocaleString('en-US')} rows/s, ${secs.toFixed(0)} s`);
    },
    stop() {},
  };
}
