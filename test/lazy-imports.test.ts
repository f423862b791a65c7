/**
 * Memory (issue #11): SheetJS (≈ 9 MB once loaded) and form-data (≈ 12 MB with mime-db)
 * are imported only by the runs that need them: a CSV run never loads them, a workbook
 * loads SheetJS, a Samespace upload loads form-data. Checked on the built CLI with a module
 * resolution hook that logs every package the process resolves. The built CLI is bundled
 * (scripts/bundle.mjs): the packages left out of the bundle (better-sqlite3, SheetJS,
 * form-data) are the ones a run resolves, when it imports them.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, runCli, tempDir } from './helpers/cli.js';

const tmp = tempDir('lazy-imports-');
after(() => tmp.cleanup());
const HOOK = pathToFileURL(join(ROOT, 'test', 'fixtures', 'module-log', 'register.mjs')).href;

async function packagesLoadedBy(name: string, args: string[]): Promise<Set<string>> {
  const log = join(tmp.path, `${name}.log`);
  const r = await runCli([...args, '--out', join(tmp.path, name), '--quiet'], { env: { NODE_OPTIONS: `--import=${HOOK}`, MODULE_LOG: log } });
  assert.ok(r.code === 0 || r.code === 1, `${name}: exit ${r.code}\n${r.stderr}`);
  assert.ok(existsSync(log), `${name}: the hook logged nothing`);
  return new Set(readFileSync(log, 'utf8').split('\n').filter(Boolean));
}

test('a CSV run loads neither SheetJS nor form-data', async () => {
  const loaded = await packagesLoadedBy('csv', ['run', join(ROOT, 'samples', 'clean.csv'), '--mapping', join(ROOT, 'mappings', 'clean.yaml'), '--target', 'file']);
  // The CLI imports better-sqlite3 (its state store) as it starts: a hook that logs nothing cannot pass.
  assert.ok(loaded.has('better-sqlite3'), `the hook sees the CSV run's own packages: ${[...loaded].join(', ')}`);
  assert.ok(!loaded.has('xlsx'), 'SheetJS loaded by a CSV run');
  assert.ok(!loaded.has('form-data'), 'form-data loaded by a run that uploads nothing');
});

test('a workbook run loads SheetJS', async () => {
  const loaded = await packagesLoadedBy('xlsx', ['check', join(ROOT, 'samples', 'title-row-phones-as-numbers.xlsx'), '--mapping', join(ROOT, 'mappings', 'title-row-phones-as-numbers.yaml')]);
  assert.ok(loaded.has('xlsx'), `SheetJS not loaded for an .xlsx: ${[...loaded].join(', ')}`);
});
