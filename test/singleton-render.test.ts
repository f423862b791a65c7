/**
 * The second phase's payload worker (pipeline/transforms/singleton-render.ts): the contacts
 * that merged with nothing are rendered on a worker thread byte for byte as the main thread
 * renders them; a worker that breaks fails the chunks it held with a clear message; and a
 * run stopped in the second phase still gives every row one outcome, the contacts reported
 * written being exactly those in the payload files.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import Papa from 'papaparse';
import { join, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, runCli, tempDir, assertInvariant, readReportCsv, reportPageData } from './helpers/cli.js';
import { writeCsv } from './bench/generate.js';
import { prepare, runImport } from '../pipeline/run.js';
import { silentLogger } from '../pipeline/log.js';
import { createBatchProcessor, isEncoded } from '../pipeline/transforms/rows.js';
import { Deduper, RawCluster, dedupeOptionsFrom } from '../pipeline/transforms/dedupe.js';
import { decodePayload } from '../pipeline/transforms/dedupe-entry.js';
import { ChunkRenderer, CLUSTER_SEG, CLUSTER_SEGMENTS, clusterPlan, SEG, SEGMENTS, SingletonRenderer, type RenderedChunk, type SingletonRenderInit } from '../pipeline/transforms/singleton-render.js';
import { FILE_PARTS, fileRenderPlan, renderFileContact, samespaceCsvLine, writtenOutcome, type FileRenderPlan } from '../pipeline/loaders/file/render.js';
import { spokeContact } from '../pipeline/loaders/spoke/payload.js';
import { samespaceRow } from '../pipeline/loaders/samespace/payload.js';
import { genesysContact } from '../pipeline/loaders/genesys/payload.js';
import { talkdeskContact } from '../pipeline/loaders/talkdesk/payload.js';
import { ByteBuilder } from '../pipeline/bytes.js';
import { successFields, successLine } from '../pipeline/report/writer.js';
import { keyName, RowLayout } from '../pipeline/report/row-layout.js';
import type { Contact, ContactRecord } from '../pipeline/contact.js';

const MAPPING = join(ROOT, 'test', 'bench', 'mapping.yaml');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'payload-workers');
const tmp = tempDir('singleton-render-');
after(() => tmp.cleanup());

const generated = join(tmp.path, 'generated-3000-seed9.csv');
before(() => { writeCsv(generated, 3000, 9); });

/** The generated rows deduped (as run.ts feeds dedupe), before any result is read. */
async function fed() {
  const prep = await prepare({ inputs: [generated], mappingPath: MAPPING });
  const m = prep.mapping.mapping;
  const process = createBatchProcessor(m, prep.compiled[0], 0, { keys: m.dedupe.keys, scope: m.dedupe.scope });
  const dedupe = new Deduper({ ...dedupeOptionsFrom(m), tmpDir: tmp.path });
  try {
    for await (const rows of prep.sources[0].rows()) {
      const ok = rows.filter((r) => !r.error);
      const out = process(ok.map((r) => r.values), ok.map((r) => r.row));
      assert.ok(isEncoded(out));
      dedupe.addBatch(out.records);
    }
  } finally {
    for (const s of prep.sources) s.close();
  }
  return { dedupe, m, info: prep.sources[0].info };
}

/** The generated rows deduped; the ids of the records that merged with nothing, the clusters as dedupe hands them out raw. */
async function singletons() {
  const { dedupe, m, info } = await fed();
  const ids: number[] = [];
  const clusters: RawCluster[] = [];
  for await (const items of dedupe.resultItems(true)) for (const x of items) if (typeof x === 'number') ids.push(x); else if (x instanceof RawCluster) clusters.push(x);
  assert.ok(ids.length > 1500 && clusters.length > 100, `most records merged with nothing, some did (${ids.length} / ${clusters.length})`);
  const init: SingletonRenderInit = {
    spillPath: dedupe.spillPath, plan: fileRenderPlan(m, undefined), report: { files: [generated], headers: [{ raw: info.rawHeaders, names: info.headers }] },
    pageCellChars: 1000, merge: { rules: m.dedupe.rules, idFrom: m.dedupe.idFrom },
  };
  return { dedupe, ids, clusters, init };
}

