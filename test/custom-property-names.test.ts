/**
 * A custom property (fields.custom) is named by the user after their Samespace property keys,
 * and any name works: one that every JavaScript object inherits ("constructor", "toString",
 * "valueOf") reads as absent on a contact without a value for it, in the Samespace upload and
 * when duplicates merge. Before, such a row stopped the run with an internal error
 * (`v.charCodeAt is not a function`: Object's own function was read as the value).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Papa from 'papaparse';
import { assertInvariant, readReportCsv, runFileTarget, tempDir } from './helpers/cli.js';

test('custom properties named constructor, toString and valueOf: empty where a row has no value, merged by the rules, no crash', async () => {
  const tmp = tempDir('custom-property-names-');
  try {
    const { out, r } = await runFileTarget(tmp.path, [[
      'External ID,Name,Phone,Tier,Region',
      'C-1,Ava Thompson,+14155552671,gold,',
      'C-2,Ben Okafor,+14155552672,,', // no value for any custom property
      'C-3,Ava T.,+14155552671,,EU', // merges into C-1 by phone; brings the region
    ]], 'fields:\n  id: External ID\n  name: Name\n  phones: Phone\n  custom:\n    constructor: Tier\n    toString: Region\n    valueOf: Region\n'
      + 'dedupe:\n  keys: [phone]\n');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(assertInvariant(out).counts, { read: 3, success: 2, failed: 0, merged: 1, unchanged: 0 });
    const chunk = Papa.parse<Record<string, string>>(readFileSync(join(out, 'payloads', 'samespace', 'chunk-0001.csv'), 'utf8'), { header: true, skipEmptyLines: true });
    assert.deepEqual(chunk.data.map((row) => [row.constructor, row.toString, row.valueOf]), [['gold', 'EU', 'EU'], ['', '', '']]);
    assert.deepEqual(readReportCsv(out, 'success.csv').map((row) => row.conflicts), ['id: kept "C-1" over "C-3"; name: kept "Ava Thompson" over "Ava T."; lastName: kept "Thompson" over "T."', '']);
  } finally {
    tmp.cleanup();
  }
});
