/**
 * A LoaderContext for driving the real spoke loader against the emulator: a real
 * HttpClient with short backoffs, a settle() that records every outcome and fails the
 * test on a second settle of the same record, and contact builders.
 */
import assert from 'node:assert/strict';
import type { Contact, ContactRecord } from '../../pipeline/contact.js';
import { emptyContact } from '../../pipeline/contact.js';
import { HttpClient } from '../../pipeline/loaders/http.js';
import type { Loader, LoaderContext, LoadOutcome } from '../../pipeline/loaders/types.js';
import { silentLogger } from '../../pipeline/log.js';
import { mappingSchema } from '../../pipeline/mapping/schema.js';
import { createSpokeLoader, type SpokeLoaderTuning } from '../../pipeline/loaders/spoke/loader.js';
import type { SpokeEmulator } from '../emulators/spoke.js';

export interface ContactSpec {
  id?: string;
  owner?: string;
  name?: string;
  company?: string;
  phones?: string[];
  emails?: string[];
}

let nextRow = 2;

/** A record as the pipeline hands it to a loader; rows are numbered in creation order. */
export function record(spec: ContactSpec): ContactRecord {
  const contact: Contact = {
    ...emptyContact(),
    id: spec.id,
    owner: spec.owner,
    name: spec.name,
    company: spec.company,
    phones: (spec.phones ?? []).map((e164) => ({ e164 })),
    emails: spec.emails ?? [],
  };
  const row = nextRow++;
  return { contact, ref: { file: 0, row, values: [spec.id ?? '', spec.name ?? ''] }, merged: [], conflicts: [], notes: [] };
}

/** `n` contacts for `owner`, ids `${prefix}-0..n-1`, each with a distinct valid phone. */
export function contactsFor(owner: string, n: number, prefix = owner.split('@')[0]): ContactRecord[] {
  return Array.from({ length: n }, (_, i) => record({
    id: `${prefix}-${i}`,
    owner,
    name: `Contact ${prefix} ${i}`,
    company: i % 3 === 0 ? 'Acme Ltd' : undefined,
    phones: [`+1415555${String(1000 + (hash(prefix) + i) % 9000).padStart(4, '0')}`],
    emails: i % 2 === 0 ? [`c${i}.${prefix.replace(/[^a-z0-9]/gi, '')}@example.com`] : [],
  }));
}

function hash(s: string): number {
  let h = 0;
  for (const ch of s) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return h;
}

/** Interleaves lists (a0, b0, c0, a1, ...) the way a real file mixes owners. */
export function interleave<T>(...lists: T[][]): T[] {
  const out: T[] = [];
  for (let i = 0; lists.some((l) => i < l.length); i++) for (const l of lists) if (i < l.length) out.push(l[i]);
  return out;
}

export interface HarnessOptions {
  batchSize?: number;
  concurrency?: number;
  dryRun?: boolean;
  flags?: Record<string, unknown>;
  /** Replaces or removes (undefined) variables of the emulator's env. */
  env?: Record<string, string | undefined>;
  attempts?: number;
  tuning?: SpokeLoaderTuning;
  mappingSpoke?: { batchSize?: number; concurrency?: number };
}

export interface Harness {
  ctx: LoaderContext;
  loader: Loader;
  http: HttpClient;
  /** Outcome per record, in settle order. */
  outcomes: Map<ContactRecord, LoadOutcome>;
  notes: string[];
  abort: AbortController;
  /** write() every record (awaiting each, as the runner does), then close(). */
  load(records: ContactRecord[]): Promise<void>;
  /** Largest number of written-but-unsettled contacts seen after a write() resolved. */
  maxUnsettled: number;
  outcome(r: ContactRecord): LoadOutcome;
  /** Every record settled exactly once (settle itself rejects a second call). */
  assertAllSettled(records: ContactRecord[]): void;
  close(): void;
}

export function harness(emu: SpokeEmulator, o: HarnessOptions = {}): Harness {
  const env: NodeJS.ProcessEnv = { ...emu.env };
  for (const [k, v] of Object.entries(o.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  const http = new HttpClient({ retry: { attempts: o.attempts ?? 6, baseDelayMs: 5, maxDelayMs: 50 } });
  const outcomes = new Map<ContactRecord, LoadOutcome>();
  const notes: string[] = [];
  const abort = new AbortController();
  const mapping = mappingSchema.parse({ fields: {}, targets: { spoke: o.mappingSpoke ?? {} } });
  const ctx: LoaderContext = {
    env,
    mapping,
    options: { batchSize: o.batchSize, concurrency: o.concurrency, dryRun: o.dryRun ?? false, flags: o.flags ?? {} },
    http,
    log: silentLogger,
    outDir: '/nonexistent-spoke-test-out',
    settle(r, outcome) {
      assert.ok(!outcomes.has(r), `row ${r.ref.row} (id ${r.contact.id}) settled twice: ${JSON.stringify(outcomes.get(r))} then ${JSON.stringify(outcome)}`);
      outcomes.set(r, outcome);
    },
    note(m) { notes.push(m); },
    signal: abort.signal,
  };
  const loader = createSpokeLoader(ctx, o.tuning);
  const h: Harness = {
    ctx, loader, http, outcomes, notes, abort, maxUnsettled: 0,
    async load(records) {
      let written = 0;
      for (const r of records) {
        await loader.write(r);
        written++;
        h.maxUnsettled = Math.max(h.maxUnsettled, written - outcomes.size);
      }
      await loader.close();
    },
    outcome(r) {
      const out = outcomes.get(r);
      assert.ok(out, `row ${r.ref.row} (id ${r.contact.id}) was never settled`);
      return out;
    },
    assertAllSettled(records) {
      for (const r of records) h.outcome(r);
      assert.equal(outcomes.size, records.length, 'outcomes only for written records');
    },
    close() { http.close(); },
  };
  return h;
}

/** Outcomes grouped as status/code -> count, for compact assertions. */
export function tally(h: Harness, records: ContactRecord[]): Record<string, number> {
  const t: Record<string, number> = {};
  for (const r of records) {
    const o = h.outcome(r);
    const k = o.status === 'failed' ? `failed:${o.code}` : `${o.status}:${o.action}`;
    t[k] = (t[k] ?? 0) + 1;
  }
  return t;
}
