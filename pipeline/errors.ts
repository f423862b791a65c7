/**
 * One error type with a closed set of codes. Every code has a kind (what it does to
 * the run) and a one-line hint that lands in failed.csv and report.html.
 *
 *  - usage:  a mistake in the command, the mapping or the input file; nothing is sent; exit 2
 *  - abort:  the target refused us as a whole (credentials, unreachable); exit 3
 *  - row:    one row (or one contact) fails; the run goes on; exit 1 at the end
 */
export type ErrorKind = 'usage' | 'abort' | 'row';

interface CodeSpec { kind: ErrorKind; hint: string }

export const ERROR_CODES = {
  // --- usage: command line, files, mappings (exit 2) ---
  USAGE: { kind: 'usage', hint: 'Run the command with --help to see its options and examples.' },
  FILE_NOT_FOUND: { kind: 'usage', hint: 'Check the path; it is relative to the folder you run the command from.' },
  FILE_EMPTY: { kind: 'usage', hint: 'Export the file again: it has no bytes or no rows (or fewer rows than source.headerRow / --header-row, if you set it: check that number).' },
  FILE_HEADER_ONLY: { kind: 'usage', hint: 'The file has a header row but no data rows; export it again with the data.' },
  FILE_TYPE_MISMATCH: { kind: 'usage', hint: 'The file content does not match its extension; rename it to the right extension or export it again.' },
  FILE_NOT_TEXT: { kind: 'usage', hint: 'The file holds binary data, not text: export the contacts from the program that made it as CSV, or give the .xlsx or .xls workbook itself. A UTF-16 text file without a byte-order mark needs source.encoding in the mapping.' },
  FILE_IS_FOLDER: { kind: 'usage', hint: 'Give the path of one CSV, TSV, XLS or XLSX file; to import every file dropped into a folder as it arrives, run `contact-import watch <folder>`.' },
  FILE_UNSUPPORTED: { kind: 'usage', hint: 'Use a .csv, .tsv, .txt, .xls or .xlsx file.' },
  FILE_TOO_LARGE: { kind: 'usage', hint: 'Spreadsheets are read whole into memory; save it as CSV (which is streamed) or raise --max-workbook-mb.' },
  WORKBOOK_CORRUPT: { kind: 'usage', hint: 'Open the workbook in Excel or LibreOffice and save it again, or export it as CSV.' },
  WORKBOOK_ENCRYPTED: { kind: 'usage', hint: 'Remove the password in Excel (File > Info > Protect Workbook) and save a copy.' },
  SHEET_NOT_FOUND: { kind: 'usage', hint: 'Set source.sheet in the mapping (--sheet for init) to one of the sheet names listed, or to its 1-based index.' },
  HEADER_NOT_FOUND: { kind: 'usage', hint: 'Set source.headerRow in the mapping to the row number that holds the column names.' },
  ENCODING_UNSUPPORTED: { kind: 'usage', hint: 'Set source.encoding to one of: auto, utf-8, utf-16le, utf-16be, windows-1252, latin1.' },
  CSV_MALFORMED: { kind: 'usage', hint: 'A quote is opened and never closed; fix the quoting near that row or export the file again.' },
  MAPPING_NOT_FOUND: { kind: 'usage', hint: 'Check the --mapping path, or draft one with `contact-import init <file>`.' },
  MAPPING_YAML: { kind: 'usage', hint: 'Fix the YAML syntax at the position shown (indentation, a missing colon or quote).' },
  MAPPING_INVALID: { kind: 'usage', hint: 'Fix the mapping at the path shown; see mappings/README.md for every key.' },
  NO_CONTACT_COLUMNS: { kind: 'usage', hint: 'init drafts from the column names: if they are not on the row named, give --header-row N (and --sheet for a workbook whose contacts are on another sheet); if the file has no header row, write the mapping by hand from mappings/README.md.' },
  MAPPING_COLUMN_MISSING: { kind: 'usage', hint: 'Use a column name exactly as it appears in the file header (listed in the message).' },
  TARGET_UNKNOWN: { kind: 'usage', hint: 'Use --target file, samespace, spoke, genesys or talkdesk.' },
  CONFIG_MISSING: { kind: 'usage', hint: 'Set the environment variable named in the message (see README, "Targets").' },
  TARGET_PROPERTY_MISSING: { kind: 'usage', hint: 'Map to an existing property key, or pass --create-missing-properties.' },
  STATE_UNUSABLE: { kind: 'usage', hint: 'Check --state (or CONTACT_IMPORT_STATE): it must be a writable contact-import state file, not one written by a newer version.' },
  // The bridge only reads a store: serving an empty one it created would tell Talkdesk there are no contacts.
  STATE_NOT_FOUND: { kind: 'usage', hint: 'Check the path (--state, else CONTACT_IMPORT_STATE, else .contact-import/state.db in the working folder), or fill the store first with `contact-import run <file> --mapping <m> --target talkdesk --state <path>`.' },
  OUT_NOT_A_FOLDER: { kind: 'usage', hint: 'Give --out a folder path (it is created if missing), not the path of a file.' },
  FOLDER_UNUSABLE: { kind: 'usage', hint: 'Give a path whose every part is a folder or can be created as one (not a file, nor a link to something missing).' },

  // --- abort: the target as a whole (exit 3) ---
  AUTH_FAILED: { kind: 'abort', hint: 'Check the credentials in the environment variables named in the message.' },
  AUTH_FORBIDDEN: { kind: 'abort', hint: 'The credentials are valid but lack the permission; ask an admin for a key with the right role.' },
  TARGET_UNREACHABLE: { kind: 'abort', hint: 'Check the endpoint URL variable and your network; the run can be started again safely.' },
  TARGET_PROTOCOL: { kind: 'abort', hint: 'The target answered something the API document does not describe; check the endpoint URL.' },
  INTERRUPTED: { kind: 'abort', hint: 'The run was stopped; start it again with the same command.' },
  // A bug in contact-import, met after rows were read: the run stops like an abort, so that
  // every row read still has one outcome and the report adds up.
  INTERNAL: { kind: 'abort', hint: 'This is a bug in contact-import. The report says what loaded before it (rows not loaded are NOT_SENT in failed.csv), so the same command can be run again. Run it with CONTACT_IMPORT_DEBUG=1 for the stack trace and report it.' },
  // The disk refused a write (full, quota, read-only, permission): not a bug, and not the input.
  WRITE_FAILED: { kind: 'abort', hint: 'Free space on that disk or give yourself write permission there, or point --out (the report) or TMPDIR (the dedupe spill) at another folder you can write to, then run the same command again: rows not loaded are NOT_SENT in failed.csv, and a loading run\'s state store keeps what already landed, so it is not sent twice.' },
  // Not a mistake in the command (exit 2 would say "fix it"): another import is running, nothing
  // was sent, and the same command succeeds once that import ends, as exit 3 promises.
  LOCKED: { kind: 'abort', hint: 'Another import holds the lock named in the message; run the same command again when it has finished. Delete the lock file only if you are sure no import is running.' },

  // --- row: one row fails, the run goes on (exit 1) ---
  ROW_TOO_FEW_FIELDS: { kind: 'row', hint: 'The row has fewer fields than the header; a delimiter or quote is probably missing.' },
  ROW_TOO_MANY_FIELDS: { kind: 'row', hint: 'The row has more fields than the header; quote values that contain the delimiter.' },
  ROW_QUOTE: { kind: 'row', hint: 'A quote in this row is not closed or is misplaced; fix the quoting.' },
  ROW_TOO_LARGE: { kind: 'row', hint: 'A cell or row exceeds the size cap (--max-cell-kb / --max-row-kb); check the file for a runaway quote.' },
  ENCODING_INVALID: { kind: 'row', hint: 'The row contains bytes that are not valid in the file\'s encoding. A file saved by Excel on Windows is usually windows-1252: set source.encoding: windows-1252 in the mapping, or re-save the file as CSV UTF-8.' },
  REQUIRED_MISSING: { kind: 'row', hint: 'Fill the column(s) that feed this field, or change `required` in the mapping.' },
  PHONE_INVALID: { kind: 'row', hint: 'Write the number with its country code (+44 20 7946 0958) or set a country column.' },
  PHONE_TOO_SHORT: { kind: 'row', hint: 'The number has too few digits; check for a missing area code.' },
  PHONE_TOO_LONG: { kind: 'row', hint: 'The number has too many digits; check for two numbers run together.' },
  PHONE_INVALID_COUNTRY: { kind: 'row', hint: 'Add the country code (+49 …) or set phone.defaultCountry / phone.countryColumn in the mapping.' },
  PHONE_NOT_A_NUMBER: { kind: 'row', hint: 'The cell does not hold a phone number; move other text to another column.' },
  PHONE_MANGLED: { kind: 'row', hint: 'A spreadsheet turned the number into scientific notation (4.15E+09) and lost digits; format the column as Text and export again.' },
  COUNTRY_UNKNOWN: { kind: 'row', hint: 'Use an ISO country code (US, GB, DE) or the country\'s name in English, German, French, Spanish, Italian, Portuguese or Dutch in the country column.' },
  EMAIL_INVALID: { kind: 'row', hint: 'Write one address like name@example.com; separate several with ";".' },
  FIELD_INVALID: { kind: 'row', hint: 'The value does not fit the field; see the message for what was expected.' },
  TARGET_REJECTED: { kind: 'row', hint: 'The target refused this contact; its reason is in the message.' },
  TARGET_DUPLICATE: { kind: 'row', hint: 'The number already belongs to a user or queue on the target; remove it from the file.' },
  OWNER_NOT_FOUND: { kind: 'row', hint: 'No user has this email on the target; check the owner column.' },
  OWNER_FORBIDDEN: { kind: 'row', hint: 'The user exists but has no personal phonebook rights; check the owner column or the user settings.' },
  RETRIES_EXHAUSTED: { kind: 'row', hint: 'The target kept failing (5xx, 429 or dropped connections); run the same command again later.' },
  NOT_SENT: { kind: 'row', hint: 'The run stopped before this row was sent; run the same command again.' },
} as const satisfies Record<string, CodeSpec>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Where a problem is: any of file, row (spreadsheet row number), column, mapping path. */
export interface Where {
  file?: string;
  sheet?: string;
  row?: number;
  column?: string;
  mappingPath?: string;
  line?: number;
}