/**
 * The file target's lines for a contact as the network loaders' payload objects give them
 * (JSON.stringify, Papa's quoting), line ends included: what the bytes rendered straight from
 * the contact must equal. undefined where the contact is not in that file.
 */
function expectedParts(c: Contact, plan: FileRenderPlan) {
  return {
    // Each target's required fields (TARGET_REQUIREMENTS): Spoke id, name, owner; Genesys name, phones; Talkdesk id, name.
    spoke: plan.spoke && c.id && c.name && c.owner ? JSON.stringify(spokeContact(c).contact) : undefined,
    samespace: plan.samespace ? `${samespaceCsvLine(samespaceRow(c, plan.cols))}\r\n` : undefined,
    genesys: plan.genesys && c.name && c.phones.length ? `${JSON.stringify({ method: 'POST', path: '/contacts', body: genesysContact(c).body })}\n` : undefined,
    talkdesk: plan.talkdesk && c.id && c.name ? `${JSON.stringify(talkdeskContact(c))}\n` : undefined,
  };
}

/** The notes the file target gives a contact (its success.csv row's). */
function fileNotes(c: Contact, plan: FileRenderPlan): string[] {
  return renderFileContact(c, plan, new ByteBuilder(1024), new Uint32Array(FILE_PARTS), 0).notes;
}

/** The chunk's k-th contact, segment s, as text (undefined where it has none). */
function segment(c: RenderedChunk, k: number, s: number): string | undefined {
  return partText(c.bytes, 0, c.sizes, k * SEGMENTS + s);
}

/** Part `i` of parts laid out from byte `from` of `bytes`, each `sizes[i]` long + 1 (0: absent). */
function partText(bytes: Uint8Array, from: number, sizes: Uint32Array, i: number): string | undefined {
  let at = from;
  for (let j = 0; j < i; j++) if (sizes[j]) at += sizes[j] - 1;
  return sizes[i] ? Buffer.from(bytes.subarray(at, at + sizes[i] - 1)).toString('utf8') : undefined;
}

test('a chunk holds, per contact, what the file target and success.csv write for it, line ends included', async () => {
  const { dedupe, ids, init } = await singletons();
  try {
    const some = ids.slice(0, 300);
    const chunk = new ChunkRenderer(init).render(some.length, (k) => dedupe.payloadOf(some[k]));
    let spokeLess = 0;
    some.forEach((id, k) => {
      const rec = decodePayload(dedupe.payloadOf(id));
      const r = expectedParts(rec.contact, init.plan);
      const o = writtenOutcome(rec.contact.id, fileNotes(rec.contact, init.plan));
      assert.equal(chunk.owners[k], rec.contact.owner ?? '');
      assert.equal(segment(chunk, k, SEG.spoke), r.spoke, `contact ${k}: Spoke JSON, no line end (it joins its owner's batch)`);
      assert.equal(segment(chunk, k, SEG.samespace), r.samespace);
      assert.equal(segment(chunk, k, SEG.genesys), r.genesys);
      assert.equal(segment(chunk, k, SEG.talkdesk), r.talkdesk);
      assert.equal(segment(chunk, k, SEG.success), `${successLine(rec, o, successFields(rec, o, undefined), undefined)}\r\n`);
      if (r.spoke === undefined) spokeLess++;
    });
    // The generated rows include contacts without a phone (no Genesys line) and with notes.
    assert.ok(some.some((_id, k) => segment(chunk, k, SEG.genesys) === undefined), 'a contact without a phone has no Genesys line');
    assert.ok(some.some((_id, k) => /not sent to Spoke/.test(segment(chunk, k, SEG.success)!)), 'a payload note reaches the success.csv row');
    assert.ok(spokeLess < some.length);
  } finally {
    dedupe.close();
  }
});

