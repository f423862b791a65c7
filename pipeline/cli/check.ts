/** `contact-import check`: no network; what would load, fail and merge, and why. */
import type { Argv } from 'yargs';
import { commonOptions, execute, targetChoices, type CommonArgs, type Io } from './common.js';
import type { TargetName } from '../loaders/types.js';

export function checkCommand(io: Io, done: (code: number) => void) {
  return {
    command: 'check <files..>',
    describe: 'Read and validate without sending anything: counts, the first contacts, failures grouped by reason',
    builder: (y: Argv) => commonOptions(y)
      .option('target', { alias: 't', choices: targetChoices, default: 'file' as TargetName, describe: 'also check the fields this target requires (no network)' })
      .option('show', { type: 'number', default: 5, describe: 'how many normalized contacts to print' })
      .example('$0 check samples/messy.csv --mapping mappings/messy.yaml', 'see what would load and what would fail')
      .example('$0 check export.xlsx -m mappings/crm.yaml --target spoke', 'also check Spoke\'s required fields (id, name, owner)'),
    handler: async (a: CommonArgs & { target: TargetName; show: number }) => {
      done(await execute(io, a, { command: 'check', target: a.target, dryRun: true, sample: a.show }));
    },
  };
}
