/**
 * The command line. Commands are an explicit list; each lives in its own module.
 * User mistakes print one clear error (code, what, where, hint) and no stack trace.
 */
import yargs from 'yargs';
import { ImportError, isImportError, toImportError, exitCodeFor, describeWhere, EXIT } from '../errors.js';
import { createLogger, redactSecrets } from '../log.js';
import { checkCommand } from './check.js';
import { runCommand } from './run.js';
import { initCommand } from './init.js';
import { bridgeCommand } from './bridge.js';
import { watchCommand } from './watch.js';
import { EPILOGUE, type Io } from './common.js';
import { didYouMean } from '../mapping/did-you-mean.js';

export async function main(argv: string[], io?: Partial<Io>): Promise<number> {
  const ctl = new AbortController();
  const full: Io = {
    out: io?.out ?? ((s) => process.stdout.write(s + (s.endsWith('\n') ? '' : '\n'))),
    err: io?.err ?? ((s) => process.stderr.write(s + '\n')),
    env: io?.env ?? process.env,
    isTTY: io?.isTTY ?? Boolean(process.stderr.isTTY),
    signal: io?.signal ?? ctl.signal,
  };
  const onSignal = (sig: string) => {
    if (ctl.signal.aborted) process.exit(EXIT.ABORTED);
    full.err(`${sig}: ${STOPPING[argv[0]] ?? STOPPING.run} (again to stop at once)`);
    ctl.abort();
  };
  const sigint = () => onSignal('SIGINT');
  const sigterm = () => onSignal('SIGTERM');
  if (!io?.signal) { process.on('SIGINT', sigint); process.on('SIGTERM', sigterm); }

  let code: number = EXIT.OK;
  const done = (c: number) => { code = c; };
  try {
    await yargs(argv)
      .scriptName('contact-import')
      .usage('$0 <command> [options]\n\nBulk-import contacts from CSV, XLS and XLSX into Samespace, Spoke, Genesys or Talkdesk.')
      .command(checkCommand(full, done) as never)
      .command(runCommand(full, done) as never)
      .command(initCommand(full, done) as never)
      .command(bridgeCommand(full, done) as never)
      .command(watchCommand(full, done) as never)
      .example('$0 check samples/messy.csv --mapping mappings/messy.yaml', 'what would load, fail and merge, and why (sends nothing)')
      .example('$0 run samples/clean.csv --mapping mappings/clean.yaml', 'import into the file target (the payloads each system would receive)')
      .example('$0 init export.csv --out mappings/export.yaml', 'draft a mapping from a file\'s columns (Google, Outlook, HubSpot, Salesforce exports recognized)')
      .demandCommand(1, 'name a command: check, run, init, watch or bridge')
      .strict()
      .recommendCommands()
      .epilogue(EPILOGUE)
      .wrap(Math.min(110, process.stdout.columns || 110))
      .exitProcess(false)
      .fail((msg, err, usage) => {
        if (err) throw err;
        // The command's options, as its --help lists them: what a misspelt one is checked against.
        const known = Object.keys((usage as unknown as { getDescriptions?: () => Record<string, unknown> }).getDescriptions?.() ?? {});
        throw new ImportError('USAGE', plainUsage(msg, argv, known));
      })
      .parseAsync();
  } catch (e) {
    code = report(e, full, jsonLogsRequested(argv));
  } finally {
    process.off('SIGINT', sigint);
    process.off('SIGTERM', sigterm);
  }
  return code;
}

/** What each command does when told to stop (SIGINT / SIGTERM). */
const STOPPING: Record<string, string> = {
  run: 'finishing the batch in flight and writing the report',
  watch: 'finishing the batch in flight, writing its report, then stopping the watch',
  bridge: 'no longer accepting requests, finishing the ones in flight',
};

/** What the command needs as its first argument, for a command line that lacks it. */
const POSITIONAL: Record<string, string> = {
  run: 'the file(s) to import, e.g. contact-import run contacts.csv --mapping mappings/crm.yaml',
  check: 'the file(s) to check, e.g. contact-import check contacts.csv --mapping mappings/crm.yaml',
  init: 'the file to draft a mapping for, e.g. contact-import init contacts.csv',
  watch: 'the folder files are dropped into, e.g. contact-import watch /srv/drops --mapping mappings/crm.yaml',
};

const kebab = (name: string) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/**
 * The long options on the command line that the command does not have (`known`: its options,
 * dashed), as typed; `--no-x` is x, `--someFlag` is --some-flag.
 */
