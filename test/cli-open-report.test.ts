import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { runCli, tempDir } from './helpers/cli.js';
import { openerFor } from '../pipeline/cli/open.js';

describe('--open', () => {
  const tmp = tempDir('cli-open-');
  after(() => tmp.cleanup());
  const bin = join(tmp.path, 'bin');
  mkdirSync(bin);
  const log = join(tmp.path, 'opened.txt');
  // A stand-in for the desktop's opener: records what it was asked to open.
  writeFileSync(join(bin, 'xdg-open'), `#!/bin/sh\nprintf '%s' "$1" > "${log}"\n`);
  chmodSync(join(bin, 'xdg-open'), 0o755);

  test('run --open hands report.html to xdg-open', async () => {
    const out = join(tmp.path, 'opened');
    const r = await runCli(['run', 'samples/clean.csv', '-m', 'mappings/clean.yaml', '--out', out, '--quiet', '--open'], { env: { PATH: bin } });
    assert.equal(r.code, 0, r.stderr);
    // The opener is detached and not waited for: give it a moment to write.
    for (let i = 0; i < 100 && !existsSync(log); i++) await sleep(50);
    assert.equal(readFileSync(log, 'utf8'), join(out, 'report.html'));
    assert.ok(existsSync(join(out, 'report.html')));
  });

  test('check --open without any opener on PATH is silent and changes nothing', async () => {
    const out = join(tmp.path, 'no-opener');
    const r = await runCli(['check', 'samples/clean.csv', '-m', 'mappings/clean.yaml', '--out', out, '--quiet', '--open'], { env: { PATH: join(tmp.path, 'empty') } });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.match(r.stdout, /report\.html/);
  });

  test('the opener per platform', () => {
    assert.equal(openerFor('/r/report.html', { PATH: '' }, 'linux'), undefined, 'no xdg-open: nothing to run');
    assert.deepEqual(openerFor('/r/report.html', { PATH: bin }, 'linux'), { cmd: join(bin, 'xdg-open'), args: ['/r/report.html'] });
    assert.deepEqual(openerFor('C:\\r\\report.html', { ComSpec: 'C:\\Windows\\system32\\cmd.exe' }, 'win32'),
      { cmd: 'C:\\Windows\\system32\\cmd.exe', args: ['/d', '/s', '/c', '"start "" "C:\\r\\report.html""'] });
  });
});
