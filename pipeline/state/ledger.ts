/**
 * The ledger: what this tool has loaded where, kept in the embedded store between runs.
 *
 *  - ledger_contacts: per target, destination (the account: API base URL, Samespace
 *    module), scope (owner phonebook, module, Genesys custom contacts) and key (external
 *    id or phone), the content hash of the contact as the target last *confirmed* it,
 *    the target's id, and whether this tool created it (`owned`: only those may be
 *    deleted by --mirror). A row is written only after the target confirmed its batch,
 *    so a run killed at any moment leaves exactly the confirmed contacts here, and the
 *    next run sends the rest.
 *  - ledger_files: each input file's sha256 and the run that loaded it into a target
 *    and destination, so a nightly drop delivered twice is not loaded twice.
 *  - ledger_runs: every run that used the ledger, with its pid, host and status; a run
 *    still marked `running` when the next one starts (under the lock) died mid-way.
 */
import { createHash } from 'node:crypto';
import type { Db, SchemaModule } from './store.js';
import type { Contact } from '../contact.js';

export const LEDGER_SCHEMA: SchemaModule = {
  name: 'ledger',
  migrations: [
    (db) => {
      db.exec(`
        CREATE TABLE ledger_contacts (
          target TEXT NOT NULL,
          destination TEXT NOT NULL,
          scope TEXT NOT NULL,
          key TEXT NOT NULL,
          hash TEXT NOT NULL,              -- content hash of the contact as last confirmed
          target_id TEXT,                  -- the target's id for it, when the target gave one
          aliases TEXT NOT NULL,           -- space-separated values the target may merge by (phones, emails)
          owned INTEGER NOT NULL,          -- 1: this tool created it (--mirror may delete it)
          first_run TEXT NOT NULL,
          last_run TEXT NOT NULL,          -- the run whose batch the target last confirmed
          updated_at TEXT NOT NULL,
          PRIMARY KEY (target, destination, scope, key)
        ) WITHOUT ROWID;
        -- A contact the target keeps under one id while its key changes (Genesys: a phone
        -- changed, matched by name) stays the tool's own under its new key.
        CREATE INDEX ledger_contacts_target_id ON ledger_contacts (target, destination, target_id);
        CREATE TABLE ledger_files (
          target TEXT NOT NULL,
          destination TEXT NOT NULL,
          sha256 TEXT NOT NULL,
          file TEXT NOT NULL,              -- the path it had then (for people; the checksum is the identity)
          bytes INTEGER NOT NULL,
          run_id TEXT NOT NULL,
          report TEXT NOT NULL,
          loaded_at TEXT NOT NULL,
          counts TEXT NOT NULL,            -- JSON: the run's counts
          PRIMARY KEY (target, destination, sha256)
        ) WITHOUT ROWID;
        CREATE TABLE ledger_runs (
          run_id TEXT PRIMARY KEY,
          target TEXT NOT NULL,
          destination TEXT NOT NULL,
          report TEXT NOT NULL,
          pid INTEGER NOT NULL,
          host TEXT NOT NULL,
          started_at TEXT NOT NULL,
          finished_at TEXT,
          status TEXT NOT NULL             -- running, completed, aborted, interrupted, skipped, died
        );
      `);
    },
  ],
};

/** A key for JSON that does not depend on the order properties were set in. */
function stable(v: unknown): string {
  if (Array.isArray(v)) return '[' + v.map(stable).join(',') + ']';
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return '{' + Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => JSON.stringify(k) + ':' + stable(o[k])).join(',') + '}';
  }
  return JSON.stringify(v);
}

function splitAliases(s: string): string[] {
  return s ? s.split(' ') : [];
}

/** The content hash of a canonical contact: equal contacts, equal hashes, whatever their key order. */
export function contactHash(c: Contact): string {
  return createHash('sha256').update(stable(c)).digest('base64url').slice(0, 32);
}

export interface LedgerEntry {
  scope: string;
  key: string;
  hash: string;
  targetId: string | null;
  aliases: string[];
  owned: boolean;
  firstRun: string;
  lastRun: string;
}

export interface FileRecord {
  sha256: string; file: string; bytes: number; runId: string; report: string; loadedAt: string; counts: Record<string, number>;
}

export interface RunRecord {
  runId: string; report: string; pid: number; host: string; startedAt: string; status: string;
}

export interface Confirmed {
  scope: string;
  key: string;
  hash: string;
  targetId?: string;
  aliases: readonly string[];
  /** The target created it (as opposed to updating or merging into a contact it already had). */
  created: boolean;
}

/** The ledger of one target and destination. */
export class Ledger {
  private readonly q;

