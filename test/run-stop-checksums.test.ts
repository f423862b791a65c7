/**
 * A run that stops before the end of its input (Ctrl-C, SIGTERM, an abort) does not read the
 * rest of the file only to take its SHA-256 for summary.json: on the bench's 5M-row file that
 * was 2.3 of the 6 s between Ctrl-C and the exit, and a service manager's stop timeout may not
 * wait that long. summary.json leaves the checksum out and its notes say why; a run that reads
 * its inputs whole still has them.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../pipeline/cli/main.js';
import { tempDir } from './helpers/cli.js';

const tmp = tempDir('run-stop-checksums-');
after(() => tmp.cleanup());

/** A CSV of n contacts, larger than the reader's first chunks (256 KiB each) when n is large. */
function contacts(name: string, n: number): string {
  const lines = ['External ID,Name,Phone'];
  for (let i = 0; i < n; i++) lines.push(`C-${i},Person ${i},+1415555${String(i % 10000).padStart(4, '0')}`);
  const path = join(tmp.path, name);
  writeFileSync(path, lines.join('\n') + '\n');
  return path;
}

const big = contacts('big.csv', 60_000); // ≈ 2.2 MB
const small = contacts('small.csv', 10);
const mapping = join(tmp.path, 'm.yaml');
writeFileSync(mapping, 'fields:\n  id: External ID\n  name: Name\n  phones: Phone\n');
const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');

async function run(out: string, signal?: AbortSignal) {
  const code = await main(['run', big, small, '-m', mapping, '--target', 'file', '--out', out, '--quiet'],
    { out: () => {}, err: () => {}, env: { PATH: process.env.PATH }, isTTY: false, signal });
  return { code, s: JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) };
}

test('an interrupted run leaves out the checksums of the inputs it did not read to the end, and says why', async () => {
  const ctl = new AbortController();
  ctl.abort(); // Ctrl-C before the first batch is done: that batch finishes, nothing more is read
  const out = join(tmp.path, 'interrupted');
  const { code, s } = await run(out, ctl.signal);
  assert.equal(code, 3);
  assert.equal(s.status, 'interrupted');
  const [a, b] = s.inputs;
  assert.ok(a.rows > 0 && a.rows < 60_000, `read part of big.csv: ${a.rows} rows`);
  assert.equal(b.rows, 0);
  assert.ok(!('sha256' in a) && !('sha256' in b), JSON.stringify(s.inputs));
  assert.ok(s.notes.includes(`no sha256 for ${big}, ${small}: the run stopped before reading them to the end, and hashing the rest would only have delayed the stop`), s.notes.join('\n'));
  assert.equal(s.invariant.holds, true);
  const html = readFileSync(join(out, 'report.html'), 'utf8');
  assert.equal(html.match(/<td>not taken: the run stopped before reading it whole<\/td>/g)?.length, 2);
});

test('a run that reads its inputs whole still has their checksums, taken as they were read', async () => {
  const { code, s } = await run(join(tmp.path, 'whole'));
  assert.equal(code, 0);
  assert.deepEqual(s.inputs.map((i: { sha256: string; rows: number }) => [i.sha256, i.rows]), [[sha(big), 60_000], [sha(small), 10]]);
  assert.ok(!s.notes.some((n: string) => n.startsWith('no sha256')), s.notes.join('\n'));
});
