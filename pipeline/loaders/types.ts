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
 */
import type { ContactRecord } from '../contact.js';
import type { ErrorCode } from '../errors.js';
import type { Mapping } from '../mapping/schema.js';
import type { HttpClient } from './http.js';
import type { Logger } from '../log.js';

export type TargetName = 'file' | 'samespace' | 'spoke' | 'genesys' | 'talkdesk';
export const TARGETS: readonly TargetName[] = ['file', 'samespace', 'spoke', 'genesys', 'talkdesk'];

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

export interface Loader {
  readonly target: TargetName;
  /** Fields the target needs on every contact; checked by the validate stage. */
  readonly requiredFields: readonly string[];
  open(): Promise<void>;
  write(record: ContactRecord): Promise<void>;
  close(): Promise<void>;
}

export type LoaderFactory = (ctx: LoaderContext) => Loader;
