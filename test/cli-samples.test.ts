/**
 * Every sample runs through the real CLI (a child process, as a user runs it) with the
 * mapping of the same name, and its report adds up.
 */
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { ROOT, runCli, tempDir, assertInvariant, readReportCsv, mappingWithId } from './helpers/cli.js';

const samples = readdirSync(join(ROOT, 'samples')).filter((f) => !f.startsWith('.') && f !== 'README.md').sort();
const tmp = tempDir('cli-samples-');
after(() => tmp.cleanup());

test('every sample has a mapping of the same name', () => {
  assert.ok(samples.length >= 6, `samples: ${samples.join(', ')}`);
  for (const s of samples) {
    const m = join(ROOT, 'mappings', s.replace(/\.[^.]+$/, '') + '.yaml');
    assert.ok(existsSync(m), `${s} has mappings/${s.replace(/\.[^.]+$/, '')}.yaml`);
  }
});

describe('every sample through `run --target file` and `check`', () => {
  for (const s of samples) {
    const name = s.replace(/\.[^.]+$/, '');
    test(`${s}: run writes a report that adds up`, async () => {
      const out = join(tmp.path, `run-${name}`);
      const r = await runCli(['run', `samples/${s}`, '--mapping', `mappings/${name}.yaml`, '--out', out, '--quiet']);
      assert.ok(r.code === 0 || r.code === 1, `exit ${r.code}\n${r.stderr}`);
      assert.doesNotMatch(r.stderr, /at .+\(.+:\d+:\d+\)/, 'no stack trace');
      const summary = assertInvariant(out);
      assert.ok(summary.counts.read > 0);
      assert.equal(summary.inputs[0].sha256, createHash('sha256').update(readFileSync(join(ROOT, 'samples', s))).digest('hex'),
        'the checksum in the report is the file\'s');
      assert.equal(summary.exitCode, r.code);
      assert.equal(r.code, summary.counts.failed > 0 ? 1 : 0);
      assert.match(r.stdout, /Report: /);
      assert.ok(existsSync(join(out, 'payloads', 'talkdesk.jsonl')));
      // failed.csv repeats the original columns unchanged, then the tool's columns.
      const failed = readReportCsv(out, 'failed.csv');
      for (const f of failed) {
        assert.ok(f._row && f._stage && f._code && f._error, `failed row has _row/_stage/_code/_error: ${JSON.stringify(f)}`);
      }
    });
    test(`${s}: check prints a readable summary and sends nothing`, async () => {
      const out = join(tmp.path, `check-${name}`);
      const r = await runCli(['check', `samples/${s}`, '--mapping', `mappings/${name}.yaml`, '--out', out]);
      assert.ok(r.code === 0 || r.code === 1, `exit ${r.code}\n${r.stderr}`);
      assert.match(r.stdout, /check: \d+ rows read/);
      assert.match(r.stdout, /would load +\d+/);
      assert.match(r.stdout, /First contacts as they would load:/);
      assert.ok(!existsSync(join(out, 'payloads')), 'check writes no payloads');
      assertInvariant(out);
    });
  }
});

