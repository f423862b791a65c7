/** The embedded store: file location, WAL, per-module migrations recorded in schema_version. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import { writeFileSync } from 'node:fs';
import { tempDir } from './helpers/cli.js';
import { DEFAULT_STATE_PATH, openStore, resolveStatePath, schemaVersions, type SchemaModule } from '../pipeline/state/store.js';
import { TALKDESK_SCHEMA, TalkdeskStore } from '../pipeline/state/talkdesk.js';
import { ImportError } from '../pipeline/errors.js';

test('the state path: --state, else CONTACT_IMPORT_STATE, else .contact-import/state.db', () => {
  assert.equal(resolveStatePath('a.db', { CONTACT_IMPORT_STATE: 'b.db' }), resolve('a.db'));
  assert.equal(resolveStatePath(undefined, { CONTACT_IMPORT_STATE: 'b.db' }), resolve('b.db'));
  assert.equal(resolveStatePath(undefined, {}), resolve(DEFAULT_STATE_PATH));
});

test('a new store is created with its folder, in WAL mode, with every module at its latest version', () => {
  const dir = tempDir('state-store-');
  try {
    const path = join(dir.path, 'nested', 'state.db');
    const db = openStore({ path, schemas: [TALKDESK_SCHEMA] });
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    assert.deepEqual(schemaVersions(db), { talkdesk: TALKDESK_SCHEMA.migrations.length });
    db.close();
  } finally { dir.cleanup(); }
});

test('a later feature adds its tables through its own module; existing data and versions are kept', () => {
  const dir = tempDir('state-store-');
  try {
    const path = join(dir.path, 'state.db');
    let db = openStore({ path, schemas: [TALKDESK_SCHEMA] });
    new TalkdeskStore(db).upsertBatch([{ id: 'A', name: 'Ann' }]);
    db.close();

    let runs = 0;
    const checksums: SchemaModule = {
      name: 'file-checksums',
      migrations: [
        (d) => { runs++; d.exec('CREATE TABLE file_checksums (sha256 TEXT PRIMARY KEY)'); },
        (d) => { runs++; d.exec('ALTER TABLE file_checksums ADD COLUMN loaded_at TEXT'); },
      ],
    };
    db = openStore({ path, schemas: [TALKDESK_SCHEMA, checksums] });
    assert.deepEqual(schemaVersions(db), { talkdesk: 1, 'file-checksums': 2 });
    db.prepare('INSERT INTO file_checksums (sha256, loaded_at) VALUES (?, ?)').run('ab', 'now');
    assert.equal(new TalkdeskStore(db).count(), 1);
    db.close();

    db = openStore({ path, schemas: [TALKDESK_SCHEMA, checksums] });
    assert.equal(runs, 2, 'migrations that ran are not run again');
    db.close();
  } finally { dir.cleanup(); }
});

test('a store written by a newer contact-import, or a file that is not a store, is refused with STATE_UNUSABLE', () => {
  const dir = tempDir('state-store-');
  try {
    const path = join(dir.path, 'state.db');
    const db = openStore({ path, schemas: [TALKDESK_SCHEMA] });
    db.prepare("UPDATE schema_version SET version = 99 WHERE module = 'talkdesk'").run();
    db.close();
    assert.throws(() => openStore({ path, schemas: [TALKDESK_SCHEMA] }),
      (e) => e instanceof ImportError && e.code === 'STATE_UNUSABLE' && /newer/.test(e.message));

    const notDb = join(dir.path, 'notes.txt');
    writeFileSync(notDb, 'these are not the droids you are looking for '.repeat(100));
    assert.throws(() => openStore({ path: notDb, schemas: [TALKDESK_SCHEMA] }),
      (e) => e instanceof ImportError && e.code === 'STATE_UNUSABLE' && e.message.includes(notDb));
  } finally { dir.cleanup(); }
});

test('the change marker never reuses a number, even after the newest contact is removed', () => {
  const db = openStore({ path: ':memory:', schemas: [TALKDESK_SCHEMA] });
  const s = new TalkdeskStore(db);
  s.upsertBatch([{ id: 'A', name: 'Ann' }, { id: 'B', name: 'Bob' }]);
  assert.equal(s.head(), 2);
  assert.equal(s.remove(['B']), 1);
  s.upsertBatch([{ id: 'C', name: 'Cy' }]);
  assert.equal((db.prepare("SELECT seq FROM talkdesk_contacts WHERE id = 'C'").get() as { seq: number }).seq, 3);
  assert.deepEqual(s.upsertBatch([{ id: 'C', name: 'Cy' }], { dryRun: true }), ['unchanged']);
  assert.deepEqual(s.upsertBatch([{ id: 'C', name: 'Cyrus' }, { id: 'D', name: 'Di' }], { dryRun: true }), ['updated', 'created']);
  assert.equal(s.head(), 3, 'a dry run writes nothing');
  db.close();
});
