/** `contact-import run`: read, map, normalize, validate, dedupe and load into a target. */
import type { Argv } from 'yargs';
import { commonOptions, execute, targetChoices, type CommonArgs, type Io } from './common.js';
import { FILE_TARGET_FORMATS } from '../loaders/file/loader.js';
import type { TargetName } from '../loaders/types.js';
import type { RunOptions } from '../run.js';
import { ImportError } from '../errors.js';
import { DEFAULT_MAX_DELETE_PERCENT } from '../incremental.js';
import { DEFAULT_RETRY } from '../loaders/http.js';

export interface LoadArgs extends CommonArgs {
  target: TargetName;
  'dry-run': boolean;
  'batch-size'?: number;
  concurrency?: number;
  retries: number;
  'retry-base-ms': number;
  'create-missing-properties': boolean;
  'create-phonebooks': boolean;
  formats?: string[];
  state?: string;
  force: boolean;
  mirror: boolean;
  'max-delete-percent': number;
  'allow-mass-delete': boolean;
}

/** The options of a loading command (`run`, `watch`): target, tuning, state store, deletes. */
export function loadOptions<T>(y: Argv<T>) {
  return y
    .option('target', { alias: 't', choices: targetChoices, default: 'file' as TargetName, describe: 'where to load; file writes the exact payloads each target would receive' })
    .option('dry-run', { type: 'boolean', default: false, describe: 'connect and plan, but write nothing to the target' })
    .option('batch-size', { type: 'number', describe: 'contacts per request (Spoke) or per uploaded file (Samespace)' })
    .option('concurrency', { type: 'number', describe: 'requests in flight at once (per target)' })
    .option('retries', { type: 'number', default: DEFAULT_RETRY.attempts - 1, describe: 'tries again per request after a 429, a 5xx or a dropped connection (0: never)' })
    .option('retry-base-ms', { type: 'number', default: DEFAULT_RETRY.baseDelayMs, describe: 'first backoff delay; doubles each attempt, with jitter' })
    .option('create-missing-properties', { type: 'boolean', default: false, describe: 'samespace: create properties the mapping names and the module lacks' })
    .option('create-phonebooks', { type: 'boolean', default: false, describe: 'spoke: create each owner\'s personal phonebook first' })
    .option('formats', { type: 'string', array: true, choices: FILE_TARGET_FORMATS, describe: 'file target: which payloads to write (default all)' })
    .option('state', { type: 'string', describe: 'the state store: what was loaded where, for incremental runs, resume and --mirror (default $CONTACT_IMPORT_STATE, else .contact-import/state.db)' })
    .option('force', { type: 'boolean', default: false, describe: 'load a file even if the state store says this target already loaded it' })
    .option('mirror', { type: 'boolean', default: false, describe: 'the file is a full export: delete contacts this tool loaded before that are absent from it (listed in deleted.csv)' })
    .option('max-delete-percent', { type: 'number', default: DEFAULT_MAX_DELETE_PERCENT, describe: '--mirror: delete nothing in a scope (phonebook, module) that would lose more than this share of its contacts' })
    .option('allow-mass-delete', { type: 'boolean', default: false, describe: '--mirror: delete even past --max-delete-percent' })
    .check((a) => {
      const p = a['max-delete-percent'] as unknown;
      if (!(typeof p === 'number' && p >= 0 && p <= 100)) throw new ImportError('USAGE', `--max-delete-percent must be a number from 0 to 100, got ${String(p)}`);
      if (a['allow-mass-delete'] && !a.mirror) throw new ImportError('USAGE', '--allow-mass-delete only applies with --mirror');
      // Checked here, before a report folder exists, for every target (the loaders check again for API callers).
      for (const k of ['batch-size', 'concurrency'] as const) {
        const v = a[k] as unknown;
        if (v !== undefined && !(Number.isInteger(v) && (v as number) >= 1)) throw new ImportError('USAGE', `--${k} must be a whole number of at least 1, got ${String(v)}`);
      }
      const r = a.retries as unknown;
      if (!(Number.isInteger(r) && (r as number) >= 0)) throw new ImportError('USAGE', `--retries must be a whole number of at least 0, got ${String(r)}`);
      const b = a['retry-base-ms'] as unknown;
      if (!(typeof b === 'number' && Number.isFinite(b) && b >= 0)) throw new ImportError('USAGE', `--retry-base-ms must be a number of milliseconds of at least 0, got ${String(b)}`);
      return true;
    });
}

/** Command-line arguments -> the options of runImport (shared by `run` and `watch`). */
export function runOptionsFrom(a: LoadArgs): Partial<RunOptions> & Pick<RunOptions, 'command' | 'target' | 'dryRun'> {
  return {
    command: 'run', target: a.target, dryRun: a['dry-run'],
    batchSize: a['batch-size'], concurrency: a.concurrency,
    retry: { attempts: a.retries + 1, baseDelayMs: a['retry-base-ms'] },
    statePath: a.state,
    force: a.force,
    mirror: a.mirror ? { maxDeletePercent: a['max-delete-percent'], allowMassDelete: a['allow-mass-delete'] } : undefined,
    flags: { createMissingProperties: a['create-missing-properties'], createPhonebooks: a['create-phonebooks'], formats: a.formats, state: a.state },
  };
}

export function runCommand(io: Io, done: (code: number) => void) {
  return {
    command: 'run <files..>',
    describe: 'Import the files into a target and write a report (success / failed / merged)',
    builder: (y: Argv) => loadOptions(commonOptions(y))
      .example('$0 run samples/clean.csv -m mappings/clean.yaml', 'write the payloads each target would receive into the report folder')
      .example('SPOKE_CLIENT_ID=… SPOKE_CLIENT_SECRET=… $0 run contacts.csv -m mappings/crm.yaml --target spoke', 'load into Spoke personal phonebooks')
      .example('$0 run nightly.csv -m mappings/crm.yaml --target spoke --mirror', 'nightly full export: send what changed, delete what left the file')
      .example('$0 run reports/<run>/failed.csv -m mappings/crm.yaml --target spoke', 'load the rows you fixed in failed.csv'),
    handler: async (a: LoadArgs) => {
      done(await execute(io, a, runOptionsFrom(a)));
    },
  };
}
