/** `contact-import run`: read, map, normalize, validate, dedupe and load into a target. */
import type { Argv } from 'yargs';
import { commonOptions, execute, targetChoices, type CommonArgs, type Io } from './common.js';
import type { TargetName } from '../loaders/types.js';

interface RunArgs extends CommonArgs {
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
}

export function runCommand(io: Io, done: (code: number) => void) {
  return {
    command: 'run <files..>',
    describe: 'Import the files into a target and write a report (success / failed / merged)',
    builder: (y: Argv) => commonOptions(y)
      .option('target', { alias: 't', choices: targetChoices, default: 'file' as TargetName, describe: 'where to load; file writes the exact payloads each target would receive' })
      .option('dry-run', { type: 'boolean', default: false, describe: 'connect and plan, but write nothing to the target' })
      .option('batch-size', { type: 'number', describe: 'contacts per request (Spoke) or per uploaded file (Samespace)' })
      .option('concurrency', { type: 'number', describe: 'requests in flight at once (per target)' })
      .option('retries', { type: 'number', default: 6, describe: 'attempts per request on 429, 5xx and dropped connections' })
      .option('retry-base-ms', { type: 'number', default: 250, describe: 'first backoff delay; doubles each attempt, with jitter' })
      .option('create-missing-properties', { type: 'boolean', default: false, describe: 'samespace: create properties the mapping names and the module lacks' })
      .option('create-phonebooks', { type: 'boolean', default: false, describe: 'spoke: create each owner\'s personal phonebook first' })
      .option('formats', { type: 'string', array: true, describe: 'file target: which payloads to write (spoke samespace genesys talkdesk; default all)' })
      .option('state', { type: 'string', describe: 'talkdesk: the state store file (default $CONTACT_IMPORT_STATE, else .contact-import/state.db)' })
      .example('$0 run samples/clean.csv -m mappings/clean.yaml', 'write the payloads each target would receive into the report folder')
      .example('SPOKE_CLIENT_ID=… SPOKE_CLIENT_SECRET=… $0 run contacts.csv -m mappings/crm.yaml --target spoke', 'load into Spoke personal phonebooks')
      .example('$0 run reports/<run>/failed.csv -m mappings/crm.yaml --target spoke', 'load the rows you fixed in failed.csv'),
    handler: async (a: RunArgs) => {
      done(await execute(io, a, {
        command: 'run', target: a.target, dryRun: a['dry-run'],
        batchSize: a['batch-size'], concurrency: a.concurrency,
        retry: { attempts: a.retries, baseDelayMs: a['retry-base-ms'] },
        flags: { createMissingProperties: a['create-missing-properties'], createPhonebooks: a['create-phonebooks'], formats: a.formats, state: a.state },
      }));
    },
  };
}
