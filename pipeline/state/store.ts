/**
 * The embedded store: one SQLite file (better-sqlite3), shared by every feature that
 * needs state between runs (the Talkdesk bridge's contacts today; incremental loads,
 * per-target content hashes and file checksums later).
 *
 * Each feature owns a *schema module*: a name and an ordered list of migrations. The
 * `schema_version` table records, per module, how many of its migrations have run, so
 * features evolve their tables independently (a new feature adds a module, a changed
 * feature appends a migration; existing numbers never change). Migrations run inside
 * one IMMEDIATE transaction at open, so two processes opening a fresh file at once
 * cannot both apply them.
 *
 * WAL mode lets the bridge read while an import writes (readers never block the writer
 * and see only committed transactions). synchronous=NORMAL is WAL's recommended
 * setting: a committed transaction survives a process crash; a power cut may lose the
 * last ones, which the next import of the same file puts back.
 */
import Database from 'better-sqlite3';
import { dirname, resolve } from 'node:path';
import { ImportError } from '../errors.js';
import { makeDirs } from '../dirs.js';

export type Db = Database.Database;

export interface SchemaModule {
  /** Unique, stable name: the key in schema_version. */
  name: string;
  /** Migration i brings the module from version i to i + 1. Append only. */
  migrations: readonly ((db: Db) => void)[];
}

export const DEFAULT_STATE_PATH = '.contact-import/state.db';
const STATE_DIR = { what: "the state store's folder", fix: 'pick another path for --state (or CONTACT_IMPORT_STATE)' };

/** --state, else CONTACT_IMPORT_STATE, else .contact-import/state.db (relative to the working folder). */
export function resolveStatePath(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  return resolve(flag || env.CONTACT_IMPORT_STATE || DEFAULT_STATE_PATH);
}

export interface OpenStoreOptions {
  /** ':memory:' for a throwaway store (dry runs without a state file). */
  path: string;
  schemas: readonly SchemaModule[];
  /** How long a writer waits for another process's write transaction (ms). */
  busyTimeoutMs?: number;
}

export function openStore(o: OpenStoreOptions): Db {
  const memory = o.path === ':memory:';
  let db: Db | undefined;
  try {
    if (!memory) makeDirs(dirname(o.path), STATE_DIR);
    db = new Database(o.path, { timeout: o.busyTimeoutMs ?? 10_000 });
    if (!memory) db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    migrate(db, o.schemas);
    return db;
  } catch (e) {
    db?.close();
    if (e instanceof ImportError) throw e;
    const msg = (e as Error).message;
    throw new ImportError('STATE_UNUSABLE', `cannot open the state store ${o.path}: ${msg}`, { file: o.path });
  }
}

/** Brings every module to its latest version; refuses a store written by a newer contact-import. */
export function migrate(db: Db, schemas: readonly SchemaModule[]): void {
  const run = db.transaction(() => {
    db.exec(`CREATE TABLE IF NOT EXISTS schema_version (
      module TEXT PRIMARY KEY,
      version INTEGER NOT NULL,
      applied_at TEXT NOT NULL
    )`);
    const get = db.prepare<[string], { version: number }>('SELECT version FROM schema_version WHERE module = ?');
    const set = db.prepare('INSERT INTO schema_version (module, version, applied_at) VALUES (?, ?, ?) ON CONFLICT(module) DO UPDATE SET version = excluded.version, applied_at = excluded.applied_at');
    for (const s of schemas) {
      const have = get.get(s.name)?.version ?? 0;
      if (have > s.migrations.length) {
        throw new ImportError('STATE_UNUSABLE',
          `the state store ${db.name} has "${s.name}" schema version ${have}, newer than this contact-import knows (${s.migrations.length})`,
          { file: db.name });
      }
      for (let v = have; v < s.migrations.length; v++) s.migrations[v](db);
      if (have < s.migrations.length) set.run(s.name, s.migrations.length, new Date().toISOString());
    }
  });
  run.immediate();
}

/** The schema version of each module, for tests and diagnostics. */
export function schemaVersions(db: Db): Record<string, number> {
  const rows = db.prepare<[], { module: string; version: number }>('SELECT module, version FROM schema_version').all();
  return Object.fromEntries(rows.map((r) => [r.module, r.version]));
}
