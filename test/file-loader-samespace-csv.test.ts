/**
 * The file target encodes each Samespace upload row as it arrives instead of keeping a
 * chunk of row arrays for Papa.unparse; the chunk files must stay byte-identical to what
 * Papa.unparse writes (the network loader uploads Papa.unparse's output).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import Papa from 'papaparse';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { samespaceChunkCsv, samespaceCsvCell, samespaceCsvLine } from '../pipeline/loaders/file/loader.js';
import { ROOT, runCli, tempDir } from './helpers/cli.js';

const cell = fc.oneof(fc.constant(''), fc.string({ maxLength: 10 }), fc.string({ unit: 'binary', maxLength: 6 }),
  fc.constantFrom(' lead', 'trail ', ' ', 'a,b', 'say "hi"', 'two\nlines', 'cr\r', '\ufeffbom', '=1+1', '+14155552671', "'q", '\t'));

test('property: a chunk equals Papa.unparse of the same rows with the header, CRLF, and a final CRLF', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 6 }).chain((w) => fc.tuple(
    fc.array(cell, { minLength: w, maxLength: w }),
    fc.array(fc.array(cell, { minLength: w, maxLength: w }), { minLength: 1, maxLength: 8 }),
  )), ([fields, rows]) => {
    const want = Papa.unparse({ fields, data: rows }, { newline: '\r\n' }) + '\r\n';
    assert.equal(samespaceChunkCsv(fields, rows.map(samespaceCsvLine)), want);
  }), { numRuns: 3000, seed: 21 });
});

test('each code unit alone, first, middle and last is quoted exactly when Papa.unparse quotes it', () => {
  for (let u = 0; u <= 0xffff; u++) {
    const ch = String.fromCharCode(u);
    for (const v of [ch, `${ch}a`, `a${ch}b`, `a${ch}`]) {
      const want = Papa.unparse([[v, 'x']], { newline: '\r\n' });
      const got = `${samespaceCsvCell(v)},x`;
      if (got !== want) assert.fail(`${JSON.stringify(v)}: got ${JSON.stringify(got)}, Papa.unparse gives ${JSON.stringify(want)}`);
    }
  }
});

test('the file target cuts the Samespace upload into chunks of --batch-size rows, each file a header and its rows, named in order in samespace.jsonl', async () => {
  const tmp = tempDir('file-chunks-');
  try {
    const run = async (out: string, extra: string[]) => {
      const r = await runCli(['run', join(ROOT, 'samples', 'clean.csv'), '--mapping', join(ROOT, 'mappings', 'clean.yaml'),
        '--target', 'file', '--formats', 'samespace', '--out', out, '--quiet', ...extra]);
      assert.equal(r.code, 0, r.stderr);
      return join(out, 'payloads');
    };
    const whole = await run(join(tmp.path, 'whole'), []);
    const cut = await run(join(tmp.path, 'cut'), ['--batch-size', '7']);
    assert.deepEqual(readdirSync(join(whole, 'samespace')), ['chunk-0001.csv']);
    const names = readdirSync(join(cut, 'samespace')).sort();
    assert.deepEqual(names, ['chunk-0001.csv', 'chunk-0002.csv', 'chunk-0003.csv']);
    const [header, ...all] = readFileSync(join(whole, 'samespace', 'chunk-0001.csv'), 'utf8').split('\r\n');
    assert.equal(all.pop(), '', 'the file ends with CRLF');
    assert.equal(all.length, 20, 'samples/clean.csv loads 20 contacts');
    const pieces = names.map((n) => readFileSync(join(cut, 'samespace', n), 'utf8'));
    // The 20 rows as 7 + 7 + 6, each chunk exactly what Papa.unparse writes for them (the network loader's upload).
    const fields = Papa.parse<string[]>(header).data[0];
    for (const [i, rows] of [all.slice(0, 7), all.slice(7, 14), all.slice(14)].entries()) {
      assert.equal(pieces[i], samespaceChunkCsv(fields, rows));
      const data = Papa.parse<string[]>(rows.join('\r\n')).data;
      assert.equal(pieces[i], Papa.unparse({ fields, data }, { newline: '\r\n' }) + '\r\n');
    }
    const calls = readFileSync(join(cut, 'samespace.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(calls.map((c) => c.multipart?.uploadFile ?? c.body.variables.fileUuid), [
      'samespace/chunk-0001.csv', '<fileUuid returned for chunk-0001.csv>',
      'samespace/chunk-0002.csv', '<fileUuid returned for chunk-0002.csv>',
      'samespace/chunk-0003.csv', '<fileUuid returned for chunk-0003.csv>',
    ]);
  } finally {
    tmp.cleanup();
  }
});
