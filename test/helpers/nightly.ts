/**
 * The plumbing the nightly-drop tests share (test/nightly-*.test.ts): export files, a
 * mapping, runs of the built CLI against one state store, and the checks every target
 * must pass the same way (a file delivered twice, an export that did not change).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertInvariant, readReportCsv, readSummary, runCli } from './cli.js';

export interface NightlyRun { code: number; stdout: string; stderr: string; out: string }

export function nightly<R>(o: {
  dir: string;
  target: string;
  header: string[];
  cells: (row: R) => string[];
  /** The mapping, as YAML lines. */
  mapping: string[];
  /** Added to every run (e.g. a short retry delay). */
  args?: string[];
}) {
  let fileN = 0;
  let outN = 0;
  const mapping = join(o.dir, `${o.target}.yaml`);
  writeFileSync(mapping, o.mapping.join('\n') + '\n');
  return {
    mapping,
    /** A new export file (CRLF, as spreadsheets write them); the values need no quoting. */
    csv(rows: readonly R[]): string {
      const path = join(o.dir, `export-${++fileN}.csv`);
      writeFileSync(path, [o.header.join(','), ...rows.map((r) => o.cells(r).join(','))].join('\r\n') + '\r\n');
      return path;
    },
    /** `run <file> --target <target>` with the emulator's environment and this state store. */
    async load(env: Record<string, string>, state: string, file: string, args: string[] = []): Promise<NightlyRun> {
      const out = join(o.dir, `report-${++outN}`);
      const r = await runCli(['run', file, '-m', mapping, '--target', o.target, '--out', out, '--quiet', ...(o.args ?? []), ...args],
        { env: { ...env, CONTACT_IMPORT_STATE: state } });
      return { ...r, out };
    },
  };
}

/** A file delivered again: exit 0, nothing read, and the report names the run that loaded it. */
export function assertSkipped(again: NightlyRun, first: NightlyRun, target: string): void {
  assert.equal(again.code, 0, again.stdout + again.stderr);
  const s = assertInvariant(again.out);
  assert.equal(s.status, 'skipped');
  assert.equal(s.counts.read, 0);
  assert.equal((s as { inputs: { skipped?: { runId: string } }[] }).inputs[0].skipped?.runId, readSummary(first.out).runId);
  assert.match(again.stdout, new RegExp(`already loaded into ${target}`));
  assert.match(again.stdout, /--force/);
}

/** An export whose contacts did not change: every row unchanged, each naming the run that loaded it. */
export function assertAllUnchanged(run: NightlyRun, rows: number, loadedBy: NightlyRun): void {
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.deepEqual(assertInvariant(run.out).counts, { read: rows, success: 0, failed: 0, merged: 0, unchanged: rows });
  const unchanged = readReportCsv(run.out, 'unchanged.csv');
  assert.equal(unchanged.length, rows);
  const runId = readSummary(loadedBy.out).runId;
  assert.ok(unchanged.every((u) => u.loaded_by_run === runId), 'each unchanged row names the run that loaded it');
}

/**
 * A --mirror run stopped by the guard: exit 1, the console and deleted.csv say why and
 * how to go on, nothing deleted in `scope`, and the rows themselves all accounted for.
 */
export function assertGuarded(run: NightlyRun, o: { scope: string; absent: number; contacts: number; counts?: Record<string, number> }): void {
  assert.equal(run.code, 1, run.stdout + run.stderr);
  assert.match(run.stdout, new RegExp(`GUARD: nothing deleted in ${o.scope.replace(/[.+]/g, '\\$&')}: ${o.absent} of ${o.contacts} contacts`));
  assert.match(run.stdout, /--allow-mass-delete/);
  const d = readReportCsv(run.out, 'deleted.csv');
  assert.equal(d.length, o.absent);
  assert.ok(d.every((x) => x.status === 'kept-guard' && x.scope === o.scope && /--max-delete-percent 10/.test(x.reason)), JSON.stringify(d[0]));
  const s = assertInvariant(run.out);
  if (o.counts) assert.deepEqual(s.counts, o.counts, 'the rows themselves all loaded');
  assert.deepEqual((s as { deletes?: { guarded: { scope: string }[] } }).deletes?.guarded.map((g) => g.scope), [o.scope]);
}

/** A --mirror run that deleted `n` contacts, all of them. */
export function assertDeleted(run: NightlyRun, n: number): void {
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assertInvariant(run.out);
  const d = readReportCsv(run.out, 'deleted.csv');
  assert.equal(d.length, n);
  assert.ok(d.every((x) => x.status === 'deleted'), JSON.stringify(d.find((x) => x.status !== 'deleted')));
}

/** A run that finished with every row loaded, merged or unchanged (exit 0), its report adding up. */
export function assertLoaded(run: NightlyRun): ReturnType<typeof assertInvariant> {
  assert.equal(run.code, 0, run.stdout + run.stderr);
  return assertInvariant(run.out);
}
