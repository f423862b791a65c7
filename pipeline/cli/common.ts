/** Options shared by `check` and `run`, and the code that runs an import and prints its result. */
import type { Argv } from 'yargs';
import { runImport, type RunOptions } from '../run.js';
import { createLogger } from '../log.js';
import { createProgress } from './progress.js';
import { formatSample, formatSummary } from './output.js';
import type { TargetName } from '../loaders/types.js';
import { TARGETS } from '../loaders/types.js';
import { ImportError } from '../errors.js';
import { openInBrowser } from './open.js';
import { join } from 'node:path';

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
  env: NodeJS.ProcessEnv;
  isTTY: boolean;
  signal?: AbortSignal;
}

export const EPILOGUE = 'Exit codes: 0 every row loaded, merged or unchanged; 1 some rows failed (see failed.csv); 2 usage or mapping error, nothing sent; 3 aborted (target unreachable, credentials refused, another import holds the state store).\nDocs: README.md, mappings/README.md';

export function commonOptions<T>(y: Argv<T>) {
  return readOptions(y)
    .positional('files', { type: 'string', array: true, describe: 'CSV, TSV, TXT, XLS or XLSX files (several: read in order, reported together)', demandOption: true, default: undefined });
}

/** The options of commonOptions without the files positional (`watch` takes a folder instead). */
export function readOptions<T>(y: Argv<T>) {
  return y
    .epilogue(EPILOGUE)
    .option('mapping', { alias: 'm', type: 'string', demandOption: true, describe: 'the mapping file (YAML); see mappings/README.md' })
    .option('out', { alias: 'o', type: 'string', describe: 'report folder (default: reports/<run id>)' })
    .option('log-format', { choices: ['text', 'json'] as const, default: 'text' as const, describe: 'json: one JSON object per event on stderr (for schedulers)' })
    .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'no progress output' })
    .option('verbose', { type: 'boolean', default: false, describe: 'log retries and other details' })
    .option('open', { type: 'boolean', default: false, describe: 'open report.html in the default browser at the end (skipped when there is none)' })
    .option('max-cell-kb', { type: 'number', default: 1024, describe: 'a cell longer than this fails its row (guards memory against a runaway quote)' })
    .option('max-row-kb', { type: 'number', describe: 'a row longer than this (all its cells) fails (default 4 x --max-cell-kb)' })
    .check((a) => {
      // A zero, negative or non-numeric cap would fail every row; say so before reading anything.
      for (const k of ['max-cell-kb', 'max-row-kb'] as const) {
        const v = a[k];
        if (v !== undefined && !(typeof v === 'number' && v > 0)) throw new ImportError('USAGE', `--${k} must be a positive number of KiB, got ${String(v)}`);
      }
      return true;
    });
}

export interface CommonArgs {
  files: string[];
  mapping: string;
  out?: string;
  'log-format': 'text' | 'json';
  quiet: boolean;
  verbose: boolean;
  open?: boolean;
  'max-cell-kb': number;
  'max-row-kb'?: number;
}

/** --max-cell-kb / --max-row-kb in characters, as the sources take them. */
export function cellLimits(args: Pick<CommonArgs, 'max-cell-kb' | 'max-row-kb'>): { maxCellChars: number; maxRowChars?: number } {
  return {
    maxCellChars: Math.round(args['max-cell-kb'] * 1024),
    maxRowChars: args['max-row-kb'] === undefined ? undefined : Math.round(args['max-row-kb'] * 1024),
  };
}

export async function execute(io: Io, args: CommonArgs, extra: Partial<RunOptions> & Pick<RunOptions, 'command' | 'target' | 'dryRun'>): Promise<number> {
  const log = createLogger({ format: args['log-format'], level: args.verbose ? 'debug' : 'info', write: io.err, env: io.env });
  const progress = createProgress({ tty: io.isTTY && args['log-format'] === 'text', quiet: args.quiet || args['log-format'] === 'json', write: io.err });
  const result = await runImport({
    inputs: args.files,
    mappingPath: args.mapping,
    outDir: args.out,
    env: io.env,
    log,
    onProgress: (p) => progress.update(p),
    ...cellLimits(args),
    signal: io.signal,
    ...extra,
  }).finally(() => progress.stop());
  const s = result.summary;
  if (args['log-format'] === 'json') {
    const data = { runId: s.runId, status: s.status, counts: s.counts, exitCode: result.exitCode, report: result.outDir, ...(s.abort ? { abort: s.abort } : {}) };
    if (s.abort) log.error('run.finished', `run aborted: ${s.abort.code}: ${s.abort.message}`, data);
    else log.info('run.finished', `run ${s.status}`, data);
  }
  if (extra.sample) {
    const sample = formatSample(result.sample);
    if (sample) io.out(sample + '\n');
  }
  io.out(formatSummary(s, result.outDir));
  if (args.open && s.files.report) openInBrowser(join(result.outDir, s.files.report), io.env);
  return result.exitCode;
}

export const targetChoices = TARGETS as readonly TargetName[];