test('the worker renders byte for byte what the main thread renders, and the main thread renders the chunks the worker has no room for', async () => {
  const { dedupe, ids, init } = await singletons();
  const renderer = new SingletonRenderer({ init, payloadOf: (i) => dedupe.payloadOf(i), maxPending: 1 });
  try {
    const parts: number[][] = [];
    for (let i = 0; i < ids.length; i += 200) parts.push(ids.slice(i, i + 200));
    // Asked all at once: the worker takes one chunk at a time, this thread renders while it is busy.
    const got = (await Promise.all(parts.map((p) => { const r = dedupe.entryRanges(p); return renderer.render(p, r.starts, r.ends); }))).map((h) => h.take());
    assert.ok(renderer.stats.workerChunks > 0 && renderer.stats.helpedChunks > 0, JSON.stringify(renderer.stats));
    parts.forEach((p, i) => {
      const want = new ChunkRenderer(init).render(p.length, (k) => dedupe.payloadOf(p[k]));
      assert.ok(Buffer.from(got[i].bytes).equals(Buffer.from(want.bytes)), `chunk ${i}: bytes`);
      assert.deepEqual([...got[i].sizes], [...want.sizes], `chunk ${i}: sizes`);
      assert.deepEqual(got[i].owners, want.owners, `chunk ${i}: owners`);
    });
    // And once the worker is idle again, it takes the next chunk.
    const before = renderer.stats.workerChunks;
    const r = dedupe.entryRanges(parts[0]);
    const box = await renderer.render(parts[0], r.starts, r.ends);
    const again = box.take();
    assert.throws(() => box.take(), /taken twice/, 'a rendered chunk is handed off once: its promise keeps nothing');
    assert.equal(renderer.stats.workerChunks, before + 1);
    assert.ok(Buffer.from(again.bytes).equals(Buffer.from(got[0].bytes)));
  } finally {
    await renderer.close();
    dedupe.close();
  }
});

/** A record's spill payload as dedupe-entry.ts encodes it, but with phones that are not a list: a bug's stand-in, at `row`. */
const brokenPayload = (row: number) => `${JSON.stringify([{ id: 'C-1', owner: 'ann@ourco.example', name: 'Ann', phones: null, emails: [], websites: [], custom: {} }, 0, row, [], null, -1])}\n[]`;

/** Cluster c's part s of a rendered chunk, as text (undefined where it has none). */
function clusterPart(chunk: RenderedChunk, c: number, s: number): string | undefined {
  return partText(chunk.bytes, chunk.clusters!.from, chunk.clusters!.sizes, c * CLUSTER_SEGMENTS + s);
}

