/**
 * The loader lifecycle (after Singer's sinks and Benthos' outputs):
 *
 *   open()   check configuration and credentials before any contact is read; throw
 *            an ImportError of kind 'usage' (exit 2) or 'abort' (exit 3).
 *   write()  take one contact; buffer it, send batches when full. Resolves when the
 *            loader can take more (back-pressure), not necessarily when it landed.
 *   close()  flush what is buffered, wait for everything in flight.
 *
 * Every contact written gets exactly one call of ctx.settle(record, outcome), from
 * write() or close(). An ImportError of kind 'abort' thrown from write() or close()
 * stops the run; the runner then settles the unsettled contacts as NOT_SENT.
 * The runner calls close() once on every way out of a run whose open() succeeded, a run
 * stopped by a throw included: then ctx.signal is already aborted, and close() sends
 * nothing new but lets what is in flight settle (and may throw; the first reason stands).
 */
import type { Contact, ContactRecord } from '../contact.js';
import type { ErrorCode } from '../errors.js';
import type { Mapping } from '../mapping/schema.js';
import type { HttpClient } from './http.js';
import type { Logger } from '../log.js';

export type TargetName = 'file' | 'samespace' | 'spoke' | 'genesys' | 'talkdesk';
export const TARGETS: readonly TargetName[] = ['file', 'samespace', 'spoke', 'genesys', 'talkdesk'];

/**
 * Fields each target needs on every contact, checked before anything is sent (and by
 * `init` when it drafts a mapping). The loaders declare these as their requiredFields;
 * Samespace learns more from the module's required properties at open().
 */
export const TARGET_REQUIREMENTS: Record<TargetName, { fields: readonly string[] }> = {
  file: { fields: [] },
  spoke: { fields: ['id', 'name', 'owner'] },
  samespace: { fields: [] },
  genesys: { fields: ['name', 'phones'] },
  talkdesk: { fields: ['id', 'name'] },
};

/**
 * A field `target` needs on every contact that the mapping fills from nothing: every row
 * would fail REQUIRED_MISSING (run.ts refuses such a run before anything is read or sent;
 * the file target notes that the target's payload file stays empty).
 */
export function unmappedTargetField(m: Mapping, target: TargetName): string | undefined {
  const f = m.fields;
  const filled: Record<string, boolean> = {
    id: f.id !== undefined,
    name: f.name !== undefined || (m.names.joinFirstLast && (f.firstName !== undefined || f.lastName !== undefined)),
    owner: f.owner !== undefined,
    phones: f.phones !== undefined,
    emails: f.emails !== undefined,
  };
  return TARGET_REQUIREMENTS[target].fields.find((field) => filled[field] === false);
}

/** The mapping entries that fill `field` (for the fix an unmappedTargetField message gives). */
export function mappingEntriesFor(field: string): string {
  return field === 'name' ? 'fields.name, or fields.firstName / fields.lastName' : `fields.${field}`;
}

export type OutcomeStatus = 'success' | 'failed' | 'merged' | 'unchanged';

export interface LoadOutcome {
  status: OutcomeStatus;
  /** The target's id for the contact (or the external id it was stored under). */
  targetId?: string;
  /** What the target did: created, updated, merged-by-target, unchanged, deleted... */
  action?: string;
  /** For failed: the code and the message (the target's reason, method, path, status). */
  code?: ErrorCode;
  error?: string;
  /** Extra facts for the report (a second phone not sent, a per-chunk attribution note). */
  notes?: string[];
  /** unchanged: the run whose load the target confirmed (incremental runs, resume). */
  loadedBy?: string;
}

export interface LoaderOptions {
  batchSize?: number;
  concurrency?: number;
  dryRun: boolean;
  /** Free-form flags from the command line (createMissingProperties, createPhonebooks...). */
  flags: Record<string, unknown>;
}

export interface LoaderContext {
  env: NodeJS.ProcessEnv;
  mapping: Mapping;
  options: LoaderOptions;
  http: HttpClient;
  log: Logger;
  /** The run's report folder (for payload files, uploaded chunk copies). */
  outDir: string;
  /** Exactly once per written contact. */
  settle(record: ContactRecord, outcome: LoadOutcome): void;
  /** A line for the report's notes (a property created, a chunk that did not add up). */
  note(message: string): void;
  /** Aborted on SIGINT/SIGTERM: finish the batch in flight, send no new ones. */
  signal: AbortSignal;
}

/**
 * Where a loaded contact lives in the target, as the incremental ledger records it
 * (pipeline/state/ledger.ts): content hashes, and which contacts `--mirror` may delete.
 */
export interface LedgerKey {
  /**
   * A partition of the target's contacts that the mass-delete guard counts on its own:
   * the owner's email (Spoke personal phonebook), the module (Samespace), one scope
   * for all custom contacts (Genesys).
   */
  scope: string;
  /** What identifies the contact inside its scope, the same from one run to the next. */
  key: string;
}

/** A contact this tool loaded before and that is absent from the new full file. */
export interface RemoveItem extends LedgerKey {
  /** The target's id recorded when the contact was loaded, when the target gave one. */
  targetId?: string;
}

export type RemoveOutcome =
  | { status: 'deleted' }
  /** The target no longer holds it (404, not found): nothing left to delete. */
  | { status: 'gone' }
  | { status: 'failed'; code: ErrorCode; error: string };

export interface Loader {
  readonly target: TargetName;
  /** Fields the target needs on every contact; checked by the validate stage. */
  readonly requiredFields: readonly string[];
  /**
   * Which account the contacts go to (the API base URL, plus the module for Samespace),
   * known from the environment before open(). Ledger entries are kept per destination,
   * so pointing the tool at another tenant starts afresh. Absent: no ledger (file target,
   * Talkdesk's own store).
   */
  readonly destination?: string;
  /**
   * The ledger key of a contact; undefined when the contact lacks what identifies it
   * (it is then always sent and never deleted). Pure: no I/O, callable before open().
   */
  identify?(contact: Contact): LedgerKey | undefined;
  /**
   * Other values the target may match this contact by when it merges (Samespace merges an
   * import into a contact with the same phone or email). --mirror never deletes a contact
   * loaded before when a row of the new file shares one of these with it: the target has
   * merged that row into it.
   */
  aliases?(contact: Contact): string[];
  open(): Promise<void>;
  write(record: ContactRecord): Promise<void>;
  /**
   * `--mirror`: delete these contacts from the target. Called after the last write()
   * and before close() (the loader is open), never in a dry run. Calls done() exactly
   * once per item; throws an ImportError of kind 'abort' only when the target cannot
   * be reached or refuses the credentials (items not done() are then reported as not
   * deleted). Bounded concurrency, retries as for writes.
   */
  remove?(items: readonly RemoveItem[], done: (item: RemoveItem, outcome: RemoveOutcome) => void): Promise<void>;
  close(): Promise<void>;
}

export type LoaderFactory = (ctx: LoaderContext) => Loader;
