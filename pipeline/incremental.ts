/**
 * Incremental loads, resume and `--mirror` deletes, on top of the ledger
 * (pipeline/state/ledger.ts). The runner asks, for each contact about to be sent,
 * whether the target already holds it as it is (`unchanged`: not sent), tells it what
 * the target confirmed (written to the ledger only then), and at the end of a complete
 * run asks which contacts left the file.
 *
 * Resume needs nothing more: a killed run confirmed some batches; the next run finds
 * them in the ledger with the same hash and sends only the rest.
 */
import type { ContactRecord, Contact } from './contact.js';
import type { Db } from './state/store.js';
import { contactHash, Ledger, type Confirmed, type LedgerEntry } from './state/ledger.js';
import type { LedgerKey, Loader, LoadOutcome, RemoveItem, RemoveOutcome } from './loaders/types.js';
import { CsvFile } from './report/csv-file.js';

export const DEFAULT_MAX_DELETE_PERCENT = 10;

export interface MirrorOptions {
  /** A scope that would lose more than this share of its contacts deletes nothing. */
  maxDeletePercent: number;
  allowMassDelete: boolean;
}

/** What a record is in the ledger: computed once when it is checked, used when it is confirmed. */
interface Identity extends LedgerKey { hash: string; aliases: string[] }

/** Aliases live in the seen table beside keys, marked so that no key can be taken for one. */
const aliasKey = (a: string) => `\u0000alias:${a}`;

/** Actions meaning the target made a new contact (as opposed to updating or merging into one it had). */
const CREATED = new Set(['created', 'upserted', 'imported']);

export type DeleteStatus = 'deleted' | 'gone' | 'failed' | 'would-delete' | 'kept-guard' | 'kept-not-created' | 'kept-merged' | 'not-attempted';

export interface DeleteSummary {
  /** Contacts in the ledger that no input row had. */
  absent: number;
  deleted: number;
  gone: number;
  failed: number;
  wouldDelete: number;
  /** Absent, but the target had them before this tool touched them: never deleted, forgotten. */
  notCreatedByTool: number;
  notAttempted: number;
  /** Absent under their key, but a row of this file shares a phone or email the target merges by: kept, forgotten. */
  mergedIntoByTarget: number;
  /** Scopes where the guard kept everything. */
  guarded: { scope: string; wouldDelete: number; contacts: number; percent: number }[];
  maxDeletePercent: number;
}

export class Incremental {
  private readonly ids = new WeakMap<ContactRecord, Identity>();
  private pending: Confirmed[] = [];
  private flushScheduled = false;
  private seenBuffer: LedgerKey[] = [];
  private readonly insertSeen;
  unchanged = 0;

  constructor(
    private readonly db: Db,
    readonly ledger: Ledger,
    private readonly runId: string,
    private readonly loader: Loader,
    /** redact: the target's words go into deleted.csv, and secrets never do. */
    private readonly o: { dryRun: boolean; mirror?: MirrorOptions; redact: (s: string) => string },
  ) {
    // The keys this run's files hold, for --mirror: a temporary table (this connection
    // only, gone at close), so a 1M-contact file does not hold its keys in memory.
    db.exec('CREATE TEMP TABLE IF NOT EXISTS seen_keys (scope TEXT NOT NULL, key TEXT NOT NULL, PRIMARY KEY (scope, key)) WITHOUT ROWID');
    this.insertSeen = db.prepare('INSERT OR IGNORE INTO temp.seen_keys (scope, key) VALUES (?, ?)');
  }

  private identity(contact: Contact): LedgerKey | undefined {
    return this.loader.identify?.(contact);
  }

  /** A row that failed before the target still names a contact that is in the file: never delete it. */
  sawFailed(contact: Contact | undefined): void {
    if (!this.o.mirror || !contact) return;
    let id: LedgerKey | undefined;
    try { id = this.identity(contact); } catch { id = undefined; }
    if (id) this.markSeen(id, this.loader.aliases?.(contact) ?? []);
  }