describe('what the samples hold', () => {
  test('clean.csv: every row loads, phones in E.164 from six countries', async () => {
    const out = join(tmp.path, 'clean-detail');
    const r = await runCli(['run', 'samples/clean.csv', '-m', 'mappings/clean.yaml', '--out', out, '--quiet']);
    assert.equal(r.code, 0, r.stderr);
    const s = assertInvariant(out);
    assert.deepEqual(s.counts, { read: 20, success: 20, failed: 0, merged: 0, unchanged: 0 });
    const success = readReportCsv(out, 'success.csv');
    const liam = success.find((x) => x.target_id === 'C-1002')!;
    assert.equal(liam.phone, '+447911123456 +442079460958');
    assert.equal(liam.owner, 'maria@ourco.example');
    const spoke = readFileSync(join(out, 'payloads', 'spoke.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(spoke.map((p) => p.path).sort(), [
      '/phonebooks/james%40ourco.example/contacts', '/phonebooks/maria%40ourco.example/contacts', '/phonebooks/priya%40ourco.example/contacts',
    ]);
    assert.equal(spoke.reduce((a, p) => a + p.body.contacts.length, 0), 20);
  });

  test('Google Contacts " ::: " cells: each value is its own phone, email or website; one bad value fails its row by name', async () => {
    const out = join(tmp.path, 'google-multi-value');
    // With an id, so that talkdesk.jsonl (which needs one) holds the contacts and their websites.
    const mapping = mappingWithId('mappings/google-contacts.yaml', 'First Name', tmp.path);
    const r = await runCli(['run', 'test/fixtures/csv/google-multi-value-cells.csv', '-m', mapping, '--out', out, '--quiet']);
    assert.equal(r.code, 1, r.stderr);
    assert.deepEqual(assertInvariant(out).counts, { read: 3, success: 2, failed: 1, merged: 0, unchanged: 0 });
    const success = readReportCsv(out, 'success.csv');
    assert.deepEqual(success.map((x) => [x._row, x.phone.replace(/^'/, ''), x.email]), [
      ['2', '+14155552671 +14155550100', 'ava.thompson@northwind.example ava@home.example'],
      // Three numbers in Phone 1 (the UK row's US number keeps its +1); Phone 2 repeats one of them.
      ['3', '+442079460958 +447911123456 +14155550199', 'o.wright@adventure-works.example'],
    ]);
    const talkdesk = readFileSync(join(out, 'payloads', 'talkdesk.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(talkdesk[0].websites, ['https://northwind.example', 'https://ava.example']);
    const failed = readReportCsv(out, 'failed.csv');
    assert.deepEqual(failed.map((f) => [f._row, f._code]), [['4', 'EMAIL_INVALID']]);
    assert.match(failed[0]._error, /got "not-an-address" \(column "E-mail 1 - Value"\)/);
  });

  test('messy.csv: each kind of mess ends where it should', async () => {
    const out = join(tmp.path, 'messy-detail');
    const r = await runCli(['run', 'samples/messy.csv', '-m', 'mappings/messy.yaml', '--out', out, '--quiet']);
    assert.equal(r.code, 1, r.stderr);
    const s = assertInvariant(out);
    const failed = Object.fromEntries(readReportCsv(out, 'failed.csv').map((f) => [f.Full_Name ?? f['Full Name'], f._code]));
    assert.equal(failed['Mangled Number'], 'PHONE_MANGLED');
    assert.equal(failed['Bruce Wayne'], 'EMAIL_INVALID');
    assert.equal(failed['Call Reception'], 'PHONE_NOT_A_NUMBER');
    assert.equal(failed['No Contact Info'], 'REQUIRED_MISSING');
    assert.equal(failed['Ragged Row'], 'ROW_TOO_MANY_FIELDS');
    assert.equal(failed[''], 'REQUIRED_MISSING', 'the row without a name');
    assert.match(failed['Too Short'], /^PHONE_(TOO_SHORT|NOT_A_NUMBER|INVALID)$/);
    // The duplicated JOHN SMITH row (row 12) is merged into row 2 by phone.
    const merged = readReportCsv(out, 'merged.csv');
    assert.equal(merged.length, 1);
    assert.equal(merged[0]._row, '12');
    assert.equal(merged[0]._merged_into_row, '2');
    assert.match(merged[0]._key, /^(phone=\+14155552671x12|email=john\.smith@acme\.example)$/);
    assert.equal(merged[0]['Full Name'], 'JOHN SMITH', 'merged.csv keeps the original cells');
    assert.equal(s.mergesByKey[merged[0]._key.split('=')[0]], 1);
    const success = readReportCsv(out, 'success.csv');
    const john = success.find((x) => x.name === 'John Smith')!;
    assert.equal(john.phone, '+14155552671 x12 +14155552672 +14155550100', 'ALL-CAPS fixed, extension apart, several numbers in one cell');
    assert.equal(john.email, 'John.Smith@acme.example', 'domain lowercased, local part kept');
    assert.equal(john.merged_rows, '12');
    const jane = success.find((x) => x.name === 'jane doe' || x.name === 'Jane Doe');
    assert.ok(jane, 'spaces around a name are trimmed');
    // The formula-looking company is neutralized in the CSV reports but sent as typed (the Samespace upload's company column).
    const chunk = readFileSync(join(out, 'payloads', 'samespace', 'chunk-0001.csv'), 'utf8');
    assert.match(chunk, /,"=HYPERLINK\(/);
    assert.doesNotMatch(chunk, /'=HYPERLINK/);
  });

  test('failed.csv neutralizes formula cells, and feeding it back restores them', async () => {
    const csv = join(tmp.path, 'formula.csv');
    writeFileSync(csv, 'Full Name,Company,Phone,Other Phones,E-mail,Owner,Country,Address,Created\n' +
      'Evil,"=HYPERLINK(""http://x.example"",""x"")",415-555-2671,,not-an-email,maria@ourco.example,US,@SUM(1),2024-01-01\n');
    // messy.yaml with an id, so that talkdesk.jsonl holds the contact whole (Talkdesk needs an id).
    const mapping = mappingWithId('mappings/messy.yaml', 'Full Name', tmp.path);
    const first = join(tmp.path, 'formula-first');
    assert.equal((await runCli(['run', csv, '-m', mapping, '--out', first, '--quiet'])).code, 1);
    const raw = readFileSync(join(first, 'failed.csv'), 'utf8');
    assert.match(raw, /"'=HYPERLINK\(""http:\/\/x\.example"",""x""\)"/, 'the formula is prefixed with an apostrophe');
    assert.match(raw, /,'@SUM\(1\),/);
    // Fix the email in the report, as a user would in a spreadsheet, and feed it back.
    const fixed = join(tmp.path, 'formula-fixed.csv');
    writeFileSync(fixed, raw.replace('not-an-email', 'evil@x.example'));
    const again = join(tmp.path, 'formula-again');
    const r = await runCli(['run', fixed, '-m', mapping, '--out', again, '--quiet']);
    assert.equal(r.code, 0, r.stderr);
    const sent = JSON.parse(readFileSync(join(again, 'payloads', 'talkdesk.jsonl'), 'utf8').trim().split('\n')[0]);
    assert.equal(JSON.stringify(sent).includes("'=HYPERLINK"), false, 'the apostrophe is gone');
    assert.match(JSON.stringify(sent), /=HYPERLINK/);
    assert.match(JSON.stringify(sent), /@SUM\(1\)/);
  });

  test('merged.csv and failed.csv are readable by the same mapping', async () => {
    const first = join(tmp.path, 'messy-first');
    await runCli(['run', 'samples/messy.csv', '-m', 'mappings/messy.yaml', '--out', first, '--quiet']);
    for (const f of ['merged.csv', 'failed.csv']) {
      const again = join(tmp.path, `messy-again-${f}`);
      const r = await runCli(['check', join(first, f), '-m', 'mappings/messy.yaml', '--out', again, '--quiet']);
      assert.ok(r.code === 0 || r.code === 1, `${f}: exit ${r.code}: ${r.stderr}`);
      const s = assertInvariant(again);
      assert.equal(s.counts.read, readReportCsv(first, f).length);
      const failedAgain = readReportCsv(again, 'failed.csv');
      for (const row of failedAgain) {
        assert.ok(!('_row (2)' in row), 'the tool\'s own columns are not repeated');
      }
    }
  });
});
