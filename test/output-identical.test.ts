/**
 * The performance work (issue #11) must not change what a run produces. The digests in
 * test/fixtures/golden/outputs.json were taken with the pipeline as it was *before* any
 * optimization (commit "Golden outputs before the performance work"), for every sample
 * and for 20,000 rows of the benchmark generator (seed 7: phones in 13 countries' shapes,
 * ~20% duplicates, so the phone fast paths, the worker pool and the dedupe spill are all
 * exercised). Each run here must write byte-identical success, failed and merged CSVs and
 * payload files.
 *
 * When a change is *meant* to alter outputs, regenerate with UPDATE_GOLDEN=1 and say why
 * in the commit.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync, mkdirSync, statSync } from 'node:fs';
import { join, sep } from 'node:path';
import { ROOT, runCli, tempDir } from './helpers/cli.js';
import { writeCsv } from './bench/generate.js';

const GOLDEN = join(ROOT, 'test', 'fixtures', 'golden', 'outputs.json');
const update = process.env.UPDATE_GOLDEN === '1';
const tmp = tempDir('output-identical-');
after(() => tmp.cleanup());

type Digests = Record<string, Record<string, string>>;
const golden: Digests = existsSync(GOLDEN) ? JSON.parse(readFileSync(GOLDEN, 'utf8')) as Digests : {};
const fresh: Digests = {};

function digestsOf(out: string): Record<string, string> {
  const files = ['success.csv', 'failed.csv', 'merged.csv', 'unchanged.csv'].filter((f) => existsSync(join(out, f)));
  const payloads = existsSync(join(out, 'payloads'))
    ? (readdirSync(join(out, 'payloads'), { recursive: true }) as string[]).map((f) => `payloads/${f.split(sep).join('/')}`)
      .filter((f) => statSync(join(out, f)).isFile()).sort()
    : [];
  const d: Record<string, string> = {};
  for (const f of [...files, ...payloads]) d[f] = createHash('sha256').update(readFileSync(join(out, f))).digest('hex');
  return d;
}

interface Case { name: string; input: string; mapping: string }
const cases: Case[] = readdirSync(join(ROOT, 'samples')).filter((f) => !f.startsWith('.') && f !== 'README.md').sort()
  .map((s) => ({ name: s, input: join(ROOT, 'samples', s), mapping: join(ROOT, 'mappings', s.replace(/\.[^.]+$/, '') + '.yaml') }));
const generated = join(tmp.path, 'bench-20000-seed7.csv');
cases.push({ name: 'bench-20000-seed7.csv', input: generated, mapping: join(ROOT, 'test', 'bench', 'mapping.yaml') });

for (const c of cases) {
  test(`${c.name}: success, failed, merged and payloads are byte-identical to the golden run`, async () => {
    if (c.input === generated && !existsSync(generated)) writeCsv(generated, 20_000, 7);
    const out = join(tmp.path, `out-${c.name}`);
    const r = await runCli(['run', c.input, '--mapping', c.mapping, '--out', out, '--quiet']);
    assert.ok(r.code === 0 || r.code === 1, `exit ${r.code}\n${r.stderr}`);
    const got = digestsOf(out);
    fresh[c.name] = got;
    if (update) return;
    assert.ok(golden[c.name], `no golden digests for ${c.name}: run with UPDATE_GOLDEN=1 on a known-good commit`);
    assert.deepEqual(got, golden[c.name], `${c.name}: outputs differ from the golden run (files whose digests changed are listed)`);
  });
}

after(() => {
  if (!update) return;
  mkdirSync(join(ROOT, 'test', 'fixtures', 'golden'), { recursive: true });
  writeFileSync(GOLDEN, JSON.stringify(fresh, null, 2) + '\n');
});
