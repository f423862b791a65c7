/**
 * The file target writes "the exact payloads each target would receive" (DESIGN.md). A
 * contact the real target refuses (REQUIRED_MISSING on a field in TARGET_REQUIREMENTS) is
 * never sent to it, so it must not be in that target's payload file either: before this,
 * talkdesk.jsonl listed contacts without an id as `"id":""`, and spoke.jsonl and
 * genesys.jsonl contacts without a name. Its success.csv row says which file left it out, and
 * a mapping that fills a required field from nothing is one note for the run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import type { Contact } from '../pipeline/contact.js';
import { ByteBuilder } from '../pipeline/bytes.js';
import { FILE_PART, FILE_PARTS, renderFileContact, type FileRenderPlan } from '../pipeline/loaders/file/render.js';
import { TARGET_REQUIREMENTS } from '../pipeline/loaders/types.js';
import { createValidator } from '../pipeline/transforms/validate.js';
import { ROOT, assertInvariant, readReportCsv, readSummary, runCli, runFileTarget, tempDir } from './helpers/cli.js';

const PLAN: FileRenderPlan = { spoke: true, samespace: true, genesys: true, talkdesk: true, cols: [] };
const CHECKED = ['spoke', 'genesys', 'talkdesk'] as const;

const value = fc.option(fc.constantFrom('', 'x', 'Ava Thompson', 'C-1'), { nil: undefined });
const contact: fc.Arbitrary<Contact> = fc.record({
  id: value, name: value, firstName: value, lastName: value, company: value, owner: value,
  emails: fc.array(fc.constant('a@b.example'), { maxLength: 2 }),
  phones: fc.array(fc.constant({ e164: '+14155552671' }), { maxLength: 2 }),
  websites: fc.constant([]), custom: fc.constant({}),
}, { requiredKeys: ['emails', 'phones', 'websites', 'custom'] });

test('property: a contact is in spoke, genesys and talkdesk payloads exactly when that target\'s own validator passes it', () => {
  const validators = Object.fromEntries(CHECKED.map((t) => [t, createValidator([], { name: t, fields: TARGET_REQUIREMENTS[t].fields }, {})]));
  const seen = { in: 0, out: 0 };
  fc.assert(fc.property(contact, (c) => {
    const out = new ByteBuilder(64);
    const sizes = new Uint32Array(FILE_PARTS);
    const r = renderFileContact(c, PLAN, out, sizes, 0);
    for (const t of CHECKED) {
      const problems = validators[t](c);
      const written = sizes[FILE_PART[t]] > 0;
      assert.equal(written, problems.length === 0, `${t}: written ${written}, the target's problems ${JSON.stringify(problems)} for ${JSON.stringify(c)}`);
      const note = r.notes.find((n) => n.startsWith(`not in ${t}.jsonl:`));
      assert.equal(note !== undefined, !written, `${t}: a note exactly when left out (${JSON.stringify(r.notes)})`);
      if (written) seen.in++; else seen.out++;
    }
    assert.ok(sizes[FILE_PART.samespace] > 0, 'every contact is in the Samespace chunk (its required properties are known only online)');
  }), { numRuns: 500 });
  assert.ok(seen.in > 100 && seen.out > 100, `both sides exercised: ${JSON.stringify(seen)}`);
});

test('a note names every missing field, in the target\'s order', () => {
  const sizes = new Uint32Array(FILE_PARTS);
  const none: Contact = { emails: [], phones: [], websites: [], custom: {} };
  const r = renderFileContact(none, PLAN, new ByteBuilder(64), sizes, 0);
  assert.deepEqual(r.notes, [
    'not in spoke.jsonl: Spoke needs id, a name and owner',
    'not in genesys.jsonl: Genesys needs a name and a phone number',
    'not in talkdesk.jsonl: Talkdesk needs id and a name',
  ]);
  // A company alone makes a display name, but no target takes it as "name".
  const companyOnly = renderFileContact({ ...none, id: 'C-9', company: 'Acme' }, PLAN, new ByteBuilder(64), sizes, 0);
  assert.ok(companyOnly.notes.includes('not in talkdesk.jsonl: Talkdesk needs a name'), JSON.stringify(companyOnly.notes));
});

test('end to end: the rows left out of talkdesk.jsonl are the rows `run --target talkdesk` fails, and it loads the others', async () => {
  const tmp = tempDir('file-target-requirements-');
  try {
    const lines = [
      'External ID,Name,Phone,Owner',
      'C-1,Ava Thompson,+14155552671,maria@ourco.example', // every target
      ',Ben Okafor,+14155552672,maria@ourco.example', // no id: not Spoke, not Talkdesk
      'C-3,,+14155552673,maria@ourco.example', // no name: none of the three
      'C-4,Dana Li,,maria@ourco.example', // no phone: not Genesys
      'C-5,Eli Park,+14155552675,', // no owner: not Spoke
    ];
    const yaml = 'fields:\n  id: External ID\n  name: Name\n  phones: Phone\n  owner: Owner\nrequired: []\n';
    const { out, r } = await runFileTarget(tmp.path, [lines], yaml);
    assert.equal(r.code, 0, r.stderr);
    const s = assertInvariant(out);
    assert.equal(s.counts.success, 5);
    const jsonl = (name: string) => readFileSync(join(out, 'payloads', name), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
    assert.deepEqual(jsonl('talkdesk.jsonl').map((c) => c.id), ['C-1', 'C-4', 'C-5']);
    assert.deepEqual(jsonl('genesys.jsonl').map((q) => q.body.name), ['Ava Thompson', 'Ben Okafor', 'Eli Park']);
    assert.deepEqual(jsonl('spoke.jsonl').flatMap((q) => q.body.contacts.map((c: { id: string }) => c.id)), ['C-1', 'C-4']);
    const notes = Object.fromEntries(readReportCsv(out, 'success.csv').map((row) => [row._row, row.notes]));
    assert.equal(notes['2'], '');
    assert.equal(notes['3'], 'not in spoke.jsonl: Spoke needs id; not in talkdesk.jsonl: Talkdesk needs id');
    assert.equal(notes['4'], 'not in spoke.jsonl: Spoke needs a name; not in genesys.jsonl: Genesys needs a name; not in talkdesk.jsonl: Talkdesk needs a name');
    assert.equal(notes['5'], 'not in genesys.jsonl: Genesys needs a phone number');
    assert.equal(notes['6'], 'not in spoke.jsonl: Spoke needs owner');
    assert.deepEqual(readSummary(out).notes, [], 'the mapping maps every field: no run-level note');

    // The real Talkdesk target (the embedded store) on the same rows.
    const real = join(tmp.path, 'talkdesk');
    const t = await runCli(['run', join(tmp.path, 'part-0.csv'), '-m', join(tmp.path, 'm.yaml'), '--target', 'talkdesk',
      '--state', join(tmp.path, 'state.db'), '--out', real, '--quiet']);
    assert.equal(t.code, 1, t.stderr);
    assertInvariant(real);
    assert.deepEqual(readReportCsv(real, 'failed.csv').map((row) => [row._row, row._code]), [['3', 'REQUIRED_MISSING'], ['4', 'REQUIRED_MISSING']]);
    assert.deepEqual(readReportCsv(real, 'success.csv').map((row) => row._row), ['2', '5', '6']);
  } finally {
    tmp.cleanup();
  }
});

test('a mapping that fills a target\'s required field from nothing: one note for the run names the empty payload file and the fix', async () => {
  const tmp = tempDir('file-target-requirements-');
  try {
    const out = join(tmp.path, 'messy');
    const r = await runCli(['run', join(ROOT, 'samples/messy.csv'), '-m', join(ROOT, 'mappings/messy.yaml'), '--out', out]);
    assert.equal(r.code, 1, r.stderr);
    assertInvariant(out);
    const notes = readSummary(out).notes;
    assert.deepEqual(notes.filter((n) => /holds no contact/.test(n)), [
      'payloads/spoke.jsonl holds no contact: Spoke needs "id" on every contact and the mapping maps nothing to it (add fields.id, or leave spoke out with --formats)',
      'payloads/talkdesk.jsonl holds no contact: Talkdesk needs "id" on every contact and the mapping maps nothing to it (add fields.id, or leave talkdesk out with --formats)',
    ]);
    assert.match(r.stdout, /payloads\/talkdesk\.jsonl holds no contact/, 'the end-of-run lines show it');
    assert.equal(readFileSync(join(out, 'payloads', 'talkdesk.jsonl'), 'utf8'), '');
    assert.notEqual(readFileSync(join(out, 'payloads', 'genesys.jsonl'), 'utf8'), '', 'messy.yaml maps a name and phones: Genesys gets contacts');

    // Leaving the file out with --formats: no note.
    const only = join(tmp.path, 'genesys-only');
    const g = await runCli(['run', join(ROOT, 'samples/messy.csv'), '-m', join(ROOT, 'mappings/messy.yaml'), '--out', only, '--formats', 'genesys', '--quiet']);
    assert.equal(g.code, 1, g.stderr);
    assert.deepEqual(readSummary(only).notes.filter((n) => /holds no contact/.test(n)), []);
  } finally {
    tmp.cleanup();
  }
});
