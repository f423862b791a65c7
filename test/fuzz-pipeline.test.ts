/**
 * Fuzzing the reader and the whole `check` pipeline in-process (runImport, command
 * 'check'): random bytes, and random mutations of every sample (flipped, inserted and
 * deleted bytes, hostile characters, truncation, repeated slices). Whatever the input,
 * a run either finishes with an outcome for every row it read (the accounting invariant,
 * checked against the report files too) or stops with a clean ImportError of kind usage.
 * Anything else (another error type, an abort, a hang) is a bug.
 *
 * Fixed seeds and bounded run counts keep it deterministic and well under 30 s.
 */
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { runImport } from '../pipeline/run.js';
import { isImportError } from '../pipeline/errors.js';
import { silentLogger } from '../pipeline/log.js';
import { ROOT, readReportCsv, tempDir } from './helpers/cli.js';

const tmp = tempDir('fuzz-pipeline-');
after(() => tmp.cleanup());

const SAMPLES = ['clean.csv', 'messy.csv', 'windows-1252.csv', 'unicode-text.txt', 'title-row-phones-as-numbers.xlsx', 'legacy.xls'];
const mappingOf = (sample: string) => join(ROOT, 'mappings', sample.replace(/\.[^.]+$/, '') + '.yaml');

let n = 0;
const outcomes = { finished: 0, usage: 0, codes: {} as Record<string, number> };

/** One check run over `bytes` named like `name`; asserts the property and cleans up. */
async function checkHolds(bytes: Uint8Array, name: string, mapping: string): Promise<void> {
  const id = ++n;
  const file = join(tmp.path, `in-${id}-${name}`);
  const outDir = join(tmp.path, `out-${id}`);
  writeFileSync(file, bytes);
  try {
    const r = await runImport({
      command: 'check', inputs: [file], mappingPath: mapping, target: 'file', dryRun: true, outDir,
      env: {}, log: silentLogger, maxCellChars: 64 * 1024,
    });
    // A bug met mid-run ends the run as aborted (INTERNAL) with its message.
    assert.equal(r.summary.status, 'completed', `run ${r.summary.status}: ${r.summary.abort?.code}: ${r.summary.abort?.message}`);
    const c = r.summary.counts;
    assert.equal(c.read, c.success + c.failed + c.merged + c.unchanged, `invariant broken: ${JSON.stringify(c)}`);
    assert.equal(r.summary.invariant.holds, true);
    assert.equal(readReportCsv(outDir, 'failed.csv').length, c.failed, 'failed.csv has a row per failure');
    assert.equal(readReportCsv(outDir, 'success.csv').length, c.success, 'success.csv has a row per success');
    assert.equal(readReportCsv(outDir, 'merged.csv').length, c.merged, 'merged.csv has a row per merge');
    assert.equal(r.exitCode, c.failed ? 1 : 0);
    outcomes.finished++;
  } catch (e) {
    if (e instanceof assert.AssertionError) throw e;
    assert.ok(isImportError(e), `not a clean error: ${(e as Error)?.stack ?? String(e)}`);
    assert.equal(e.kind, 'usage', `${e.code}: ${e.message}`);
    assert.ok(e.message.length > 0 && !e.message.includes('\n    at '), e.message);
    outcomes.usage++;
    outcomes.codes[e.code] = (outcomes.codes[e.code] ?? 0) + 1;
  } finally {
    rmSync(file, { force: true });
    rmSync(outDir, { recursive: true, force: true });
  }
}

/** Bytes a hostile file is made of: quotes, line ends, delimiters, NUL, invalid UTF-8, a BOM. */
const HOSTILE = [0x22, 0x0d, 0x0a, 0x2c, 0x3b, 0x09, 0x00, 0xff, 0xfe, 0xc3, 0xef, 0xbb, 0xbf, 0x3d, 0x2b];

type Mutation =
  | { op: 'flip'; at: number; byte: number }
  | { op: 'insert'; at: number; bytes: number[] }
  | { op: 'delete'; at: number; len: number }
  | { op: 'truncate'; at: number }
  | { op: 'repeat'; at: number; len: number; times: number };

