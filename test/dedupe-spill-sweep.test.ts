/** A run killed with SIGKILL leaves its dedupe spill folder behind; the next run removes it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sweepDeadSpills } from '../pipeline/transforms/dedupe-spill.js';
import { tempDir } from './helpers/cli.js';

test('spill folders of dead processes are removed; live ones, foreign names and our own stay', () => {
  const tmp = tempDir('spill-sweep-');
  try {
    // A pid that certainly ran and is gone: a child that has exited and been reaped.
    const deadPid = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
    const dead = join(tmp.path, `contact-import-dedupe-${deadPid}-abc123`);
    const mine = join(tmp.path, `contact-import-dedupe-${process.pid}-def456`);
    const parent = join(tmp.path, `contact-import-dedupe-${process.ppid}-ghi789`);
    const other = join(tmp.path, 'contact-import-dedupe-nopid');
    for (const d of [dead, mine, parent, other]) { mkdirSync(d); writeFileSync(join(d, 'records.bin'), 'x'.repeat(1000)); }
    sweepDeadSpills(tmp.path);
    assert.equal(existsSync(dead), false, 'a dead run\'s spill is removed');
    assert.equal(existsSync(mine), true);
    assert.equal(existsSync(parent), true, 'a live process keeps its spill');
    assert.equal(existsSync(other), true, 'a folder without a pid is not ours to judge');
  } finally {
    tmp.cleanup();
  }
});