function unknownLongOptions(argv: string[], known: readonly string[]): string[] {
  const have = new Set(known);
  const out: string[] = [];
  for (const a of argv) {
    if (a === '--') break;
    const m = /^--([^=]+)/.exec(a);
    if (!m) continue;
    const name = kebab(m[1]);
    if (!have.has(name) && !have.has(name.replace(/^no-/, ''))) out.push(m[1]);
  }
  return out;
}

/** "--maping (did you mean --mapping?)" */
function describeOption(name: string, known: readonly string[]): string {
  const flag = name.length > 1 ? `--${name}` : `-${name}`;
  const guess = name.length > 1 ? didYouMean(name, known.filter((k) => k.length > 1)) : undefined;
  return guess ? `${flag} (did you mean --${guess}?)` : flag;
}

/** yargs' own messages in the words of this tool's other errors. `known`: the command's options. */
function plainUsage(msg: string, argv: string[], known: readonly string[]): string {
  const command = argv[0];
  const unknownText = (names: string[]) => `unknown option${names.length > 1 ? 's' : ''}: ${names.map((n) => describeOption(n, known)).join(', ')}`;
  // A misspelt option is also why a required one is "missing" (--maping for --mapping): yargs
  // says the second first, and the first is what to fix.
  if (/^Missing required argument/.test(msg) && known.length) {
    const typos = unknownLongOptions(argv, known);
    if (typos.length) return unknownText(typos);
  }
  if (/^Not enough non-option arguments/.test(msg) && command && POSITIONAL[command]) return `${command} needs ${POSITIONAL[command]}`;
  // yargs lists an unknown --some-flag twice, also as someFlag.
  const unknown = /^Unknown arguments?: (.*)$/.exec(msg);
  if (unknown) {
    const names = unknown[1].split(', ').filter((n, _i, all) => !(/[A-Z]/.test(n) && all.includes(kebab(n))));
    // yargs names a word the command does not take (a second file for init, any for bridge) the same way.
    const flagged = (n: string) => argv.some((a) => a === `-${n}` || a.startsWith(`--${n}`) || (n.length === 1 && /^-[a-zA-Z]+$/.test(a) && a.includes(n)));
    const options = names.filter(flagged);
    const words = names.filter((n) => !flagged(n));
    const parts = [];
    if (options.length) parts.push(unknownText(options));
    if (words.length) parts.push(`${command} does not take ${words.map((w) => JSON.stringify(w)).join(', ')}${POSITIONAL[command] ? `: it needs ${POSITIONAL[command]}` : ''}`);
    return parts.join('; ');
  }
  return msg;
}

/**
 * Whether the command line asks for JSON logs. Read from argv itself: the error may be the
 * command line's own (an unknown option), found before yargs has parsed anything.
 */
function jsonLogsRequested(argv: string[]): boolean {
  const at = argv.lastIndexOf('--log-format');
  const eq = argv.filter((a) => a.startsWith('--log-format=')).pop();
  return eq !== undefined && argv.indexOf(eq) > at ? eq === '--log-format=json' : at >= 0 && argv[at + 1] === 'json';
}

function report(thrown: unknown, io: Io, json = false): number {
  const e = toImportError(thrown);
  if (json) {
    // A scheduler reading JSON lines gets the error as one of them, with the same words.
    const internal = !isImportError(thrown) && e.code === 'INTERNAL';
    createLogger({ format: 'json', level: 'info', write: io.err, env: io.env }).error('error', e.message, {
      code: e.code, where: describeWhere(e.where) || undefined, hint: e.hint, exitCode: exitCodeFor(e),
      ...(internal && io.env.CONTACT_IMPORT_DEBUG ? { stack: (thrown as Error)?.stack } : {}),
    });
    return exitCodeFor(e);
  }
  if (isImportError(thrown) || e.code !== 'INTERNAL') {
    io.err(redactSecrets(`error: ${e.code}: ${e.message}`, io.env));
    io.err(`hint: ${e.hint}`);
    return exitCodeFor(e);
  }
  io.err(redactSecrets(e.message, io.env));
  if (io.env.CONTACT_IMPORT_DEBUG) io.err(redactSecrets((thrown as Error)?.stack ?? '', io.env));
  else io.err('This is a bug in contact-import. Run again with CONTACT_IMPORT_DEBUG=1 for details and report it.');
  return EXIT.ABORTED;
}
