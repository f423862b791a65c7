/**
 * The part of `--mirror` deletes that every loader shares (Loader.remove in types.ts):
 * bounded concurrency, one done() per item, and telling "this delete failed" apart from
 * "the target cannot be reached at all".
 *
 * A request that outlasted the HttpClient's retries (network errors, 429, 5xx) fails its
 * items RETRIES_EXHAUSTED once the target has answered any other delete usefully. When no
 * request has reached the target yet, the first such failure stops the deletes instead:
 * no new request is started, the items not attempted or not answered are left without
 * done() (the runner reports them as not deleted), and remove() throws TARGET_UNREACHABLE,
 * so a run against a target that is down ends with exit 3 rather than with thousands of
 * failures that each waited through every retry.
 */
import pLimit from 'p-limit';
import { ImportError, type ErrorCode } from '../errors.js';
import type { Logger } from '../log.js';
import type { RemoveItem, RemoveOutcome } from './types.js';

type Done = (item: RemoveItem, outcome: RemoveOutcome) => void;

/**
 * Wraps a remove()'s done() to count outcomes; log() writes the line every remove() ends
 * with ("spoke: 3 deleted, 1 already gone, 0 failed of 4").
 */
export function removeTally(target: string, done: Done) {
  const counts = { deleted: 0, gone: 0, failed: 0 };
  return {
    done: ((item, outcome) => {
      counts[outcome.status]++;
      done(item, outcome);
    }) as Done,
    log(log: Logger, total: number): void {
      log.info(`${target}.remove`, `${target}: ${counts.deleted} deleted, ${counts.gone} already gone, ${counts.failed} failed of ${total}`, counts);
    },
  };
}

export type UnitResult<T extends RemoveItem> =
  /** The target answered: an outcome for each item of the unit. */
  | { reached: true; outcomes: [T, RemoveOutcome][] }
  /** No usable answer after the retries: `error` says what happened (method, path, last status). */
  | { reached: false; error: string };

export interface RemoveRunOptions {
  /** The target's name, for messages ("spoke"). */
  target: string;
  concurrency: number;
  signal: AbortSignal;
}

/**
 * Runs `attempt` on each unit (one item for Spoke and Genesys, a batch for Samespace)
 * with at most `concurrency` in flight. `attempt` may throw an ImportError of kind abort
 * (credentials refused): no new unit starts and it is rethrown after the others finish.
 */
export async function removeUnits<T extends RemoveItem>(
  units: readonly (readonly T[])[],
  attempt: (unit: readonly T[]) => Promise<UnitResult<T>>,
  done: Done,
  o: RemoveRunOptions,
): Promise<void> {
  const limit = pLimit(o.concurrency);
  let reached = false;
  let skipped = 0;
  let fatal: unknown;
  const fail = (unit: readonly T[], code: ErrorCode, error: string) => {
    for (const item of unit) done(item, { status: 'failed', code, error });
  };

  await Promise.all(units.map((unit) => limit(async () => {
    if (fatal !== undefined || o.signal.aborted) {
      skipped++;
      return;
    }
    let r: UnitResult<T>;
    try {
      r = await attempt(unit);
    } catch (e) {
      fatal ??= e;
      return;
    }
    if (r.reached) {
      reached = true;
      for (const [item, outcome] of r.outcomes) done(item, outcome);
      return;
    }
    if (reached) return fail(unit, 'RETRIES_EXHAUSTED', r.error);
    fatal ??= new ImportError('TARGET_UNREACHABLE',
      `${o.target}: could not delete contacts, the target did not answer: ${r.error}; no further deletes were sent`);
  })));

  // Units never attempted or never answered get no done(): the runner reports them as not deleted.
  if (fatal !== undefined) throw fatal;
  if (skipped) {
    throw new ImportError('INTERRUPTED', `${o.target}: the run was interrupted during deletes; deletes in flight were finished and no new ones were sent`);
  }
}
