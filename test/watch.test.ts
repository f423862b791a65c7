/** `contact-import watch`: settled files only, arrival order, processed/ and failed/ with one report each, the inbox lock. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { BIN, ROOT, runCli, tempDir, readSummary } from './helpers/cli.js';

const MAPPING = join(ROOT, 'mappings', 'clean.yaml');
const CLEAN = readFileSync(join(ROOT, 'samples', 'clean.csv'), 'utf8');

function events(stderr: string): Record<string, unknown>[] {
  return stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
}

function folders(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

function setMtime(file: string, secondsAgo: number) {
  const t = new Date(Date.now() - secondsAgo * 1000);
  utimesSync(file, t, t);
}

test('watch --once: each file moves to processed/ or failed/ beside exactly one report, in arrival order; exit = worst', async () => {
  const t = tempDir();
  try {
    const inbox = join(t.path, 'inbox');
    mkdirSync(inbox);
    // Arrival order (mtime) differs from name order on purpose.
    writeFileSync(join(inbox, 'zeta.csv'), CLEAN);
    setMtime(join(inbox, 'zeta.csv'), 300);
    writeFileSync(join(inbox, 'alpha.csv'), CLEAN + 'C-9999,Nobody,,,,,,,,US\n'); // one row without phone or email
    setMtime(join(inbox, 'alpha.csv'), 200);
    writeFileSync(join(inbox, 'middle.xlsx'), 'this is not a workbook\n');
    setMtime(join(inbox, 'middle.xlsx'), 100);
    writeFileSync(join(inbox, 'notes.json'), '{}');
    writeFileSync(join(inbox, 'later.csv.part'), CLEAN);
    writeFileSync(join(inbox, '.hidden.csv'), CLEAN);

    const r = await runCli(['watch', inbox, '-m', MAPPING, '--once', '--settle', '0.2', '--log-format', 'json']);
    assert.equal(r.code, 2, r.stderr);
    // --once ends with watch.stopped too, carrying the exit code a scheduler sees.
    const last = events(r.stderr).at(-1);
    assert.equal(last?.event, 'watch.stopped', r.stderr);
    assert.equal(last?.exitCode, 2);

    const processed = folders(join(inbox, 'processed'));
    const failed = folders(join(inbox, 'failed'));
    assert.equal(processed.length, 2);
    assert.equal(failed.length, 1);
    const byFile = new Map<string, { dir: string; startedAt: string; exitCode: number }>();
    for (const id of processed) {
      const dir = join(inbox, 'processed', id);
      const input = readdirSync(dir).filter((n) => n === 'zeta.csv' || n === 'alpha.csv');
      assert.equal(input.length, 1, `one input in ${id}`);
      assert.equal(readdirSync(dir).filter((n) => n === 'summary.json').length, 1);
      const s = readSummary(dir);
      assert.equal(s.runId, id, 'the folder is named after the run');
      byFile.set(input[0], { dir, startedAt: s.startedAt as string, exitCode: s.exitCode });
    }
    const fdir = join(inbox, 'failed', failed[0]);
    assert.deepEqual(readdirSync(fdir).sort(), ['error.json', 'middle.xlsx']);
    const err = JSON.parse(readFileSync(join(fdir, 'error.json'), 'utf8')) as { startedAt: string; exitCode: number; error: { code: string; message: string; hint: string } };
    assert.equal(err.exitCode, 2);
    assert.equal(err.error.code, 'FILE_TYPE_MISMATCH');
    assert.match(err.error.message, /middle\.xlsx/);
    assert.ok(err.error.hint);
    byFile.set('middle.xlsx', { dir: fdir, startedAt: err.startedAt, exitCode: err.exitCode });

    assert.equal(byFile.get('zeta.csv')!.exitCode, 0);
    assert.equal(byFile.get('alpha.csv')!.exitCode, 1);
    const order = [...byFile.entries()].sort((a, b) => a[1].startedAt.localeCompare(b[1].startedAt)).map(([n]) => n);
    assert.deepEqual(order, ['zeta.csv', 'alpha.csv', 'middle.xlsx']);
    const picked = events(r.stderr).filter((e) => e.event === 'file.picked').map((e) => String(e.file).split('/').pop());
    assert.deepEqual(picked, ['zeta.csv', 'alpha.csv', 'middle.xlsx']);
    const ends = events(r.stderr).filter((e) => e.event === 'file.processed' || e.event === 'file.failed').map((e) => e.event);
    assert.deepEqual(ends, ['file.processed', 'file.processed', 'file.failed']);
    assert.ok(events(r.stderr).some((e) => e.event === 'file.ignored' && String(e.file).endsWith('notes.json')));

    // What is not an input stays; nothing is left half-done; the lock is gone.
    assert.deepEqual(readdirSync(inbox).sort(), ['.hidden.csv', '.work', 'failed', 'later.csv.part', 'notes.json', 'processed']);
    assert.deepEqual(readdirSync(join(inbox, '.work')), []);
  } finally { t.cleanup(); }
});

test('watch --once waits for a file that is still being written and imports all of it', async () => {
  const t = tempDir();
  try {
    const inbox = join(t.path, 'inbox');
    mkdirSync(inbox);
    const file = join(inbox, 'arriving.csv');
    const [header, ...rows] = CLEAN.trimEnd().split('\n');
    writeFileSync(file, header + '\n');
    // Rows trickle in, far more often than the settle time, for a few settle times.
    let written = 0;
    let lastWrite = 0;
    const total = 60;
    const writer = new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const row = rows[written % rows.length].replace(/^C-\d+/, `C-${5000 + written}`);
        appendFileSync(file, row + '\n');
        written++;
        lastWrite = Date.now();
        if (written === total) { clearInterval(timer); resolve(); }
      }, 25);
    });
    const r = await runCli(['watch', inbox, '-m', MAPPING, '--once', '--settle', '1', '--log-format', 'json']);
    await writer;
    assert.equal(r.code, 0, r.stderr);
    const [id] = folders(join(inbox, 'processed'));
    const s = readSummary(join(inbox, 'processed', id));
    assert.equal(s.counts.read, total, 'every row written was read: the file was not taken while growing');
    const picked = events(r.stderr).find((e) => e.event === 'file.picked')!;
    assert.ok(Date.parse(String(picked.time)) >= lastWrite, 'picked after the last write');
    assert.equal(existsSync(file), false);
  } finally { t.cleanup(); }
});

test('a second watch on the same inbox is refused while the first holds it; SIGTERM stops the first cleanly', async () => {
  const t = tempDir();
  try {
    const inbox = join(t.path, 'inbox');
    mkdirSync(inbox);
    const first = spawn(process.execPath, [BIN, 'watch', inbox, '-m', MAPPING, '--interval', '0.2', '--settle', '0.2'], { cwd: ROOT, env: { PATH: process.env.PATH, HOME: process.env.HOME } });
    let err1 = '';
    const idle = new Promise<void>((res, rej) => {
      first.stderr.on('data', (d) => { err1 += d; if (err1.includes('waiting for files')) res(); });
      first.on('close', () => rej(new Error(`first watch ended early: ${err1}`)));
    });
    const exited = new Promise<number | null>((res) => first.on('close', (c) => res(c)));
    await idle;

    const second = await runCli(['watch', inbox, '-m', MAPPING, '--once', '--settle', '0.2']);
    assert.equal(second.code, 3, second.stderr);
    assert.match(second.stderr, /error: LOCKED: /);
    assert.ok(second.stderr.includes(join(inbox, '.watch.lock')), second.stderr);
    assert.ok(second.stderr.includes(`process ${first.pid} on host ${hostname()}`), second.stderr);
    assert.ok(second.stderr.includes('contact-import watch'), second.stderr);
    assert.match(second.stderr, /started \d{4}-\d\d-\d\dT/);
    assert.doesNotMatch(second.stderr, /\n\s+at /, 'no stack trace');

    // The first is still watching: a file dropped now is imported by it.
    writeFileSync(join(inbox, 'late.csv'), CLEAN);
    while (!folders(join(inbox, 'processed')).length) await new Promise((r) => setTimeout(r, 50));
    first.kill('SIGTERM');
    assert.equal(await exited, 0, err1);
    assert.equal(existsSync(join(inbox, '.watch.lock')), false);
    assert.match(err1, /processed late\.csv/);
  } finally { t.cleanup(); }
});

test('a stale inbox lock (its process is dead) is taken over with a log line', async () => {
  const t = tempDir();
  try {
    const inbox = join(t.path, 'inbox');
    mkdirSync(inbox);
    const dead = Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString());
    writeFileSync(join(inbox, '.watch.lock'), JSON.stringify({ pid: dead, host: hostname(), startedAt: '2024-01-01T00:00:00.000Z', command: 'contact-import watch', detail: inbox }));
    writeFileSync(join(inbox, 'one.csv'), CLEAN);
    const r = await runCli(['watch', inbox, '-m', MAPPING, '--once', '--settle', '0.2']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`took over the stale lock .*process ${dead} is no longer running`));
    assert.equal(folders(join(inbox, 'processed')).length, 1);
    assert.equal(existsSync(join(inbox, '.watch.lock')), false);
  } finally { t.cleanup(); }
});

test('an input named like a report file (failed.csv fed back) never overwrites the report', async () => {
  const t = tempDir();
  try {
    const inbox = join(t.path, 'inbox');
    mkdirSync(inbox);
    writeFileSync(join(inbox, 'failed.csv'), CLEAN);
    const r = await runCli(['watch', inbox, '-m', MAPPING, '--once', '--settle', '0.2']);
    assert.equal(r.code, 0, r.stderr);
    const [id] = folders(join(inbox, 'processed'));
    const dir = join(inbox, 'processed', id);
    assert.equal(readFileSync(join(dir, 'failed.input.csv'), 'utf8'), CLEAN);
    assert.match(readFileSync(join(dir, 'failed.csv'), 'utf8'), /_row/, 'the report\'s failed.csv is still the report\'s');
  } finally { t.cleanup(); }
});

test('watch refuses a missing inbox, --out, and a broken mapping before taking any file', async () => {
  const t = tempDir();
  try {
    const inbox = join(t.path, 'inbox');
    const missing = await runCli(['watch', inbox, '-m', MAPPING, '--once']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /FILE_NOT_FOUND: inbox folder .* does not exist/);
    mkdirSync(inbox);
    writeFileSync(join(inbox, 'a.csv'), CLEAN);
    const out = await runCli(['watch', inbox, '-m', MAPPING, '--once', '--out', t.path]);
    assert.equal(out.code, 2);
    assert.match(out.stderr, /--out does not apply to watch/);
    const bad = await runCli(['watch', inbox, '-m', join(t.path, 'nope.yaml'), '--once']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /MAPPING_NOT_FOUND/);
    assert.ok(existsSync(join(inbox, 'a.csv')), 'the file stays in the inbox');
    assert.equal(existsSync(join(inbox, 'failed')), false);
  } finally { t.cleanup(); }
});