test('clusters rendered by the worker, or here when it has no room: byte for byte the same, from the records the main thread merges', async () => {
  const { dedupe, clusters, init } = await singletons();
  const main = (await fed()).dedupe;
  const renderer = new SingletonRenderer({ init, payloadOf: (i, aside) => dedupe.payloadOf(i, aside), maxPending: 1 });
  try {
    const want: ContactRecord[] = [];
    for await (const batch of main.results()) for (const r of batch) if (r.merged.length) want.push(r);
    assert.equal(want.length, clusters.length);
    assert.ok(want.some((r) => r.conflicts.length) && want.some((r) => r.merged.some((x) => x.key.startsWith('phone='))), 'the clusters have conflicts and phone keys');
    // report.html has room for `cap` more merged rows: it runs out part-way through a cluster's rows.
    const straddled = want.findIndex((r, i) => i > 20 && r.merged.length > 1);
    const cap = want.slice(0, straddled).reduce((a, r) => a + r.merged.length, 0) + 1;
    let room = cap;
    const claim = (n: number) => { const k = Math.min(n, room); room -= k; return k; };
    const parts: RawCluster[][] = [];
    for (let i = 0; i < clusters.length; i += 40) parts.push(clusters.slice(i, i + 40));
    const plans = parts.map((p) => clusterPlan(p, (ids) => dedupe.entryRanges(ids), claim));
    const got = (await Promise.all(plans.map((plan) => renderer.render([], new Float64Array(0), new Float64Array(0), plan)))).map((h) => h.take());
    assert.ok(renderer.stats.workerChunks > 0 && renderer.stats.helpedChunks > 0, JSON.stringify(renderer.stats));
    const here = new ChunkRenderer(init);
    got.forEach((chunk, i) => {
      const mine = here.render(0, () => '', { plan: plans[i].plan, payloadOf: (f) => dedupe.payloadOf(plans[i].ids[f], true) });
      assert.ok(Buffer.from(chunk.bytes).equals(Buffer.from(mine.bytes)), `chunk ${i}: bytes`);
      assert.deepEqual(chunk.clusters, mine.clusters, `chunk ${i}: sizes, owners, counts, key names, conflicts`);
    });

    // What the file target and the report write for the records dedupe merged on the main thread.
    const layout = new RowLayout(init.report);
    const chunks = got.flatMap((chunk) => chunk.clusters!.owners.map((_o, c) => ({ chunk, c })));
    assert.equal(chunks.length, want.length);
    let embedded = 0;
    chunks.forEach(({ chunk, c }, i) => {
      const rec = want[i];
      const cl = chunk.clusters!;
      const o = writtenOutcome(rec.contact.id, fileNotes(rec.contact, init.plan));
      const f = successFields(rec, o, undefined);
      const id = rec.contact.id ?? '';
      const where = `cluster ${i} (row ${rec.ref.row})`;
      assert.equal(clusterPart(chunk, c, CLUSTER_SEG.talkdesk), expectedParts(rec.contact, init.plan).talkdesk, `${where}: the merged contact`);
      assert.equal(clusterPart(chunk, c, CLUSTER_SEG.success), `${successLine(rec, o, f, undefined)}\r\n`, `${where}: success.csv`);
      assert.equal(clusterPart(chunk, c, CLUSTER_SEG.merged), rec.merged.map((m) => `${layout.mergedLine(m.ref, rec.ref, id, m.key, 'pipeline')}\r\n`).join(''), `${where}: merged.csv`);
      assert.equal(cl.keysAt[c + 1] - cl.keysAt[c], rec.merged.length);
      assert.deepEqual(cl.keyNames.slice(cl.keysAt[c], cl.keysAt[c + 1]), rec.merged.map((m) => keyName(m.key)), `${where}: key names`);
      assert.deepEqual(cl.conflicts.slice(cl.conflictsAt[c], cl.conflictsAt[c + 1]), rec.conflicts.map((x) => ({ row: rec.ref.row, ...x })), `${where}: conflicts`);
      // The page's rows: as many merged rows as were claimed, and then the contact beside them.
      const k = cl.embedded[c];
      assert.equal(k, Math.min(rec.merged.length, cap - embedded), `${where}: rows embedded`);
      embedded += k;
      const page = clusterPart(chunk, c, CLUSTER_SEG.mergedPage);
      assert.deepEqual(page === undefined ? [] : JSON.parse(`[${page}]`),
        rec.merged.slice(0, k).map((m) => layout.mergedPageCells(m.ref, rec.ref, id, m.key, 'pipeline')), `${where}: merged rows in the page`);
      const kept = clusterPart(chunk, c, CLUSTER_SEG.keptPage);
      assert.deepEqual(kept === undefined ? undefined : JSON.parse(kept), k ? layout.survivorPageCells(rec, o, f) : undefined, `${where}: the kept contact in the page`);
    });
    assert.equal(embedded, cap);
    assert.equal(chunks[straddled].chunk.clusters!.embedded[chunks[straddled].c], 1, 'the page embeds the first row of the cluster it runs out in');
  } finally {
    await renderer.close();
    dedupe.close();
    main.close();
  }
});

