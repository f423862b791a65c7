/**
 * summary.json's `timings`: where a run's time went (opening, reading, after reading,
 * finishing), in milliseconds that add up to durationMs exactly, also for a run that stopped
 * before reaching a phase. The bench prints them, and report.html shows them.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { timingsOf } from '../pipeline/run.js';
import type { Timings } from '../pipeline/report/summary.js';
import { runCli, tempDir, writeContacts } from './helpers/cli.js';

const tmp = tempDir('summary-timings-');
after(() => tmp.cleanup());

const total = (t: Timings) => t.openMs + t.readMs + t.loadMs + t.finishMs;

test('timingsOf: each moment rounded once, so the phases add up to the rounded duration', () => {
  // Three phases of 10.4 ms: rounded one by one they would make 30 ms of a 31 ms run.
  const t0 = 100;
  const t = timingsOf(t0, { readFrom: 110.4, readTo: 120.8, loadTo: 131.2 }, 131.2);
  assert.deepEqual(t, { openMs: 10, readMs: 11, loadMs: 10, finishMs: 0 });
  assert.equal(total(t), Math.round(131.2 - t0));
});

test('timingsOf: a phase the run never reached counts 0, and the time goes to the phase it stopped in', () => {
  // Stopped while reading (an abort): no end of reading; the loader was closed in the catch.
  assert.deepEqual(timingsOf(0, { readFrom: 5, loadTo: 40 }, 45), { openMs: 5, readMs: 35, loadMs: 0, finishMs: 5 });
  // Stopped before the first row (the target refused the credentials at open).
  assert.deepEqual(timingsOf(0, { loadTo: 30 }, 31), { openMs: 30, readMs: 0, loadMs: 0, finishMs: 1 });
  // Nothing reached at all.
  assert.deepEqual(timingsOf(0, {}, 12), { openMs: 12, readMs: 0, loadMs: 0, finishMs: 0 });
});

test('a run that dedupes: summary.json times reading and what follows it, adding up to durationMs, and report.html shows them', async () => {
  // Every 4th row repeats an earlier id: dedupe has clusters to merge after reading.
  const { input, mapping } = writeContacts(tmp.path, 'contacts', 6000, { mappingTail: 'dedupe:\n  keys: [id]\n' });
  const lines = readFileSync(input, 'utf8').split('\n');
  for (let i = 4; i < lines.length - 1; i += 4) lines[i] = lines[i].replace(/^C-\d+/, `C-${i - 3}`);
  writeFileSync(input, lines.join('\n'));
  const out = join(tmp.path, 'report');
  const r = await runCli(['run', input, '--mapping', mapping, '--target', 'file', '--out', out, '--quiet']);
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  assert.ok(s.counts.merged > 1000, `merged ${s.counts.merged}`);
  const t = s.timings as Timings;
  assert.deepEqual(Object.keys(t), ['openMs', 'readMs', 'loadMs', 'finishMs']);
  for (const [k, v] of Object.entries(t)) assert.ok(Number.isInteger(v) && v >= 0, `${k} = ${v}`);
  assert.equal(total(t), s.durationMs);
  // 6,000 rows through the row stages, then 4,500 contacts' payloads: neither is instant.
  assert.ok(t.readMs > 0 && t.loadMs > 0, JSON.stringify(t));
  const html = readFileSync(join(out, 'report.html'), 'utf8');
  assert.match(html, /<dt>time spent<\/dt><dd>opening \d+\.\d\d s, reading \d+\.\d\d s, after reading \d+\.\d\d s, finishing \d+\.\d\d s<\/dd>/);
});