const position = fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true });
// Weighted so that most inputs stay files with rows: truncation and deletion empty them fast.
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('flip' as const), at: position, byte: fc.oneof(fc.constantFrom(...HOSTILE), fc.integer({ min: 0, max: 255 })) }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('insert' as const), at: position, bytes: fc.array(fc.oneof(fc.constantFrom(...HOSTILE), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('delete' as const), at: position, len: fc.integer({ min: 1, max: 64 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('truncate' as const), at: position }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('repeat' as const), at: position, len: fc.integer({ min: 1, max: 200 }), times: fc.integer({ min: 2, max: 20 }) }) },
);

function mutate(src: Buffer, ms: Mutation[]): Buffer {
  let b = src;
  for (const m of ms) {
    const at = Math.floor(m.at * (b.length + 1));
    switch (m.op) {
      case 'flip': if (b.length) { b = Buffer.from(b); b[Math.min(at, b.length - 1)] = m.byte; } break;
      case 'insert': b = Buffer.concat([b.subarray(0, at), Buffer.from(m.bytes), b.subarray(at)]); break;
      case 'delete': b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.len)]); break;
      case 'truncate': b = b.subarray(0, at); break;
      case 'repeat': {
        const slice = b.subarray(at, at + m.len);
        b = Buffer.concat([b.subarray(0, at), ...Array.from({ length: m.times }, () => slice), b.subarray(at)]);
        break;
      }
    }
  }
  return b;
}

describe('fuzz: the check pipeline always accounts for its rows or stops cleanly', () => {
  for (const [i, sample] of SAMPLES.entries()) {
    test(`mutations of samples/${sample}`, async () => {
      const src = readFileSync(join(ROOT, 'samples', sample));
      await fc.assert(
        fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 6 }), fc.boolean(), async (ms, keepHeader) => {
          // Half the runs keep the text header intact, so the mutations reach the rows instead of
          // ending at MAPPING_COLUMN_MISSING (in a workbook the "header" is just the first bytes).
          const cut = keepHeader ? src.indexOf(0x0a) + 1 : 0;
          await checkHolds(Buffer.concat([src.subarray(0, cut), mutate(src.subarray(cut), ms)]), sample, mappingOf(sample));
        }),
        { seed: 1200 + i, numRuns: sample.endsWith('.csv') || sample.endsWith('.txt') ? 80 : 40, endOnFailure: true },
      );
    });
  }

  test('random bytes, named as each kind of file the tool reads', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 0, maxLength: 4096 }),
        fc.constantFrom('random.csv', 'random.txt', 'random.xlsx', 'random.xls', 'random'),
        async (bytes, name) => { await checkHolds(bytes, name, mappingOf('clean.csv')); },
      ),
      { seed: 1299, numRuns: 60, endOnFailure: true },
    );
  });

  test('random text made of CSV syntax under the clean mapping\'s header', async () => {
    const header = readFileSync(join(ROOT, 'samples', 'clean.csv'), 'utf8').split('\n')[0] + '\n';
    const cell = fc.string({ unit: fc.constantFrom('"', ',', '\n', '\r', ';', ' ', 'a', '1', '+', '=', '\u0000', 'é', '\uFFFD'), maxLength: 12 });
    await fc.assert(
      fc.asyncProperty(fc.array(cell, { maxLength: 80 }), async (cells) => {
        await checkHolds(Buffer.from(header + cells.join(''), 'utf8'), 'syntax.csv', mappingOf('clean.csv'));
      }),
      { seed: 1298, numRuns: 100, endOnFailure: true },
    );
  });

  after(() => {
    // Both kinds of ending were reached, so the property was exercised both ways.
    assert.ok(outcomes.finished > 0 && outcomes.usage > 0, JSON.stringify(outcomes));
    process.stdout.write(`# fuzz runs: ${JSON.stringify(outcomes)}\n`);
  });
});
