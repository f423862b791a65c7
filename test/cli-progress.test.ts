import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createProgress } from '../pipeline/cli/progress.js';

test('without a terminal, progress is a plain line with rows, share done and rows/s', () => {
  const lines: string[] = [];
  const p = createProgress({ tty: false, quiet: false, write: (s) => lines.push(s), intervalMs: 0 });
  p.update({ rows: 1500, bytes: 250, totalBytes: 1000 });
  p.stop();
  assert.equal(lines.length, 1);
  assert.match(lines[0], /^progress: 1,500 rows \(25%\), [\d,]+ rows\/s, \d+ s$/);
});

test('without a terminal, lines come at most once per interval', () => {
  const lines: string[] = [];
  const p = createProgress({ tty: false, quiet: false, write: (s) => lines.push(s), intervalMs: 60_000 });
  for (let i = 1; i <= 100; i++) p.update({ rows: i * 100 });
  assert.equal(lines.length, 0, 'the first line waits one interval; a short run prints none');
});

test('--quiet prints nothing', () => {
  const lines: string[] = [];
  const p = createProgress({ tty: false, quiet: true, write: (s) => lines.push(s), intervalMs: 0 });
  p.update({ rows: 10 });
  assert.deepEqual(lines, []);
});
