/**
 * A folder given where a file is expected (`run samples/`, `check samples`, `init samples/`) is
 * a usage mistake, FILE_IS_FOLDER (exit 2) pointing at `watch`, not "internal error: EISDIR ...
 * This is a bug" (exit 3).
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSource } from '../pipeline/sources/index.js';
import { ImportError } from '../pipeline/errors.js';
import { runCli } from './helpers/cli.js';

let tmp: string;
before(() => { tmp = mkdtempSync(join(tmpdir(), 'folder-input-')); });
after(() => { rmSync(tmp, { recursive: true, force: true }); });

describe('a folder given as the input file', () => {
  test('every reader path (no extension, trailing slash, a folder named like a file) says FILE_IS_FOLDER, naming it', async () => {
    const named = join(tmp, 'export.csv');
    const sheet = join(tmp, 'book.xlsx');
    mkdirSync(named);
    mkdirSync(sheet);
    for (const dir of [tmp, `${tmp}/`, named, sheet]) {
      let err: unknown;
      try { await openSource(dir, {}); } catch (e) { err = e; }
      assert.ok(err instanceof ImportError, `${dir}: ${String(err)}`);
      assert.equal(err.code, 'FILE_IS_FOLDER', `${dir}: ${err.message}`);
      assert.equal(err.kind, 'usage');
      assert.equal(err.where.file, dir);
      assert.equal(err.message, `${dir} is a folder, not a file: give a CSV, XLS or XLSX file (to import every file dropped into a folder, use \`contact-import watch\`)`);
    }
  });

  test('a missing file is still FILE_NOT_FOUND, also without an extension', async () => {
    for (const f of [join(tmp, 'nope.csv'), join(tmp, 'nope')]) {
      await assert.rejects(openSource(f, {}), (e: unknown) => e instanceof ImportError && e.code === 'FILE_NOT_FOUND');
    }
  });

  for (const args of [['run', 'samples/', '-m', 'mappings/clean.yaml'], ['check', 'samples/', '-m', 'mappings/clean.yaml'], ['check', 'samples', '-m', 'mappings/clean.yaml'], ['init', 'samples/']]) {
    test(`${args.join(' ')}: exit 2, FILE_IS_FOLDER pointing at watch, not a bug`, async () => {
      const r = await runCli([...args, ...(args[0] === 'init' ? [] : ['--out', join(tmp, `out-${args[0]}`)])]);
      assert.equal(r.code, 2, r.stderr + r.stdout);
      const first = r.stderr.split('\n')[0];
      assert.equal(first, `error: FILE_IS_FOLDER: ${args[1]} is a folder, not a file: give a CSV, XLS or XLSX file (to import every file dropped into a folder, use \`contact-import watch\`)`);
      assert.match(r.stderr, /^hint: .*contact-import watch/m);
      assert.doesNotMatch(r.stderr + r.stdout, /EISDIR|internal error|This is a bug/);
    });
  }
});