  /**
   * Before a record is sent: the ledger entry when the target already holds it exactly
   * as it is now (the record is then not sent), else undefined.
   */
  check(rec: ContactRecord): LedgerEntry | undefined {
    const id = this.identity(rec.contact);
    if (!id) return undefined;
    const hash = contactHash(rec.contact);
    const aliases = this.loader.aliases?.(rec.contact) ?? [];
    this.ids.set(rec, { ...id, hash, aliases });
    if (this.o.mirror) this.markSeen(id, aliases);
    const entry = this.ledger.get(id.scope, id.key);
    if (entry && entry.hash === hash) { this.unchanged++; return entry; }
    return undefined;
  }

  /** After the target answered for a record: what it confirmed goes to the ledger (in batches). */
  settled(rec: ContactRecord, o: LoadOutcome): void {
    if (this.o.dryRun) return;
    const id = this.ids.get(rec);
    if (!id) return;
    const confirmed = o.status === 'success' || o.status === 'unchanged' || o.status === 'merged';
    if (!confirmed || o.action?.startsWith('would-')) return;
    this.pending.push({ scope: id.scope, key: id.key, hash: id.hash, targetId: o.targetId, aliases: id.aliases, created: CREATED.has(o.action ?? '') });
    if (this.pending.length >= 1000) this.flush();
    else if (!this.flushScheduled) {
      // One transaction for everything a batch confirmed: a loader settles a batch in one
      // synchronous loop, and the microtask runs right after it, before the event loop can
      // send anything else. So a kill can only cost the requests still unanswered.
      this.flushScheduled = true;
      queueMicrotask(() => { this.flushScheduled = false; this.flush(); });
    }
  }

  flush(): void {
    if (this.pending.length) {
      const items = this.pending;
      this.pending = [];
      this.ledger.confirm(this.runId, items);
    }
    this.flushSeen();
  }

  /** The file holds this contact: its key, and the values the target may merge it by. */
  private markSeen(id: LedgerKey, aliases: readonly string[]): void {
    this.seenBuffer.push(id);
    for (const a of aliases) this.seenBuffer.push({ scope: id.scope, key: aliasKey(a) });
    if (this.seenBuffer.length >= 2000) this.flushSeen();
  }

  private flushSeen(): void {
    if (!this.seenBuffer.length) return;
    const items = this.seenBuffer;
    this.seenBuffer = [];
    this.db.transaction(() => { for (const i of items) this.insertSeen.run(i.scope, i.key); })();
  }