  constructor(private readonly db: Db, readonly target: string, readonly destination: string) {
    this.q = {
      get: db.prepare<[string, string, string, string], { hash: string; target_id: string | null; aliases: string; owned: number; first_run: string; last_run: string }>(
        'SELECT hash, target_id, aliases, owned, first_run, last_run FROM ledger_contacts WHERE target = ? AND destination = ? AND scope = ? AND key = ?'),
      count: db.prepare<[string, string], { n: number }>('SELECT count(*) AS n FROM ledger_contacts WHERE target = ? AND destination = ?'),
      upsert: db.prepare(`INSERT INTO ledger_contacts (target, destination, scope, key, hash, target_id, aliases, owned, first_run, last_run, updated_at)
        VALUES (@target, @destination, @scope, @key, @hash, @targetId, @aliases,
          @owned OR (@targetId IS NOT NULL AND EXISTS (SELECT 1 FROM ledger_contacts o
            WHERE o.target = @target AND o.destination = @destination AND o.target_id = @targetId AND o.owned = 1)),
          @run, @run, @now)
        ON CONFLICT (target, destination, scope, key) DO UPDATE SET
          owned = ledger_contacts.owned OR excluded.owned,
          hash = excluded.hash,
          target_id = coalesce(excluded.target_id, ledger_contacts.target_id),
          aliases = excluded.aliases,
          last_run = excluded.last_run,
          updated_at = excluded.updated_at`),
      remove: db.prepare('DELETE FROM ledger_contacts WHERE target = ? AND destination = ? AND scope = ? AND key = ?'),
      file: db.prepare<[string, string, string], { sha256: string; file: string; bytes: number; run_id: string; report: string; loaded_at: string; counts: string }>(
        'SELECT * FROM ledger_files WHERE target = ? AND destination = ? AND sha256 = ?'),
      putFile: db.prepare(`INSERT INTO ledger_files (target, destination, sha256, file, bytes, run_id, report, loaded_at, counts)
        VALUES (@target, @destination, @sha256, @file, @bytes, @runId, @report, @loadedAt, @counts)
        ON CONFLICT (target, destination, sha256) DO UPDATE SET file = excluded.file, bytes = excluded.bytes, run_id = excluded.run_id,
          report = excluded.report, loaded_at = excluded.loaded_at, counts = excluded.counts`),
      startRun: db.prepare(`INSERT INTO ledger_runs (run_id, target, destination, report, pid, host, started_at, status)
        VALUES (@runId, @target, @destination, @report, @pid, @host, @startedAt, 'running')`),
      endRun: db.prepare('UPDATE ledger_runs SET status = ?, finished_at = ? WHERE run_id = ?'),
      unfinished: db.prepare<[string, string], { run_id: string; report: string; pid: number; host: string; started_at: string; status: string }>(
        "SELECT * FROM ledger_runs WHERE target = ? AND destination = ? AND status = 'running' ORDER BY started_at"),
    };
  }

  get size(): number {
    return this.q.count.get(this.target, this.destination)!.n;
  }

  get(scope: string, key: string): LedgerEntry | undefined {
    const r = this.q.get.get(this.target, this.destination, scope, key);
    return r && { scope, key, hash: r.hash, targetId: r.target_id, aliases: splitAliases(r.aliases), owned: r.owned === 1, firstRun: r.first_run, lastRun: r.last_run };
  }

  /**
   * Records contacts the target confirmed, in one transaction. A contact seen for the
   * first time is `owned` when the target created it, or when the target id it came back
   * with belongs to a contact the tool created (the same contact under a new key).
   */
  confirm(runId: string, items: readonly Confirmed[]): void {
    const now = new Date().toISOString();
    const tx = this.db.transaction(() => {
      for (const i of items) {
        this.q.upsert.run({
          target: this.target, destination: this.destination, scope: i.scope, key: i.key, hash: i.hash,
          targetId: i.targetId ?? null, aliases: i.aliases.join(' '), owned: i.created ? 1 : 0, run: runId, now,
        });
      }
    });
    tx.immediate();
  }

  forget(items: readonly { scope: string; key: string }[]): void {
    const tx = this.db.transaction(() => {
      for (const i of items) this.q.remove.run(this.target, this.destination, i.scope, i.key);
    });
    tx.immediate();
  }

  /** Contacts per scope, loaded by a run other than `runId` (the contacts a scope had before this run). */
  scopeSizes(runId: string): Map<string, number> {
    const rows = this.db.prepare<[string, string, string], { scope: string; n: number }>(
      'SELECT scope, count(*) AS n FROM ledger_contacts WHERE target = ? AND destination = ? AND first_run <> ? GROUP BY scope')
      .all(this.target, this.destination, runId);
    return new Map(rows.map((r) => [r.scope, r.n]));
  }

  /** Entries whose (scope, key) is not in the temp table `seen`: the contacts absent from this run's files. */
  *absent(seenTable: string): Generator<LedgerEntry> {
    const stmt = this.db.prepare<[string, string], { scope: string; key: string; hash: string; target_id: string | null; aliases: string; owned: number; first_run: string; last_run: string }>(
      `SELECT l.scope, l.key, l.hash, l.target_id, l.aliases, l.owned, l.first_run, l.last_run FROM ledger_contacts l
       WHERE l.target = ? AND l.destination = ? AND NOT EXISTS (SELECT 1 FROM ${seenTable} s WHERE s.scope = l.scope AND s.key = l.key)
       ORDER BY l.scope, l.key`);
    for (const r of stmt.iterate(this.target, this.destination)) {
      yield { scope: r.scope, key: r.key, hash: r.hash, targetId: r.target_id, aliases: splitAliases(r.aliases), owned: r.owned === 1, firstRun: r.first_run, lastRun: r.last_run };
    }
  }

  fileLoaded(sha256: string): FileRecord | undefined {
    const r = this.q.file.get(this.target, this.destination, sha256);
    return r && { sha256: r.sha256, file: r.file, bytes: r.bytes, runId: r.run_id, report: r.report, loadedAt: r.loaded_at, counts: JSON.parse(r.counts) as Record<string, number> };
  }

  recordFile(f: FileRecord): void {
    this.q.putFile.run({ target: this.target, destination: this.destination, ...f, counts: JSON.stringify(f.counts) });
  }

  /** Runs of this target and destination still marked running: under the lock, they died. */
  unfinishedRuns(): RunRecord[] {
    return this.q.unfinished.all(this.target, this.destination)
      .map((r) => ({ runId: r.run_id, report: r.report, pid: r.pid, host: r.host, startedAt: r.started_at, status: r.status }));
  }

  startRun(r: Omit<RunRecord, 'status'>): void {
    this.q.startRun.run({ ...r, target: this.target, destination: this.destination });
  }

  endRun(runId: string, status: string): void {
    this.q.endRun.run(status, new Date().toISOString(), runId);
  }
}
