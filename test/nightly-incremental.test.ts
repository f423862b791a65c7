/**
 * Nightly full exports into Spoke (issue #8), through the built CLI against the Spoke
 * emulator: the same file twice, the same data in a new file, one changed contact, a run
 * killed with SIGKILL and started again, and --mirror with its mass-delete guard.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSpokeEmulator, type SpokeEmulator } from './emulators/spoke.js';
import { BIN, ROOT, assertInvariant, readReportCsv, readSummary, runCli, tempDir } from './helpers/cli.js';
import { nightly, assertSkipped, assertAllUnchanged, assertGuarded } from './helpers/nightly.js';

const tmp = tempDir('nightly-');
after(() => tmp.cleanup());

interface Row { id: string; name: string; phone: string; owner: string }

function people(n: number, owners = ['maria@ourco.example', 'james@ourco.example']): Row[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `C-${i}`, name: `Person ${i}`, phone: `+1415555${String(i).padStart(4, '0')}`, owner: owners[i % owners.length],
  }));
}

const n = nightly<Row>({
  dir: tmp.path, target: 'spoke', header: ['External ID', 'Name', 'Phone', 'Owner'], cells: (r) => [r.id, r.name, r.phone, r.owner],
  mapping: ['fields:', '  id: External ID', '  name: Name', '  phones: Phone', '  owner: Owner', 'phone:', '  defaultCountry: US'],
});
const MAPPING = n.mapping;
const csv = n.csv;
const load = (emu: SpokeEmulator, state: string, file: string, args: string[] = []) => n.load(emu.env, state, file, args);

const stored = (emu: SpokeEmulator) => [...emu.state.phonebooks.values()].reduce((a, pb) => a + pb.size, 0);
const putIds = (emu: SpokeEmulator) => emu.requests('PUT /phonebooks/:email/contacts').flatMap((r) => r.ids ?? []);

test('same file twice: skipped with exit 0 and zero requests; same data in a new file: all unchanged, zero requests; one change sends one contact', async () => {
  const emu = await startSpokeEmulator({ seed: 3 });
  const state = join(tmp.path, 'state-incremental.db');
  try {
    const rows = people(60);
    const first = csv(rows);
    const r1 = await load(emu, state, first);
    assert.equal(r1.code, 0, r1.stderr);
    assert.equal(stored(emu), 60);

    // A scheduler delivers the same file again.
    const before = emu.state.counts.requests;
    const r2 = await load(emu, state, first);
    assert.equal(emu.state.counts.requests, before, 'not even a token request');
    assertSkipped(r2, r1, 'spoke');

    // The same contacts in another file (another order, so another checksum): nothing is sent.
    const reordered = csv([...rows].reverse());
    const r3 = await load(emu, state, reordered);
    assert.equal(emu.state.counts.requests, before, 'an unchanged export makes no request');
    assertAllUnchanged(r3, 60, r1);

    // One contact changes: exactly that one is sent.
    const changed = rows.map((r) => (r.id === 'C-17' ? { ...r, name: 'Person Seventeen' } : r));
    const putsBefore = putIds(emu).length;
    const r4 = await load(emu, state, csv(changed));
    assert.equal(r4.code, 0, r4.stderr);
    assert.deepEqual(putIds(emu).slice(putsBefore), ['C-17']);
    assert.deepEqual(assertInvariant(r4.out).counts, { read: 60, success: 1, failed: 0, merged: 0, unchanged: 59 });
    assert.equal(emu.state.phonebooks.get('james@ourco.example')!.get('C-17')!.name, 'Person Seventeen');

    // --force reads a loaded file again (and still sends only what changed: nothing).
    const r5 = await load(emu, state, first, ['--force']);
    assert.equal(r5.code, 0, r5.stderr);
    assert.deepEqual(assertInvariant(r5.out).counts, { read: 60, success: 1, failed: 0, merged: 0, unchanged: 59 },
      'C-17 goes back to its old name');
  } finally {
    await emu.close();
  }
});

test('a run killed with SIGKILL mid-load, started again with the same command, sends only what was not confirmed', async () => {
  const n = 600;
  const batch = 20;
  const concurrency = 2;
  const emu = await startSpokeEmulator({ seed: 5, faults: { latencyMs: 60 } });
  const state = join(tmp.path, 'state-kill.db');
  const rows = people(n, ['a@ourco.example', 'b@ourco.example', 'c@ourco.example']);
  const file = csv(rows);
  const args = (out: string) => [BIN, 'run', file, '-m', MAPPING, '--target', 'spoke', '--out', out, '--quiet',
    '--batch-size', String(batch), '--concurrency', String(concurrency)];
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, ...emu.env, CONTACT_IMPORT_STATE: state };
  try {
    const out1 = join(tmp.path, 'killed');
    const child = spawn(process.execPath, args(out1), { cwd: ROOT, env, stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((res) => child.on('exit', (_code, sig) => res(sig)));
    while (emu.requests('PUT /phonebooks/:email/contacts').length < 8) await new Promise((r) => setTimeout(r, 5));
    child.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL');
    const sentBeforeKill = putIds(emu);
    assert.ok(sentBeforeKill.length > 0 && sentBeforeKill.length < n, `killed mid-load (${sentBeforeKill.length} sent)`);
    const killed = JSON.parse(readFileSync(join(out1, 'summary.json'), 'utf8')) as { runId: string; status: string };
    assert.equal(killed.status, 'running', 'the killed run left a report folder that says it never finished');

    // The scheduler runs the same command again.
    const out2 = join(tmp.path, 'resumed');
    const r = await runCli(args(out2).slice(1), { env });
    assert.equal(r.code, 0, r.stderr);

    // The emulator holds exactly the file's contacts, once each.
    assert.equal(stored(emu), n);
    for (const row of rows) {
      const c = emu.state.phonebooks.get(row.owner)?.get(row.id);
      assert.ok(c, `${row.id} landed`);
      assert.equal(c.name, row.name);
      assert.equal(c.phone, row.phone);
    }
    // Nothing sent twice beyond the batches in flight at the kill.
    const all = putIds(emu);
    const resent = all.length - new Set(all).size;
    assert.ok(resent <= batch * concurrency, `${resent} contacts sent twice; at most ${batch * concurrency} were in flight`);

    // The two reports account for every row: what the second run sent, and what it found
    // already confirmed to the killed run.
    const s2 = assertInvariant(out2);
    assert.equal(s2.counts.read, n);
    assert.equal(s2.counts.success + s2.counts.unchanged, n);
    const resumed = (s2 as { state?: { resumedAfter?: { runId: string }[] } }).state?.resumedAfter ?? [];
    assert.deepEqual(resumed.map((x) => x.runId), [killed.runId]);
    const unchanged = readReportCsv(out2, 'unchanged.csv');
    assert.ok(unchanged.every((u) => u.loaded_by_run === killed.runId), 'what was not resent was confirmed to the killed run');
    const ids = new Set([...readReportCsv(out2, 'success.csv').map((x) => x.target_id), ...unchanged.map((u) => u.target_id)]);
    assert.equal(ids.size, n);
    assert.ok(unchanged.length >= sentBeforeKill.length - batch * concurrency, 'the confirmed batches were not sent again');
    assert.ok(s2.notes.some((x) => x.includes(killed.runId) && /stopped without finishing/.test(x)));
  } finally {
    await emu.close();
  }
});

test('--mirror: a truncated file deletes nothing and says why; --allow-mass-delete deletes; contacts the tool did not create survive', async () => {
  const emu = await startSpokeEmulator({ seed: 9 });
  const state = join(tmp.path, 'state-mirror.db');
  try {
    const rows = people(100); // 50 for maria, 50 for james
    assert.equal((await load(emu, state, csv(rows))).code, 0);
    // A contact someone else put in james's phonebook: contact-import never loaded it.
    emu.state.phonebooks.get('james@ourco.example')!.set('CRM-OTHER', { id: 'CRM-OTHER', name: 'Not ours', managedBy: 'system' });

    // Two of maria's contacts left the export (4%): they are deleted. C-4's row is still
    // there but fails (its phone is garbage): it is not deleted.
    const fewer = rows.filter((r) => r.id !== 'C-0' && r.id !== 'C-2');
    const r1 = await load(emu, state, csv(fewer.map((r) => (r.id === 'C-4' ? { ...r, phone: '555-CALL-NOW' } : r))), ['--mirror']);
    assert.equal(r1.code, 1, r1.stderr);
    assert.deepEqual(readReportCsv(r1.out, 'failed.csv').map((f) => f['External ID']), ['C-4']);
    assert.ok(emu.state.phonebooks.get('maria@ourco.example')!.has('C-4'), 'a row that failed still protects its contact');
    const d1 = readReportCsv(r1.out, 'deleted.csv');
    assert.deepEqual(d1.map((d) => [d.scope, d.key, d.status]).sort(), [
      ['maria@ourco.example', 'C-0', 'deleted'], ['maria@ourco.example', 'C-2', 'deleted']]);
    assert.deepEqual(emu.requests('DELETE /phonebooks/:email/contacts/:id').map((q) => q.rawPath).sort(),
      ['/phonebooks/maria%40ourco.example/contacts/C-0', '/phonebooks/maria%40ourco.example/contacts/C-2']);
    assert.equal(emu.state.phonebooks.get('maria@ourco.example')!.size, 48);
    const s1 = assertInvariant(r1.out);
    assert.equal((s1 as { deletes?: { deleted: number } }).deletes?.deleted, 2);

    // A truncated file: james would lose 40 of 50. Nothing is deleted there, exit 1, and the report says why.
    const truncated = fewer.filter((r) => r.owner === 'maria@ourco.example' || Number(r.id.slice(2)) < 20);
    const r2 = await load(emu, state, csv(truncated), ['--mirror']);
    assertGuarded(r2, { scope: 'james@ourco.example', absent: 40, contacts: 50 });
    assert.match(r2.stdout, /40 of 50 contacts \(80%\)/);
    assert.equal(assertInvariant(r2.out).counts.failed, 0, 'the rows themselves all loaded');
    assert.equal(emu.requests('DELETE /phonebooks/:email/contacts/:id').length, 2, 'no new DELETE');
    assert.equal(emu.state.phonebooks.get('james@ourco.example')!.size, 51);
    assert.ok(existsSync(join(r2.out, 'report.html')));
    assert.match(readFileSync(join(r2.out, 'report.html'), 'utf8'), /Deleted contacts/);

    // The user checked: the deletes are right.
    const r3 = await load(emu, state, csv(truncated), ['--mirror', '--allow-mass-delete']);
    assert.equal(r3.code, 0, r3.stdout + r3.stderr);
    assert.equal(emu.requests('DELETE /phonebooks/:email/contacts/:id').length, 42);
    const james = emu.state.phonebooks.get('james@ourco.example')!;
    assert.equal(james.size, 11);
    assert.ok(james.has('CRM-OTHER'), 'a contact the tool did not create is never deleted');

    // Deleted contacts are gone from the state store: the same file again deletes nothing more.
    const r4 = await load(emu, state, csv(truncated), ['--mirror']);
    assert.equal(r4.code, 0, r4.stderr);
    assert.equal(emu.requests('DELETE /phonebooks/:email/contacts/:id').length, 42);
    assert.ok(!existsSync(join(r4.out, 'deleted.csv')) || readReportCsv(r4.out, 'deleted.csv').length === 0);
  } finally {
    await emu.close();
  }
});

test('a second run on the same state store while one is loading is refused with a clear message; the first is unharmed', async () => {
  // 40 PUTs of 150 ms one after the other: the first run holds the store for about 6 s,
  // far longer than the second one takes to start, even on a loaded machine.
  const emu = await startSpokeEmulator({ seed: 11, faults: { latencyMs: 150 } });
  const state = join(tmp.path, 'state-lock.db');
  try {
    const rows = people(400);
    let firstDone = false;
    const first = load(emu, state, csv(rows), ['--batch-size', '10', '--concurrency', '1']).finally(() => { firstDone = true; });
    while (emu.requests('PUT /phonebooks/:email/contacts').length < 2) await new Promise((r) => setTimeout(r, 5));
    const second = await load(emu, state, csv(people(5, ['x@ourco.example'])));
    assert.equal(firstDone, false, 'the first run was still loading when the second was refused');
    assert.equal(second.code, 3, second.stdout + second.stderr);
    assert.match(second.stderr, /LOCKED/);
    assert.match(second.stderr, /process \d+ on host/);
    assert.doesNotMatch(second.stderr, /at .+\(.+:\d+:\d+\)/, 'no stack trace');
    assert.ok(!emu.state.phonebooks.has('x@ourco.example'), 'the refused run sent nothing');
    const r1 = await first;
    assert.equal(r1.code, 0, r1.stderr);
    assert.equal(stored(emu), 400);
    // Once the first run is over, the store is free again.
    const third = await load(emu, state, csv(people(5, ['x@ourco.example'])));
    assert.equal(third.code, 0, third.stderr);
  } finally {
    await emu.close();
  }
});

test('--log-format json: every line on stderr is one JSON event, the skip and the end of the run included', async () => {
  const emu = await startSpokeEmulator({ seed: 13 });
  const state = join(tmp.path, 'state-json.db');
  try {
    const file = csv(people(12));
    const events = (stderr: string) => stderr.trim().split('\n').map((l) => JSON.parse(l) as { event: string; level: string; time: string; [k: string]: unknown });
    const r1 = await load(emu, state, file, ['--log-format', 'json']);
    assert.equal(r1.code, 0, r1.stderr);
    const e1 = events(r1.stderr);
    assert.ok(e1.every((e) => typeof e.event === 'string' && typeof e.level === 'string' && !Number.isNaN(Date.parse(e.time))));
    const end1 = e1.find((e) => e.event === 'run.finished')!;
    assert.equal(end1.exitCode, 0);
    assert.deepEqual(end1.counts, { read: 12, success: 12, failed: 0, merged: 0, unchanged: 0 });

    const r2 = await load(emu, state, file, ['--log-format', 'json']);
    assert.equal(r2.code, 0, r2.stderr);
    const e2 = events(r2.stderr);
    const skip = e2.find((e) => e.event === 'file.skipped')!;
    assert.equal(skip.loadedBy, readSummary(r1.out).runId);
    assert.equal(e2.find((e) => e.event === 'run.finished')!.status, 'skipped');
    assert.ok(!r2.stderr.includes(emu.env.SPOKE_CLIENT_SECRET), 'no secret in the log');
  } finally {
    await emu.close();
  }
});
