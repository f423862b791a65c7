import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, tempDir, readReportCsv, assertInvariant, mappingWithId } from './helpers/cli.js';

const FIXTURE = 'test/fixtures/csv/hostile-report-values.csv';

describe('CSV injection: every CSV the tool writes', () => {
  const tmp = tempDir('csv-injection-');
  after(() => tmp.cleanup());

  test('formula cells are neutralized in success.csv, merged.csv and failed.csv, and restored when read back', async () => {
    // messy.yaml with an id, so that talkdesk.jsonl holds the contacts whole (Talkdesk needs an id).
    const mapping = mappingWithId('mappings/messy.yaml', 'Full Name', tmp.path);
    const out = join(tmp.path, 'first');
    const r = await runCli(['run', FIXTURE, '-m', mapping, '--out', out, '--quiet']);
    assert.equal(r.code, 1, r.stderr);
    assertInvariant(out);
    const raw = (f: string) => readFileSync(join(out, f), 'utf8');
    // No line of any report starts a cell with a formula trigger, except plain numbers.
    for (const f of ['success.csv', 'merged.csv', 'failed.csv']) {
      for (const line of raw(f).split('\r\n')) {
        for (const cell of line.split(',')) assert.doesNotMatch(cell.replace(/^"/, ''), /^[=@]|^[+-](?!\d+$|\d+\.\d+$)/, `${f}: ${line}`);
      }
    }
    assert.match(raw('success.csv'), /'=cmd\|' \/C calc'!A0/);
    assert.match(raw('merged.csv'), /'\+Merge Me,'-Minus Co,/);
    assert.match(raw('merged.csv'), /,'@Home,/);
    assert.match(raw('failed.csv'), /"'=HYPERLINK\(/);

    // Read back, the values are the ones typed.
    const success = readReportCsv(out, 'success.csv');
    assert.ok(success.some((s) => s.name === "=cmd|' /C calc'!A0"), JSON.stringify(success.map((s) => s.name)));
    const merged = readReportCsv(out, 'merged.csv');
    assert.ok(merged.some((m) => m['Full Name'] === '+Merge Me' && m.Company === '-Minus Co' && m.Address === '@Home'));

    // And merged.csv fed back as input loads those values, not the apostrophes.
    const again = join(tmp.path, 'again');
    const r2 = await runCli(['run', join(out, 'merged.csv'), '-m', mapping, '--out', again, '--quiet']);
    assert.ok(r2.code === 0 || r2.code === 1, r2.stderr);
    const payloads = readFileSync(join(again, 'payloads', 'talkdesk.jsonl'), 'utf8');
    assert.match(payloads, /"name":"\+Merge Me","company":"-Minus Co"/);
    assert.match(payloads, /"address":"@Home"/);
    assert.doesNotMatch(payloads, /'[+=@-]/);
  });
});
