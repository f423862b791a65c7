/** `contact-import init`: draft a commented mapping from a file's header and a sample of its rows. */
import type { Argv } from 'yargs';
import { writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ImportError, EXIT } from '../errors.js';
import { draftMapping, sampleFile, type Draft, type DraftOptions, type SampledFile } from '../mapping/draft.js';
import { EPILOGUE, targetChoices, type Io } from './common.js';
import type { TargetName } from '../loaders/types.js';
import { makeDirs } from '../dirs.js';

interface InitArgs {
  file: string;
  target?: TargetName;
  out?: string;
  force: boolean;
  sheet?: string;
  'header-row'?: number;
  'sample-rows': number;
}

export function initCommand(io: Io, done: (code: number) => void) {
  return {
    command: 'init <file>',
    describe: 'Draft a commented mapping from a file: columns matched by header (7 languages) and content, known exports recognized',
    builder: (y: Argv) => y
      .epilogue(EPILOGUE)
      .positional('file', { type: 'string', demandOption: true, describe: 'the CSV, TSV, TXT, XLS or XLSX file to draft a mapping for' })
      .option('target', { alias: 't', choices: targetChoices, describe: 'say in the draft which fields this target needs and whether they were found' })
      .option('out', { alias: 'o', type: 'string', describe: 'write the mapping here (default: print it)' })
      .option('force', { type: 'boolean', default: false, describe: 'overwrite --out if it exists' })
      .option('sheet', { type: 'string', describe: 'XLS/XLSX: the sheet, by name or 1-based index (default: the first sheet with contact columns)' })
      .option('header-row', { type: 'number', describe: '1-based row of the column names (default: 1, or detected in spreadsheets)' })
      .option('sample-rows', { type: 'number', default: 200, describe: 'how many rows to read to match columns by content and guess the country' })
      .example('$0 init export.csv', 'print a draft mapping for export.csv')
      .example('$0 init samples/google-contacts.csv --out mappings/mine.yaml', 'write it, then: contact-import check samples/google-contacts.csv -m mappings/mine.yaml')
      .example('$0 init contacts.xlsx --sheet Customers --target spoke -o mappings/crm.yaml --force', 'redraft over an existing file, noting what Spoke needs'),
    handler: async (a: InitArgs) => {
      done(await runInit(io, a));
    },
  };
}

/**
 * The first sheet with data maps nothing (a cover or notes sheet before the contacts): draft
 * from the first later sheet that maps something, and say so in the draft. Only without
 * --sheet: a sheet the user named is the one they meant.
 */
async function draftFromAnotherSheet(a: InitArgs, opts: DraftOptions, first: SampledFile, err: ImportError): Promise<Draft> {
  const sheets = first.info.sheets ?? [];
  const skipped = first.info.sheet;
  const later = sheets.slice(sheets.indexOf(skipped ?? '') + 1);
  if (skipped === undefined || !later.length) throw err;
  /** Every sheet looked at, and why it is not the contacts when it is not merely unmapped. */
  const passed: { name: string; why?: string }[] = [{ name: skipped }];
  const quoted = (p: { name: string }) => `"${p.name}"`;
  for (const name of later) {
    let sample: SampledFile;
    try {
      sample = await sampleFile(a.file, { sheet: name, headerRow: a['header-row'] }, a['sample-rows']);
    } catch (e) {
      // An empty sheet, or one with a header and no rows: not the contacts either.
      if (e instanceof ImportError && (e.code === 'FILE_EMPTY' || e.code === 'FILE_HEADER_ONLY' || e.code === 'HEADER_NOT_FOUND')) {
        passed.push({ name, why: e.code === 'FILE_HEADER_ONLY' ? 'no data rows' : 'empty' });
        continue;
      }
      throw e;
    }
    try {
      const names = passed.map(quoted);
      const list = names.length > 1 ? `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}` : names[0];
      return draftMapping(sample, { ...opts, notes: [`sheet "${name}" is the first whose columns look like contacts (nothing in ${list} does)`] });
    } catch (e) {
      if (!(e instanceof ImportError && e.code === 'NO_CONTACT_COLUMNS')) throw e;
      passed.push({ name });
    }
  }
  const listed = passed.map((p) => quoted(p) + (p.why ? ` (${p.why})` : '')).join(', ');
  throw new ImportError('NO_CONTACT_COLUMNS',
    `${a.file}: no sheet has a column that looks like a name, phone, email, company or id (sheets ${listed})`,
    { file: a.file });
}

async function runInit(io: Io, a: InitArgs): Promise<number> {
  if (!Number.isInteger(a['sample-rows']) || a['sample-rows'] < 1) {
    throw new ImportError('USAGE', `--sample-rows: expected a whole number of rows of 1 or more, got ${a['sample-rows']}`);
  }
  if (a['header-row'] !== undefined && (!Number.isInteger(a['header-row']) || a['header-row'] < 1)) {
    throw new ImportError('USAGE', `--header-row: expected a 1-based row number, got ${a['header-row']}`);
  }
  const sheet = a.sheet !== undefined && /^\d+$/.test(a.sheet) ? Number(a.sheet) : a.sheet;
  const opts: DraftOptions = { file: a.file, target: a.target, sheet, headerRow: a['header-row'], mappingPath: a.out };
  const sample = await sampleFile(a.file, { sheet, headerRow: a['header-row'] }, a['sample-rows']);
  let draft: Draft;
  try {
    draft = draftMapping(sample, opts);
  } catch (e) {
    if (!(e instanceof ImportError && e.code === 'NO_CONTACT_COLUMNS') || sheet !== undefined) throw e;
    draft = await draftFromAnotherSheet(a, opts, sample, e);
  }
  if (!a.out) {
    io.out(draft.text);
    return EXIT.OK;
  }
  makeDirs(dirname(a.out), { what: 'the folder of --out', fix: 'pick another path for --out' });
  try {
    // 'wx' refuses an existing file atomically: nothing can slip in between a check and the write.
    await writeFile(a.out, draft.text, { flag: a.force ? 'w' : 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new ImportError('USAGE', `${a.out} already exists; pass --force to overwrite it, or choose another --out`, { file: a.out });
    }
    throw e;
  }
  const f = draft.fields;
  const found = [
    f.name || f.firstName || f.lastName ? 'name' : '', f.company ? 'company' : '',
    f.phones.length ? `${f.phones.length} phone column${f.phones.length > 1 ? 's' : ''}` : '',
    f.emails.length ? `${f.emails.length} email column${f.emails.length > 1 ? 's' : ''}` : '',
  ].filter(Boolean).join(', ');
  io.out(`Wrote ${a.out}${draft.layout ? ` (recognized: ${draft.layout.title})` : ''}: ${found || 'no contact fields found'}` +
    `${draft.country ? `; default country ${draft.country.country} (a guess)` : ''}; ${draft.unmatched.length} column${draft.unmatched.length === 1 ? '' : 's'} not mapped.\n` +
    `Next: contact-import check ${a.file} --mapping ${a.out}`);
  return EXIT.OK;
}
