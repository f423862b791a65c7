/**
 * A LoaderContext for driving the real genesys loader against the emulator: a real
 * HttpClient with short backoffs, a settle() that fails the test on a second settle of
 * the same record, and contact builders.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { emptyContact, type ContactRecord } from '../../pipeline/contact.js';
import { HttpClient } from '../../pipeline/loaders/http.js';
import type { Loader, LoaderContext, LoadOutcome } from '../../pipeline/loaders/types.js';
import { silentLogger } from '../../pipeline/log.js';
import { mappingSchema } from '../../pipeline/mapping/schema.js';
import { createGenesysLoader } from '../../pipeline/loaders/genesys/loader.js';
import type { GenesysEmulator } from '../emulators/genesys.js';

let nextRow = 2;

/** A record as the pipeline hands it to a loader; rows are numbered in creation order. */
export function record(name: string | undefined, ...phones: string[]): ContactRecord {
  const row = nextRow++;
  return {
    contact: { ...emptyContact(), name, phones: phones.map((e164) => ({ e164 })) },
    ref: { file: 0, row, values: [name ?? '', phones.join(';')] },
    merged: [],
    conflicts: [],
    notes: [],
  };
}

/** `n` contacts "Customer <prefix>-i" with distinct +1 415 555 2xxx numbers. */
export function customers(n: number, prefix = 'A', first = 2000): ContactRecord[] {
  return Array.from({ length: n }, (_, i) => record(`Customer ${prefix}-${i}`, `+1415555${first + i}`));
}

export interface HarnessOptions {
  concurrency?: number;
  /** mapping.targets.genesys.concurrency */
  mappingConcurrency?: number;
  defaultCountry?: string;
  dryRun?: boolean;
  /** Replaces or removes (undefined) variables of the emulator's env. */
  env?: Record<string, string | undefined>;
  attempts?: number;
}

export interface Harness {
  ctx: LoaderContext;
  loader: Loader;
  http: HttpClient;
  outcomes: Map<ContactRecord, LoadOutcome>;
  notes: string[];
  abort: AbortController;
  /** The report folder (a fresh temporary one). */
  outDir: string;
  /** open(), write() every record (awaiting each, as the runner does), then close(). */
  load(records: ContactRecord[]): Promise<void>;
  outcome(r: ContactRecord): LoadOutcome;
  /** Every record settled exactly once (settle itself rejects a second call). */
  assertAllSettled(records: ContactRecord[]): void;
  close(): void;
}

export function harness(emu: GenesysEmulator, o: HarnessOptions = {}): Harness {
  const env: NodeJS.ProcessEnv = { ...emu.env };
  for (const [k, v] of Object.entries(o.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  const http = new HttpClient({ retry: { attempts: o.attempts ?? 6, baseDelayMs: 5, maxDelayMs: 50 } });
  const outcomes = new Map<ContactRecord, LoadOutcome>();
  const notes: string[] = [];
  const abort = new AbortController();
  const outDir = mkdtempSync(path.join(tmpdir(), 'genesys-test-'));
  const mapping = mappingSchema.parse({
    fields: {},
    phone: o.defaultCountry ? { defaultCountry: o.defaultCountry } : undefined,
    targets: { genesys: o.mappingConcurrency ? { concurrency: o.mappingConcurrency } : {} },
  });
  const ctx: LoaderContext = {
    env,
    mapping,
    options: { concurrency: o.concurrency, dryRun: o.dryRun ?? false, flags: {} },
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
  const loader = createGenesysLoader(ctx);
  const h: Harness = {
    ctx, loader, http, outcomes, notes, abort, outDir,
    async load(records) {
      await loader.open();
      for (const r of records) await loader.write(r);
      await loader.close();
    },
    outcome(r) {
      const out = outcomes.get(r);
      assert.ok(out, `row ${r.ref.row} (${r.contact.name}) was never settled`);
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