test('a cluster whose merging throws (a bug) stops the chunk with an error naming its first row', async () => {
  const { dedupe, ids, init } = await singletons();
  try {
    const payloads = [dedupe.payloadOf(ids[0]), brokenPayload(9)];
    const first = decodePayload(payloads[0]).ref.row;
    const plan = { sizes: Int32Array.of(2), members: Int32Array.of(2), embed: Int32Array.of(1), via: Int32Array.of(-1, 0), codes: Int32Array.of(0, 0), starts: new Float64Array(2), ends: new Float64Array(2) };
    assert.throws(() => new ChunkRenderer(init).render(0, () => '', { plan, payloadOf: (f) => payloads[f] }),
      (e: Error) => e.message.startsWith(`merging the duplicates of ${generated} row ${first} failed: `));
  } finally {
    dedupe.close();
  }
});

test('a contact whose rendering throws (a bug) stops the chunk with an error naming its file and row', async () => {
  const { dedupe, ids, init } = await singletons();
  try {
    const payloads = [dedupe.payloadOf(ids[0]), brokenPayload(7)];
    assert.throws(() => new ChunkRenderer(init).render(2, (k) => payloads[k]),
      (e: Error) => e.message.startsWith(`writing the contact of ${generated} row 7 failed: `) && e instanceof Error);
  } finally {
    dedupe.close();
  }
});

test('a payload worker that dies: the chunks it held and every later one are rendered in the main thread, byte for byte, and the caller is told once', async () => {
  const { dedupe, ids, init } = await singletons();
  const lost: string[] = [];
  const renderer = new SingletonRenderer({
    init, payloadOf: (i) => dedupe.payloadOf(i), workerUrl: pathToFileURL(join(FIXTURES, 'exits-on-first-chunk.mjs')),
    onWorkerLost: (m) => lost.push(m),
  });
  try {
    const parts = [ids.slice(0, 50), ids.slice(50, 100), ids.slice(100, 150)];
    const got = (await Promise.all(parts.map((p) => { const r = dedupe.entryRanges(p); return renderer.render(p, r.starts, r.ends); }))).map((h) => h.take());
    const later = dedupe.entryRanges(ids.slice(150, 200));
    got.push((await renderer.render(ids.slice(150, 200), later.starts, later.ends)).take());
    parts.push(ids.slice(150, 200));
    parts.forEach((p, i) => {
      const want = new ChunkRenderer(init).render(p.length, (k) => dedupe.payloadOf(p[k]));
      assert.ok(Buffer.from(got[i].bytes).equals(Buffer.from(want.bytes)), `chunk ${i}: bytes`);
      assert.deepEqual([...got[i].sizes], [...want.sizes]);
    });
    assert.deepEqual(lost, ['the payload worker thread exited unexpectedly (exit code 7)']);
    assert.equal(renderer.stats.workerChunks, 3, 'the three chunks asked at once went to the worker');
    assert.equal(renderer.stats.helpedChunks, 4, 'they, and the one asked after it died, were rendered here');
  } finally {
    await renderer.close();
    dedupe.close();
  }
});

test('a payload worker with a bug (it answers with an error): its chunk fails with a message that says so, and so does every later one', async () => {
  const { dedupe, ids, init } = await singletons();
  const renderer = new SingletonRenderer({ init, payloadOf: (i) => dedupe.payloadOf(i), workerUrl: pathToFileURL(join(FIXTURES, 'answers-with-error.mjs')) });
  const message = /^the payload worker failed: cannot read properties of undefined \(reading 'e164'\)$/;
  try {
    const r = dedupe.entryRanges(ids.slice(0, 10));
    await assert.rejects(renderer.render(ids.slice(0, 10), r.starts, r.ends), (e: Error) => message.test(e.message));
    const r2 = dedupe.entryRanges(ids.slice(10, 20));
    await assert.rejects(renderer.render(ids.slice(10, 20), r2.starts, r2.ends), (e: Error) => message.test(e.message), 'a broken worker is not asked again');
  } finally {
    await renderer.close();
    dedupe.close();
  }
});