export class ImportError extends Error {
  readonly code: ErrorCode;
  readonly where: Where;
  readonly detail?: unknown;

  constructor(code: ErrorCode, message: string, where: Where = {}, detail?: unknown) {
    super(message);
    this.name = 'ImportError';
    this.code = code;
    this.where = where;
    this.detail = detail;
  }

  get kind(): ErrorKind { return ERROR_CODES[this.code].kind; }
  get hint(): string { return ERROR_CODES[this.code].hint; }

  /** "CODE: message (file row 3, column "Mobile")" */
  describe(): string {
    const at = describeWhere(this.where);
    return `${this.code}: ${this.message}${at ? ` (${at})` : ''}`;
  }
}

export function describeWhere(w: Where): string {
  const parts: string[] = [];
  if (w.file) parts.push(w.sheet ? `${w.file} sheet "${w.sheet}"` : w.file);
  if (w.line !== undefined) parts.push(`line ${w.line}`);
  if (w.row !== undefined) parts.push(`row ${w.row}`);
  if (w.column !== undefined) parts.push(`column "${w.column}"`);
  if (w.mappingPath) parts.push(`at ${w.mappingPath}`);
  return parts.join(', ');
}

/** ` (column "Phone")` after a row's failure message, as failed.csv says where; '' without a column. */
export function inColumn(column: string | undefined): string {
  return column ? ` (column "${column}")` : '';
}