  /**
   * --mirror, after a complete run: delete what this tool loaded before and no input row
   * has, scope by scope, unless a scope would lose more than the allowed share. Every
   * absent contact gets a line in deleted.csv saying what happened to it.
   */
  async mirror(deletedCsv: string, ensureOpen: () => Promise<void>): Promise<DeleteSummary> {
    const mo = this.o.mirror!;
    this.flush();
    const sizes = this.ledger.scopeSizes(this.runId);
    const byScope = new Map<string, LedgerEntry[]>();
    for (const e of this.ledger.absent('temp.seen_keys')) {
      let list = byScope.get(e.scope);
      if (!list) byScope.set(e.scope, (list = []));
      list.push(e);
    }
    const s: DeleteSummary = {
      absent: 0, deleted: 0, gone: 0, failed: 0, wouldDelete: 0, notCreatedByTool: 0, notAttempted: 0, mergedIntoByTarget: 0, guarded: [], maxDeletePercent: mo.maxDeletePercent,
    };
    const table = new CsvFile(deletedCsv, ['scope', 'key', 'target_id', 'status', 'reason', 'first_loaded_run', 'last_loaded_run'], false);
    const line = (e: LedgerEntry, status: DeleteStatus, reason: string) =>
      table.write([e.scope, e.key, e.targetId ?? '', status, reason, e.firstRun, e.lastRun]);
    const toRemove: { item: RemoveItem; entry: LedgerEntry }[] = [];
    const forget: LedgerEntry[] = [];
    const seenStmt = this.db.prepare<[string, string], { one: number }>('SELECT 1 AS one FROM temp.seen_keys WHERE scope = ? AND key = ?');
    const merged = (e: LedgerEntry) => e.aliases.some((a) => seenStmt.get(e.scope, aliasKey(a)));
    try {
      for (const [scope, entries] of byScope) {
        s.absent += entries.length;
        const ours: LedgerEntry[] = [];
        for (const e of entries) {
          if (merged(e)) {
            // The target merges by these values: the row that has one now lives in this very contact.
            s.mergedIntoByTarget++;
            forget.push(e);
            line(e, 'kept-merged', `a row of this file has the same phone or email, which ${this.loader.target} merges by: that row is this contact now; not deleted, forgotten from the state store under this key`);
          } else if (e.owned) {
            ours.push(e);
          } else {
            s.notCreatedByTool++;
            forget.push(e);
            line(e, 'kept-not-created', 'the target had this contact before contact-import loaded it, so it is never deleted; forgotten from the state store');
          }
        }
        const contacts = sizes.get(scope) ?? entries.length;
        const percent = contacts ? (ours.length / contacts) * 100 : 0;
        if (ours.length && percent > mo.maxDeletePercent && !mo.allowMassDelete) {
          s.guarded.push({ scope, wouldDelete: ours.length, contacts, percent: Math.round(percent * 10) / 10 });
          for (const e of ours) {
            line(e, 'kept-guard', `not deleted: ${ours.length} of the ${contacts} contacts loaded in ${scope} (${percent.toFixed(1)}%) are absent from this file, more than --max-delete-percent ${mo.maxDeletePercent}; a truncated file? Check it, then run again with --allow-mass-delete`);
          }
          continue;
        }
        for (const e of ours) toRemove.push({ item: { scope: e.scope, key: e.key, ...(e.targetId ? { targetId: e.targetId } : {}) }, entry: e });
      }
      if (forget.length) this.ledger.forget(forget);

      if (this.o.dryRun) {
        for (const { entry } of toRemove) { s.wouldDelete++; line(entry, 'would-delete', 'absent from this file (dry run: nothing deleted)'); }
        return s;
      }
      if (!toRemove.length) return s;
      if (!this.loader.remove) {
        for (const { entry } of toRemove) { s.notAttempted++; line(entry, 'not-attempted', `the ${this.loader.target} target cannot delete contacts`); }
        return s;
      }
      await ensureOpen();
      /** Items remove() has not answered for yet. */
      const waiting = new Map(toRemove.map((t) => [t.item, t.entry]));
      let gone: { scope: string; key: string }[] = [];
      const forgetDone = () => { if (gone.length) { this.ledger.forget(gone); gone = []; } };
      try {
        await this.loader.remove(toRemove.map((t) => t.item), (item: RemoveItem, out: RemoveOutcome) => {
          const entry = waiting.get(item);
          if (!entry) return;
          waiting.delete(item);
          if (out.status === 'failed') {
            s.failed++;
            line(entry, 'failed', `${out.code}: ${this.o.redact(out.error)}`);
            return;
          }
          if (out.status === 'deleted') { s.deleted++; line(entry, 'deleted', 'absent from this file'); }
          else { s.gone++; line(entry, 'gone', 'absent from this file; the target no longer had it'); }
          gone.push({ scope: item.scope, key: item.key });
          if (gone.length >= 500) forgetDone();
        });
      } finally {
        forgetDone();
        for (const entry of waiting.values()) { s.notAttempted++; line(entry, 'not-attempted', 'the run stopped before this contact was deleted'); }
      }
      return s;
    } finally {
      table.close();
    }
  }
}
