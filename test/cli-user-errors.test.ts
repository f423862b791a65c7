/**
 * User mistakes get one clear error: what, where, how to fix it; exit code 2; no stack
 * trace; nothing written to a target.
 */
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, tempDir } from './helpers/cli.js';

const tmp = tempDir('cli-errors-');
after(() => tmp.cleanup());
const file = (name: string, content: string | Buffer) => { const p = join(tmp.path, name); writeFileSync(p, content); return p; };
const STACK = /^\s+at .+:\d+:\d+\)?$/m;

async function expectUsageError(args: string[], code: string, ...mentions: (string | RegExp)[]) {
  const r = await runCli(args);
  assert.equal(r.code, 2, `exit 2 expected, got ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  assert.doesNotMatch(r.stderr, STACK, 'no stack trace');
  assert.match(r.stderr, new RegExp(`error: ${code}:`));
  assert.match(r.stderr, /^hint: /m);
  for (const m of mentions) assert.match(r.stderr, typeof m === 'string' ? new RegExp(m.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : m);
  return r;
}

describe('CLI: user mistakes', () => {
  test('a mapping key with a typo says where and suggests the right key', async () => {
    const m = file('typo.yaml', 'fields:\n  name: Name\n  phnoes: Phone\nphone:\n  defualtCountry: US\n');
    await expectUsageError(['check', 'samples/clean.csv', '-m', m], 'MAPPING_INVALID', m, 'phnoes', 'did you mean "phones"', ':3', 'defualtCountry', 'defaultCountry');
  });

  test('a YAML syntax error names the line', async () => {
    const m = file('broken.yaml', 'fields:\n  name: "Name\n  phones: Phone\n');
    await expectUsageError(['check', 'samples/clean.csv', '-m', m], 'MAPPING_YAML', m, /line \d|:\d/);
  });

  test('a mapped column missing from the file lists the file\'s headers', async () => {
    const m = file('missing-col.yaml', 'fields:\n  name: Full Nmae\n  emails: Email\n');
    await expectUsageError(['check', 'samples/clean.csv', '-m', m], 'MAPPING_COLUMN_MISSING', 'Full Nmae', 'samples/clean.csv', 'First Name', 'Owner Email');
  });

  test('the mapping file does not exist', async () => {
    await expectUsageError(['check', 'samples/clean.csv', '-m', join(tmp.path, 'nope.yaml')], 'MAPPING_NOT_FOUND', 'nope.yaml');
  });

  test('the input file does not exist', async () => {
    await expectUsageError(['check', join(tmp.path, 'nope.csv'), '-m', 'mappings/clean.yaml'], 'FILE_NOT_FOUND', 'nope.csv');
  });

  test('an empty file', async () => {
    const f = file('empty.csv', '');
    await expectUsageError(['check', f, '-m', 'mappings/clean.yaml'], 'FILE_EMPTY', 'empty.csv');
  });

  test('a header-only file', async () => {
    const f = file('header-only.csv', 'External ID,First Name,Last Name\n');
    await expectUsageError(['run', f, '-m', 'mappings/clean.yaml'], 'FILE_HEADER_ONLY', 'header-only.csv');
  });

  test('a workbook renamed .csv', async () => {
    const f = file('really-a-workbook.csv', Buffer.from('504b030414000600080000002100', 'hex'));
    await expectUsageError(['check', f, '-m', 'mappings/clean.yaml'], 'FILE_TYPE_MISMATCH', 'really-a-workbook.csv');
  });

  test('a corrupt workbook', async () => {
    const f = file('corrupt.xlsx', Buffer.concat([Buffer.from('504b0304', 'hex'), Buffer.alloc(200, 7)]));
    await expectUsageError(['check', f, '-m', 'mappings/clean.yaml'], 'WORKBOOK_CORRUPT', 'corrupt.xlsx');
  });

  test('a field the target needs that the mapping never fills is one mapping error before any row is read', async () => {
    // messy.yaml maps no id, which Spoke needs on every contact: every row would have failed.
    const r = await expectUsageError(['check', 'samples/messy.csv', '-m', 'mappings/messy.yaml', '--target', 'spoke'], 'MAPPING_INVALID',
      'mappings/messy.yaml fields.id: target spoke needs "id" on every contact, and the mapping maps nothing to it: add fields.id');
    assert.equal(r.stdout, '', 'nothing read, no report');
  });

  test('a missing option and an unknown command are usage errors with the help hint', async () => {
    await expectUsageError(['check', 'samples/clean.csv'], 'USAGE', /mapping/);
    await expectUsageError(['chekc', 'samples/clean.csv'], 'USAGE', /check/);
  });

  test('a command without its file, an unknown option, no command: plain words, no yargs jargon', async () => {
    for (const [cmd, what] of [['run', /run needs the file\(s\) to import, e\.g\. contact-import run /], ['check', /check needs the file\(s\) to check/],
      ['init', /init needs the file to draft a mapping for/], ['watch', /watch needs the folder files are dropped into/]] as const) {
      const r = await expectUsageError([cmd], 'USAGE', what);
      assert.doesNotMatch(r.stderr, /non-option/);
    }
    const r = await expectUsageError(['check', 'samples/clean.csv', '-m', 'mappings/clean.yaml', '--bogus-flag'], 'USAGE', 'unknown option: --bogus-flag');
    assert.doesNotMatch(r.stderr, /bogusFlag/, 'the option is named once, as typed');
    await expectUsageError([], 'USAGE', 'name a command: check, run, init, watch or bridge');
  });

  test('a misspelt option is named with the option it most likely meant, even when it leaves a required one missing', async () => {
    // --maping leaves --mapping missing: the typo is what to fix, so it is what the error names.
    const r = await expectUsageError(['run', 'samples/clean.csv', '--maping', 'mappings/clean.yaml'], 'USAGE', 'unknown option: --maping (did you mean --mapping?)');
    assert.doesNotMatch(r.stderr, /Missing required/);
    await expectUsageError(['run', 'samples/clean.csv', '-m', 'mappings/clean.yaml', '--formts', 'spoke'], 'USAGE', 'unknown option: --formts (did you mean --formats?)');
    // An option of another command is not offered (check has no --dry-run), nor is a far-off name guessed at.
    const other = await expectUsageError(['check', 'samples/clean.csv', '-m', 'mappings/clean.yaml', '--dryrun', '--bogus-flag'], 'USAGE', 'unknown options: --dryrun, --bogus-flag');
    assert.doesNotMatch(other.stderr, /did you mean/);
    // Without a typo, a missing option is still named as missing.
    await expectUsageError(['run', 'samples/clean.csv', '--dry-run'], 'USAGE', /Missing required argument: mapping/);
  });

  test('a word a command does not take is named as such, not as an option', async () => {
    let r = await expectUsageError(['init', 'samples/clean.csv', 'samples/messy.csv'], 'USAGE',
      'init does not take "samples/messy.csv": it needs the file to draft a mapping for');
    assert.doesNotMatch(r.stderr, /unknown option/);
    r = await expectUsageError(['bridge', 'samples/clean.csv'], 'USAGE', 'bridge does not take "samples/clean.csv"');
    assert.doesNotMatch(r.stderr, /--samples/);
    await expectUsageError(['init', 'samples/clean.csv', 'extra', '--bogus'], 'USAGE', 'unknown option: --bogus; init does not take "extra"');
  });

  test('--help names every exit code cause and no example shows a raw $0', async () => {
    const r = await runCli(['init', '--help']);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /\$0/);
    assert.match(r.stdout.replace(/\s+/g, ' '), /3 aborted \([^)]*another import holds the state store\)/);
    assert.doesNotMatch((await runCli(['run', '--help'])).stdout, /\[default: \[\]\]/);
  });

  test('--help shows examples and the exit codes', async () => {
    for (const args of [['--help'], ['run', '--help'], ['check', '--help']]) {
      const r = await runCli(args);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /Examples:/);
      assert.match(r.stdout, /Exit codes: 0/);
    }
  });
});