export function hintFor(code: string): string {
  return (ERROR_CODES as Record<string, CodeSpec>)[code]?.hint ?? '';
}

export function isImportError(e: unknown): e is ImportError {
  return e instanceof ImportError;
}

/** Exit codes of DESIGN.md. */
export const EXIT = { OK: 0, ROWS_FAILED: 1, USAGE: 2, ABORTED: 3 } as const;

export function exitCodeFor(e: unknown): number {
  if (isImportError(e)) return e.kind === 'abort' ? EXIT.ABORTED : EXIT.USAGE;
  return EXIT.ABORTED;
}

/** What the operating system's write errors mean, in the user's words. */
const WRITE_ERRNO: Record<string, string> = {
  ENOSPC: 'the disk is full',
  EDQUOT: 'the disk quota is used up',
  EFBIG: 'the file would be larger than this system allows (see `ulimit -f`)',
  EROFS: 'the file system is read-only',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EIO: 'the disk reported an input/output error',
  // Writing a file the run created itself: its folder was moved or deleted under the run.
  ENOENT: 'its folder no longer exists (moved or deleted while the run was writing?)',
  SQLITE_FULL: 'the disk is full',
  SQLITE_IOERR: 'the disk reported an input/output error',
  SQLITE_READONLY: 'the file system is read-only',
};