// Stopped while the second phase is under way, with the payload worker (workers 1) and
// without it (0): every row read has one outcome, and what success.csv calls written is
// exactly what the payload files hold.
for (const workers of ['1', '0']) for (const how of ['interrupted', 'a bug'] as const) {
  test(`${how} in the second phase (CONTACT_IMPORT_WORKERS=${workers}): every row accounted for, the payload files hold exactly the contacts reported written`, async () => {
    const file = join(tmp.path, 'second-phase-9000.csv');
    writeCsv(file, 9000, 4);
    const out = join(tmp.path, `second-phase-${workers}-${how.replace(' ', '-')}`);
    const ctl = new AbortController();
    let readAll = 0;
    const r = await runImport({
      command: 'run', inputs: [file], mappingPath: MAPPING, target: 'file', dryRun: false, outDir: out,
      env: { CONTACT_IMPORT_WORKERS: workers }, log: silentLogger, signal: ctl.signal,
      onProgress: (p) => {
        if (p.rows !== 9000 || ++readAll !== 20) return;
        // Some contacts are written by now, most are not.
        if (how === 'a bug') throw new TypeError('cannot read properties of undefined (reading \'e164\')');
        ctl.abort();
      },
    });
    assert.equal(r.exitCode, 3);
    const s = assertInvariant(out);
    assert.equal(s.status, how === 'a bug' ? 'aborted' : 'interrupted');
    assert.equal(s.counts.read, 9000);
    assert.ok(s.counts.success > 300, `some contacts were written (${s.counts.success})`);
    const notSent = readReportCsv(out, 'failed.csv').filter((f) => f._code === 'NOT_SENT');
    assert.ok(notSent.length > 1000, `the rest is NOT_SENT (${notSent.length})`);
    assert.equal(readReportCsv(out, 'success.csv').length, s.counts.success);
    const payloads = join(out, 'payloads');
    const jsonl = (f: string) => readFileSync(join(payloads, f), 'utf8').split('\n').filter(Boolean);
    const written = readReportCsv(out, 'success.csv');
    const noted = (f: string) => written.filter((row) => row.notes.includes(`not in ${f}:`)).length;
    assert.ok(noted('talkdesk.jsonl') > 0, 'some rows have no id: Talkdesk leaves them out');
    assert.equal(jsonl('talkdesk.jsonl').length, s.counts.success - noted('talkdesk.jsonl'), 'talkdesk.jsonl: every contact written but those noted as left out, and no other');
    const inSpoke = jsonl('spoke.jsonl').reduce((a, l) => a + JSON.parse(l).body.contacts.length, 0);
    assert.equal(inSpoke, s.counts.success - noted('spoke.jsonl'), 'spoke.jsonl: every contact written but those noted as left out');
  });
}

test('--formats with the payload worker: the same report and payload files as without it', async () => {
  const file = join(tmp.path, 'formats-6000.csv');
  writeCsv(file, 6000, 8);
  const outs: string[] = [];
  for (const w of ['1', '0']) {
    const out = join(tmp.path, `formats-w${w}`);
    const r = await runCli(['run', file, '--mapping', MAPPING, '--formats', 'spoke', 'samespace', '--out', out, '--quiet'], { env: { CONTACT_IMPORT_WORKERS: w } });
    assert.equal(r.code, 1, `workers=${w}: some generated rows fail, so exit 1\n${r.stderr}`);
    outs.push(out);
  }
  const files = (dir: string) => (readdirSync(dir, { recursive: true }) as string[]).map((f) => f.split(sep).join('/'))
    .filter((f) => /\.(csv|jsonl)$/.test(f) && statSync(join(dir, f)).isFile()).sort();
  assert.deepEqual(files(outs[0]), files(outs[1]));
  assert.ok(files(outs[0]).includes('payloads/spoke.jsonl') && !files(outs[0]).includes('payloads/genesys.jsonl'), files(outs[0]).join(' '));
  for (const f of files(outs[0])) assert.ok(readFileSync(join(outs[0], f)).equals(readFileSync(join(outs[1], f))), `${f} differs with and without the payload worker`);
});

