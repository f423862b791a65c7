/**
 * A LoaderContext for driving the real samespace loader against the emulator: a real
 * HttpClient with short backoffs, a settle() that fails the test on a second settle of
 * the same record, a temporary report folder, and contact builders.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Contact, ContactRecord } from '../../pipeline/contact.js';
import { emptyContact } from '../../pipeline/contact.js';
import { HttpClient } from '../../pipeline/loaders/http.js';
import type { Loader, LoaderContext, LoadOutcome } from '../../pipeline/loaders/types.js';
import { silentLogger } from '../../pipeline/log.js';
import { mappingSchema, type MappingInput } from '../../pipeline/mapping/schema.js';
import { createSamespaceLoader } from '../../pipeline/loaders/samespace/loader.js';
import type { SamespaceEmulator } from '../emulators/samespace.js';

export interface ContactSpec {
  firstName?: string;
  lastName?: string;
  company?: string;
  phones?: string[];
  emails?: string[];
  custom?: Record<string, string>;
}

let nextRow = 2;

/** A record as the pipeline hands it to a loader; rows are numbered in creation order. */
export function record(spec: ContactSpec): ContactRecord {
  const contact: Contact = {
    ...emptyContact(),
    firstName: spec.firstName,
    lastName: spec.lastName,
    name: [spec.firstName, spec.lastName].filter(Boolean).join(' ') || undefined,
    company: spec.company,
    phones: (spec.phones ?? []).map((e164) => ({ e164 })),
    emails: spec.emails ?? [],
    custom: spec.custom ?? {},
  };
  const row = nextRow++;
  return { contact, ref: { file: 0, row, values: [spec.firstName ?? '', spec.lastName ?? ''] }, merged: [], conflicts: [], notes: [] };
}

/** `n` distinct valid contacts: first/last name, an email and phone unique to the prefix and index. */
export function people(n: number, prefix = 'p'): ContactRecord[] {
  const base = prefix === 'p' ? 0 : 1000 + (hash(prefix) % 7000);
  return Array.from({ length: n }, (_, i) => record({
    firstName: `First${prefix}${i}`,
    lastName: `Last${i}`,
    company: i % 3 === 0 ? 'Acme Ltd' : undefined,
    emails: [`${prefix}${i}@example.com`],
    phones: [`+1415555${String((1000 + base + i) % 10000).padStart(4, '0')}`],
  }));
}

function hash(s: string): number {
  let h = 0;
  for (const ch of s) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return h;
}

/** The mapping fields that feed the standard properties (column names do not matter to a loader). */
export const STANDARD_FIELDS: MappingInput['fields'] = {
  firstName: 'First', lastName: 'Last', company: 'Company', emails: 'Email', phones: 'Phone',
};

export interface HarnessOptions {
  batchSize?: number;
  concurrency?: number;
  dryRun?: boolean;
  flags?: Record<string, unknown>;
  /** Replaces or removes (undefined) variables of the emulator's env. */
  env?: Record<string, string | undefined>;
  attempts?: number;
  fields?: MappingInput['fields'];
  samespace?: NonNullable<MappingInput['targets']>['samespace'];
}

export interface Harness {
  ctx: LoaderContext;
  loader: Loader;
  http: HttpClient;
  outDir: string;
  outcomes: Map<ContactRecord, LoadOutcome>;
  notes: string[];
  abort: AbortController;
  /** open(), write() every record (awaiting each, as the runner does), then close(). */
  load(records: ContactRecord[]): Promise<void>;
  outcome(r: ContactRecord): LoadOutcome;
  /** Every record settled exactly once (settle itself rejects a second call). */
  assertAllSettled(records: ContactRecord[]): void;
  close(): void;
}

export function harness(emu: SamespaceEmulator, o: HarnessOptions = {}): Harness {
  const env: NodeJS.ProcessEnv = { ...emu.env };
  for (const [k, v] of Object.entries(o.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  const http = new HttpClient({ retry: { attempts: o.attempts ?? 6, baseDelayMs: 5, maxDelayMs: 50 } });
  const outcomes = new Map<ContactRecord, LoadOutcome>();
  const notes: string[] = [];
  const abort = new AbortController();
  const outDir = mkdtempSync(join(tmpdir(), 'samespace-loader-'));
  const mapping = mappingSchema.parse({ fields: o.fields ?? STANDARD_FIELDS, targets: { samespace: o.samespace ?? {} } });
  const ctx: LoaderContext = {
    env,
    mapping,
    options: { batchSize: o.batchSize, concurrency: o.concurrency, dryRun: o.dryRun ?? false, flags: o.flags ?? {} },
    http,
    log: silentLogger,
    outDir,
    settle(r, outcome) {
      assert.ok(!outcomes.has(r), `row ${r.ref.row} settled twice: ${JSON.stringify(outcomes.get(r))} then ${JSON.stringify(outcome)}`);
      outcomes.set(r, outcome);
    },
    note(m) { notes.push(m); },
    signal: abort.signal,
  };
  const loader = createSamespaceLoader(ctx);
  const h: Harness = {
    ctx, loader, http, outDir, outcomes, notes, abort,
    async load(records) {
      await loader.open();
      for (const r of records) await loader.write(r);
      await loader.close();
    },
    outcome(r) {
      const out = outcomes.get(r);
      assert.ok(out, `row ${r.ref.row} was never settled`);
      return out;
    },
    assertAllSettled(records) {
      for (const r of records) h.outcome(r);
      assert.equal(outcomes.size, records.length, 'outcomes only for written records');
    },
    close() {
      http.close();
      rmSync(outDir, { recursive: true, force: true });
    },
  };
  return h;
}

/** Outcomes grouped as status:action or failed:code -> count, for compact assertions. */
export function tally(h: Harness, records: ContactRecord[]): Record<string, number> {
  const t: Record<string, number> = {};
  for (const r of records) {
    const o = h.outcome(r);
    const k = o.status === 'failed' ? `failed:${o.code}` : `${o.status}:${o.action}`;
    t[k] = (t[k] ?? 0) + 1;
  }
  return t;
}