/** Codes that only a write can meet: safe to recognize on an error whose origin is not known. */
const ONLY_WRITES = new Set(['ENOSPC', 'EDQUOT', 'EFBIG', 'EROFS', 'SQLITE_FULL', 'SQLITE_READONLY']);

/**
 * A write the disk refused (full, over quota, read-only, no permission) as WRITE_FAILED,
 * naming the file (and `what` it is, e.g. "the dedupe spill, in TMPDIR"). With `path`, the
 * caller was writing that file; without it, the error came from anywhere, so only the codes
 * a write alone can meet count, and the file is the path node put on the error. Any other
 * error is returned as it is (a bug stays a bug).
 */
export function writeFailed(e: unknown, path?: string, what?: string): unknown {
  if (isImportError(e) || typeof e !== 'object' || e === null) return e;
  const err = e as NodeJS.ErrnoException;
  const code = typeof err.code === 'string' ? err.code : '';
  if (path === undefined && !ONLY_WRITES.has(code)) return e;
  const why = WRITE_ERRNO[code] ?? (code.startsWith('SQLITE_IOERR') ? WRITE_ERRNO.SQLITE_IOERR : undefined);
  if (!why) return e;
  const file = path ?? err.path;
  // SQLite's errors carry no path; the only database a run writes is its state store.
  const kind = what ?? (!file && code.startsWith('SQLITE_') ? 'the state store, --state or CONTACT_IMPORT_STATE' : undefined);
  const name = file && kind ? `${file} (${kind})` : file ?? kind ?? 'a file';
  return new ImportError('WRITE_FAILED', `could not write ${name}: ${why} (${code})`, file ? { file } : {});
}

/**
 * An error that says where a bug happened (`message` names the file and row), carrying the
 * stack of the error it wraps, marked with the thread it came from when known (`thread`, e.g.
 * "in the row worker"), so that a bug report still points at the failing line.
 */
export function bugAt(message: string, causeStack: string | undefined, thread?: string): Error {
  const e = new Error(message);
  if (causeStack) e.stack = `${message}\n    ${thread ? `(${thread}) ` : ''}${causeStack}`;
  return e;
}

/** Anything thrown that is not an ImportError is a bug: as the INTERNAL abort that reports and the CLI show. */
export function internalError(e: unknown): ImportError {
  const message = e instanceof Error ? e.message : String(e);
  // Some checks already say "internal error: ..." in their own message: say it once.
  return new ImportError('INTERNAL', `internal error: ${message.replace(/^internal error: /, '')}`);
}

/** Any error as the ImportError the user is shown: itself, a write the disk refused, or a bug (INTERNAL). */
export function toImportError(e: unknown): ImportError {
  if (isImportError(e)) return e;
  const w = writeFailed(e);
  return isImportError(w) ? w : internalError(e);
}
