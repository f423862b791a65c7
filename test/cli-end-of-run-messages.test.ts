/**
 * How a run's end reads to whoever runs it: with --log-format json every error is a JSON line
 * (a scheduler can tell why), and an interrupted run says so and what to do next.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../pipeline/cli/main.js';
import { runCli, tempDir, ROOT } from './helpers/cli.js';

const tmp = tempDir('ci-end-');
test.after(() => tmp.cleanup());

/** The stderr lines as JSON; each must parse. */
const jsonLines = (stderr: string) => stderr.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);

test('--log-format json: a mapping mistake is one JSON error line with code, message, where, hint and exit code', async () => {
  const m = join(tmp.path, 'typo.yaml');
  writeFileSync(m, 'fields:\n  phnoes: Phone\n');
  const r = await runCli(['check', 'samples/clean.csv', '-m', m, '--log-format', 'json']);
  assert.equal(r.code, 2, r.stderr);
  const lines = jsonLines(r.stderr);
  assert.equal(lines.length, 1, r.stderr);
  const [e] = lines;
  assert.equal(e.level, 'error');
  assert.equal(e.event, 'error');
  assert.equal(e.code, 'MAPPING_INVALID');
  assert.match(String(e.msg), /phnoes/);
  assert.ok(String(e.hint).length > 0);
  assert.equal(e.exitCode, 2);
});

test('--log-format=json: a command-line mistake is a JSON line too', async () => {
  const r = await runCli(['run', 'samples/clean.csv', '-m', 'mappings/clean.yaml', '--retries', '-1', '--log-format=json']);
  assert.equal(r.code, 2, r.stderr);
  const [e] = jsonLines(r.stderr);
  assert.equal(e.code, 'USAGE');
  assert.match(String(e.msg), /--retries must be a whole number/);
});

test('text logs (the default) keep the two-line error', async () => {
  const r = await runCli(['run', 'samples/clean.csv', '-m', 'mappings/clean.yaml', '--retries', '-1']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^error: USAGE: --retries must be a whole number .*\nhint: /);
});

test('--log-format json: an aborted run ends with run.finished at level error, carrying the abort code and message', async () => {
  // A port nothing listens on: the target is unreachable.
  const port = await new Promise<number>((res) => { const s = createServer(); s.listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => res(p)); }); });
  const env = { SPOKE_CLIENT_ID: 'id', SPOKE_CLIENT_SECRET: 'secret', SPOKE_AUTH_URL: `http://127.0.0.1:${port}`, SPOKE_API_URL: `http://127.0.0.1:${port}` };
  const r = await runCli(['run', 'samples/clean.csv', '-m', 'mappings/clean.yaml', '--target', 'spoke', '--retries', '0', '--log-format', 'json', '--out', join(tmp.path, 'aborted')], { env });
  assert.equal(r.code, 3, r.stderr);
  const fin = jsonLines(r.stderr).find((l) => l.event === 'run.finished');
  assert.ok(fin, r.stderr);
  assert.equal(fin.level, 'error');
  assert.equal(fin.status, 'aborted');
  assert.equal((fin.abort as { code: string }).code, 'TARGET_UNREACHABLE');
  assert.match(String(fin.msg), /run aborted: TARGET_UNREACHABLE/);
});

test('an interrupted run says it was interrupted and that the same command processes the rest', async () => {
  const ctl = new AbortController();
  ctl.abort(); // as if Ctrl-C came before the first batch was done: that batch finishes, no more is read
  let out = '';
  const code = await main(['run', join(ROOT, 'samples/clean.csv'), '-m', join(ROOT, 'mappings/clean.yaml'), '--out', join(tmp.path, 'interrupted'), '--quiet'],
    { out: (s) => { out += s; }, err: () => {}, env: { PATH: process.env.PATH }, isTTY: false, signal: ctl.signal });
  assert.equal(code, 3);
  assert.match(out, /Interrupted: the run stopped before the end of its input/);
  assert.match(out, /Run the same command again/);
});

test('summary.json names only report files that exist (no unchanged.csv on a run that left nothing unchanged)', async () => {
  const out = join(tmp.path, 'files');
  const r = await runCli(['run', 'samples/messy.csv', '-m', 'mappings/messy.yaml', '--out', out, '--quiet']);
  assert.ok(r.code === 0 || r.code === 1, r.stderr);
  const s = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as { files: Record<string, string> };
  assert.ok(Object.keys(s.files).length >= 4, JSON.stringify(s.files));
  for (const [k, f] of Object.entries(s.files)) assert.ok(existsSync(join(out, f)), `summary.files.${k} = ${f} does not exist`);
  assert.equal(s.files.unchanged, undefined);
});

test('--mirror on Talkdesk says why nothing was deleted: the contact sync cannot remove a contact', async () => {
  const out = join(tmp.path, 'mirror-talkdesk');
  const r = await runCli(['run', 'samples/clean.csv', '-m', 'mappings/clean.yaml', '--target', 'talkdesk', '--mirror', '--out', out, '--quiet']);
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as { notes: string[] };
  assert.ok(s.notes.some((n) => /^--mirror: nothing was deleted: Talkdesk's contact sync .* has no way to remove one$/.test(n)), s.notes.join('\n'));
  assert.doesNotMatch(s.notes.join('\n'), /keeps no record/);
});
