/**
 * Folders the tool creates (--out, init --out, the state store's folder) either exist at the
 * end or the user is told which part of the path is wrong: never node's endless recursive
 * mkdir on a folder that refuses new entries, never a bare ENOENT shown as a bug.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeDirs } from '../pipeline/dirs.js';
import { isImportError } from '../pipeline/errors.js';
import { openStore } from '../pipeline/state/store.js';
import { runCli, tempDir } from './helpers/cli.js';

const tmp = tempDir('ci-dirs-');
test.after(() => tmp.cleanup());
const USE = { what: 'the test folder', fix: 'pick another' };

test('makeDirs creates every missing level, and an existing folder is fine', () => {
  const deep = join(tmp.path, 'a', 'b', 'c');
  makeDirs(deep, USE);
  assert.ok(statSync(deep).isDirectory());
  makeDirs(deep, USE);
  makeDirs(tmp.path, USE);
});

test('makeDirs under a file or through a link to nothing: a usage error naming that part of the path', () => {
  const file = join(tmp.path, 'plain.txt');
  writeFileSync(file, 'x');
  const link = join(tmp.path, 'dangling');
  symlinkSync(join(tmp.path, 'no-such-target'), link);
  const cases: [string, RegExp][] = [
    [file, /is an existing file; pick another/],
    [join(file, 'sub'), /plain\.txt is a file, not a folder; pick another/],
    [join(link, 'sub'), /dangling is a link to .*no-such-target, which does not exist; pick another/],
    [link, /dangling is a link to .*no-such-target, which does not exist/],
  ];
  for (const [dir, why] of cases) {
    assert.throws(() => makeDirs(dir, USE), (e: unknown) => isImportError(e) && e.code === 'FOLDER_UNUSABLE' && e.kind === 'usage'
      && e.message.startsWith(`the test folder ${dir} `) && why.test(e.message), dir);
  }
  assert.equal(readFileSync(file, 'utf8'), 'x');
  assert.equal(existsSync(join(tmp.path, 'no-such-target')), false, 'nothing is created at the link\'s target');
});

test('the state store under a file: a usage error naming --state, not a bug', () => {
  const file = join(tmp.path, 'store-parent.txt');
  writeFileSync(file, 'x');
  assert.throws(() => openStore({ path: join(file, 'state.db'), schemas: [] }),
    (e: unknown) => isImportError(e) && e.kind === 'usage' && /state store's folder/.test(e.message) && /--state/.test(e.message));
});

test('CLI: --out through a link to nothing exits 2 naming the link, without "internal error"', async () => {
  const link = join(tmp.path, 'out-link');
  symlinkSync(join(tmp.path, 'gone'), link);
  const r = await runCli(['run', 'samples/clean.csv', '-m', 'mappings/clean.yaml', '--out', join(link, 'sub'), '--quiet']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /OUT_NOT_A_FOLDER: the report folder .*out-link\/sub cannot be created: .*out-link is a link to .*gone, which does not exist/);
  assert.doesNotMatch(r.stderr, /internal error|ENOENT/);
});

test('CLI: init --out through a link to nothing exits 2 naming the link', async () => {
  const link = join(tmp.path, 'init-link');
  symlinkSync(join(tmp.path, 'gone-too'), link);
  const r = await runCli(['init', 'samples/clean.csv', '--out', join(link, 'draft.yaml')]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /FOLDER_UNUSABLE: the folder of --out .*init-link cannot be created: .*init-link is a link to .*gone-too, which does not exist; pick another path for --out/);
});

test('CLI: --out in a folder that refuses new entries (/proc) ends with exit 2 instead of looping', { skip: !existsSync('/proc/self/status') }, async () => {
  // node's recursive mkdir retried this for ever at 100% CPU, deaf to SIGTERM; runCli kills it after 30 s (code -1).
  const r = await runCli(['run', 'samples/clean.csv', '-m', 'mappings/clean.yaml', '--out', '/proc/self/contact-import-report', '--quiet'], { timeoutMs: 30_000 });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /OUT_NOT_A_FOLDER: the report folder \/proc\/self\/contact-import-report cannot be created: \/proc\/self does not accept a new folder/);
});

test('makeDirs leaves an existing folder tree untouched', () => {
  const d = join(tmp.path, 'keep');
  mkdirSync(d);
  writeFileSync(join(d, 'f'), 'y');
  makeDirs(join(d, 'x'), USE);
  assert.equal(readFileSync(join(d, 'f'), 'utf8'), 'y');
});