test('two inputs, duplicates across them, long cells, report.html full part-way through a contact\'s merged rows: the same report with the payload worker as without it', async () => {
  // The second input repeats rows of the first (merged across files, _merged_into_file) with
  // its columns in another order (the report's union layout), 1,200-character notes (cut in
  // the page's merged rows) and long company names (a conflict cut in the page's kept row).
  const first = join(tmp.path, 'across-a.csv');
  writeCsv(first, 4000, 11);
  const rows = Papa.parse<string[]>(readFileSync(first, 'utf8'), { skipEmptyLines: true }).data;
  const header = rows[0];
  const order = [header.indexOf('Notes'), ...header.map((_h, i) => i).filter((i) => header[i] !== 'Notes')];
  const again = rows.slice(1, 1501).map((r, i) => {
    const row = [...r];
    if (i % 5 === 0) row[header.indexOf('Notes')] = `${'N'.repeat(1200)} ${i}`;
    if (i % 9 === 0) row[header.indexOf('Company')] = `${'C'.repeat(1100)} ${i}`;
    return order.map((k) => row[k]);
  });
  const second = join(tmp.path, 'across-b.csv');
  writeFileSync(second, Papa.unparse([order.map((k) => header[k]), ...again]) + '\n');

  const run = async (out: string, workers: string, htmlMaxRows?: number) => {
    const r = await runImport({
      command: 'run', inputs: [first, second], mappingPath: MAPPING, target: 'file', dryRun: false, outDir: out,
      env: { CONTACT_IMPORT_WORKERS: workers }, log: silentLogger, htmlMaxRows,
    });
    assert.equal(r.exitCode, 1, 'some generated rows fail');
    assertInvariant(out);
    return out;
  };
  // The page's limit falls inside the merged rows of one contact, past the 300th row.
  const merged = readReportCsv(await run(join(tmp.path, 'across-probe'), '0'), 'merged.csv');
  const into = (i: number) => `${merged[i]._merged_into_file}:${merged[i]._merged_into_row}`;
  const cap = merged.findIndex((_m, i) => i > 300 && into(i) === into(i - 1));
  assert.ok(cap > 0, 'a contact with several merged rows past the 300th');
  const outs = [await run(join(tmp.path, 'across-w1'), '1', cap), await run(join(tmp.path, 'across-w0'), '0', cap)];
  const files = (dir: string) => (readdirSync(dir, { recursive: true }) as string[]).map((f) => f.split(sep).join('/'))
    .filter((f) => statSync(join(dir, f)).isFile() && f !== 'report.html' && f !== 'summary.json').sort();
  assert.deepEqual(files(outs[0]), files(outs[1]));
  for (const f of files(outs[0])) assert.ok(readFileSync(join(outs[0], f)).equals(readFileSync(join(outs[1], f))), `${f} differs with and without the payload worker`);

  const page = reportPageData(outs[0]);
  assert.deepEqual(page, reportPageData(outs[1]), 'report.html: the same tables of rows');
  assert.ok(page.merged.total > cap && page.merged.rows.length === cap, `the page embeds ${cap} of ${page.merged.total} merged rows`);
  assert.equal(page.merged.cellsTruncated, true, 'long notes are cut in the merged rows');
  assert.equal(page.survivors.cellsTruncated, true, 'a long conflict is cut in a kept row');
  assert.ok(page.merged.rows.some((row: string[]) => row.includes(second)), 'rows of the second input merged into the first');

  // summary.json: the same but for the run's id and timings.
  const summary = (dir: string) => {
    const s = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as Record<string, unknown>;
    for (const k of ['runId', 'startedAt', 'finishedAt', 'durationMs', 'timings', 'rowsPerSecond', 'mbPerSecond']) delete s[k];
    return s;
  };
  const s = summary(outs[0]);
  assert.deepEqual(s, summary(outs[1]));
  assert.ok(Object.keys(s.conflictsByField as object).includes('company') && (s.conflictExamples as unknown[]).length === 50, 'conflicts counted, first examples kept');
});
