/**
 * bin/contact-import.js sets three V8 flags (bin/v8-flags.js says why), unless node was started
 * with the same flag: then the user's wins, however it is spelled (V8 reads `_` and `-` alike,
 * and `--no-x` sets x too).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
// @ts-expect-error bin/ is plain JavaScript without declarations.
import { nodeWasGiven } from '../bin/v8-flags.js';

const given = nodeWasGiven as (flag: string, execArgv: string[]) => boolean;

test('a V8 flag given to node is recognised in any spelling; other flags are not it', () => {
  for (const arg of ['--heap-growing-percent=80', '--heap_growing_percent=80', '--heap-growing_percent=30']) {
    assert.equal(given('--heap-growing-percent', ['--enable-source-maps', arg]), true, arg);
  }
  for (const arg of ['--allocation-site-pretenuring', '--no-allocation-site-pretenuring', '--no_allocation_site_pretenuring', '--allocation_site_pretenuring']) {
    assert.equal(given('--allocation-site-pretenuring', [arg]), true, arg);
  }
  assert.equal(given('--concurrent-recompilation', ['--concurrent_recompilation']), true);
  for (const arg of ['--heap-growing-percentage=80', '--max-old-space-size=200', '--heap', '--no-heap-growing', 'heap-growing-percent=80']) {
    assert.equal(given('--heap-growing-percent', [arg]), false, arg);
  }
  assert.equal(given('--heap-growing-percent', []), false);
});
