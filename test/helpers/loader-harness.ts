/**
 * A LoaderContext for driving a real loader against its emulator, shared by the
 * per-target harnesses: a real HttpClient with short backoffs, the emulator's env with
 * per-test overrides, a settle() that records every outcome and fails the test on a
 * second settle of the same record, and a fresh report folder.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ContactRecord } from '../../pipeline/contact.js';
import { HttpClient } from '../../pipeline/loaders/http.js';
import type { Loader, LoaderContext, LoadOutcome } from '../../pipeline/loaders/types.js';
import { silentLogger } from '../../pipeline/log.js';
import type { Mapping } from '../../pipeline/mapping/schema.js';

export interface BaseHarnessOptions {
  batchSize?: number;
  concurrency?: number;
  dryRun?: boolean;
  flags?: Record<string, unknown>;
  /** Replaces or removes (undefined) variables of the emulator's env. */
  env?: Record<string, string | undefined>;
  attempts?: number;
}

export interface LoaderHarness {
  ctx: LoaderContext;
  loader: Loader;
  http: HttpClient;
  /** The report folder (a fresh temporary one). */
  outDir: string;
  /** Outcome per record, in settle order. */
  outcomes: Map<ContactRecord, LoadOutcome>;
  notes: string[];
  abort: AbortController;
  /** write() every record (awaiting each, as the runner does), then close(); open() first unless told not to. */
  load(records: ContactRecord[]): Promise<void>;
  /** Largest number of written-but-unsettled contacts seen after a write() resolved. */
  maxUnsettled: number;
  outcome(r: ContactRecord): LoadOutcome;
  /** Every record settled exactly once (settle itself rejects a second call). */
  assertAllSettled(records: ContactRecord[]): void;
  close(): void;
}

const label = (r: ContactRecord) => `row ${r.ref.row} (${r.contact.id ? `id ${r.contact.id}` : r.contact.name ?? 'no name'})`;

export function loaderHarness(emulatorEnv: NodeJS.ProcessEnv, o: BaseHarnessOptions & {
  mapping: Mapping;
  create: (ctx: LoaderContext) => Loader;
  /** false when the tests call open() themselves (to assert on it). */
  openOnLoad?: boolean;
}): LoaderHarness {
  const env: NodeJS.ProcessEnv = { ...emulatorEnv };
  for (const [k, v] of Object.entries(o.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  const http = new HttpClient({ retry: { attempts: o.attempts ?? 6, baseDelayMs: 5, maxDelayMs: 50 } });
  const outcomes = new Map<ContactRecord, LoadOutcome>();
  const notes: string[] = [];
  const abort = new AbortController();
  const outDir = mkdtempSync(join(tmpdir(), 'loader-test-'));
  const ctx: LoaderContext = {
    env,
    mapping: o.mapping,
    options: { batchSize: o.batchSize, concurrency: o.concurrency, dryRun: o.dryRun ?? false, flags: o.flags ?? {} },
    http,
    log: silentLogger,
    outDir,
    settle(r, outcome) {
      assert.ok(!outcomes.has(r), `${label(r)} settled twice: ${JSON.stringify(outcomes.get(r))} then ${JSON.stringify(outcome)}`);
      outcomes.set(r, outcome);
    },
    note(m) { notes.push(m); },
    signal: abort.signal,
  };
  const loader = o.create(ctx);
  const h: LoaderHarness = {
    ctx, loader, http, outDir, outcomes, notes, abort, maxUnsettled: 0,
    async load(records) {
      if (o.openOnLoad !== false) await loader.open();
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
      assert.ok(out, `${label(r)} was never settled`);
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

/**
 * A target's withEmulator(emulatorOptions, harnessOptions, body): starts the emulator and a
 * harness on it for the body, and closes both afterwards whatever happens.
 */
export function emulatorScope<O, E extends { close(): Promise<void> }, HO, H extends { close(): void }>(
  start: (o: O) => Promise<E>,
  harness: (emu: E, ho: HO) => H,
) {
  return async (o: O, ho: HO, body: (emu: E, h: H) => Promise<void>): Promise<void> => {
    const emu = await start(o);
    const h = harness(emu, ho);
    try {
      await body(emu, h);
    } finally {
      h.close();
      await emu.close();
    }
  };
}

/** Outcomes grouped as status:action or failed:code -> count, for compact assertions. */
export function tally(h: LoaderHarness, records: ContactRecord[]): Record<string, number> {
  const t: Record<string, number> = {};
  for (const r of records) {
    const o = h.outcome(r);
    const k = o.status === 'failed' ? `failed:${o.code}` : `${o.status}:${o.action}`;
    t[k] = (t[k] ?? 0) + 1;
  }
  return t;
}

/** Small deterministic string hash for spreading test phone numbers. */
export function hashString(s: string): number {
  let h = 0;
  for (const ch of s) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return h;
}
