/**
 * The Talkdesk contacts in the embedded store, and the sync cursor over them.
 *
 * Change marker: every contact row carries `seq`, taken from a counter that only grows
 * (talkdesk_sequence; never max(seq) + 1, which would hand a deleted row's number to
 * another contact). An upsert takes a new seq only when the contact's content hash
 * changed, so importing an unchanged file changes nothing and the next incremental
 * sync is empty. Writes run in IMMEDIATE transactions, so writers are serialized and a
 * transaction that commits later always holds higher numbers: a reader that has seen
 * seq N can never later discover a committed row numbered <= N that it did not see.
 *
 * seq is the table's INTEGER PRIMARY KEY (the rowid), so a page is one range scan of
 * the table b-tree; the external id has its own unique index for upserts.
 *
 * The cursor (see `SyncCursor`): a sync is bounded when its first page is served, by
 * the counter's value then (`high`). Every page delivers rows with after < seq <= high
 * in seq order, and the next offset is the last seq delivered, so concurrent writes
 * cannot shift a page (no numeric OFFSET). A contact an import changes while Talkdesk
 * is paging takes a seq above `high`: it is not delivered again in this sync (no
 * duplicate) and it is delivered by the next incremental sync, because the checkpoint
 * is the seq of the last contact delivered, which is <= high.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Db, SchemaModule } from './store.js';
import type { TalkdeskContact } from '../loaders/talkdesk/payload.js';

export const TALKDESK_SCHEMA: SchemaModule = {
  name: 'talkdesk',
  migrations: [
    (db) => {
      db.exec(`
        CREATE TABLE talkdesk_contacts (
          seq INTEGER PRIMARY KEY,            -- change marker, also the sync order
          id TEXT NOT NULL UNIQUE,            -- the contact's external id
          hash TEXT NOT NULL,                 -- sha256 of body: equal hash = unchanged
          body TEXT NOT NULL,                 -- the contact as served, Talkdesk's JSON
          updated_at TEXT NOT NULL            -- for people reading the file; not a cursor
        );
        CREATE TABLE talkdesk_sequence (one INTEGER PRIMARY KEY CHECK (one = 1), value INTEGER NOT NULL);
        CREATE TABLE talkdesk_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      `);
      db.prepare('INSERT INTO talkdesk_sequence (one, value) VALUES (1, 0)').run();
      // Cursors name the store they came from: a checkpoint from another store file
      // (a replaced or restored state.db) must not be read as a position in this one.
      db.prepare("INSERT INTO talkdesk_meta (key, value) VALUES ('store_id', ?)").run(randomBytes(6).toString('hex'));
    },
  ],
};

export type UpsertAction = 'created' | 'updated' | 'unchanged';

export function contentHash(body: string): string {
  return createHash('sha256').update(body).digest('hex');
}

/** A position in the sync: serialized into Talkdesk's opaque strings. */
export interface SyncCursor {
  /** Deliver contacts with seq > after ... */
  after: number;
  /** ... and seq <= high (fixed at the first page of a sync). */
  high: number;
}

export interface SyncPage {
  /** Contact JSON strings in seq order, ready to splice into the response. */
  bodies: string[];
  /** seq of the last contact delivered (or `after` when the page is empty). */
  lastSeq: number;
  /** Set when contacts remain in (lastSeq, high]. */
  next?: SyncCursor;
}

export class TalkdeskStore {
  readonly storeId: string;
  private readonly getHash;
  private readonly insert;
  private readonly update;
  private readonly readCounter;
  private readonly writeCounter;
  private readonly page;
  private readonly deleteById;

  constructor(readonly db: Db) {
    this.storeId = (db.prepare("SELECT value FROM talkdesk_meta WHERE key = 'store_id'").get() as { value: string }).value;
    this.getHash = db.prepare<[string], { hash: string }>('SELECT hash FROM talkdesk_contacts WHERE id = ?');
    this.insert = db.prepare('INSERT INTO talkdesk_contacts (seq, id, hash, body, updated_at) VALUES (?, ?, ?, ?, ?)');
    this.update = db.prepare('UPDATE talkdesk_contacts SET seq = ?, hash = ?, body = ?, updated_at = ? WHERE id = ?');
    this.readCounter = db.prepare<[], { value: number }>('SELECT value FROM talkdesk_sequence WHERE one = 1');
    this.writeCounter = db.prepare('UPDATE talkdesk_sequence SET value = ? WHERE one = 1');
    this.page = db.prepare<[number, number, number], { seq: number; body: string }>(
      'SELECT seq, body FROM talkdesk_contacts WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?');
    this.deleteById = db.prepare('DELETE FROM talkdesk_contacts WHERE id = ?');
  }

  /**
   * Upserts a batch in one transaction; one action per contact, in order. With
   * `dryRun` the transaction is rolled back: the actions say what would happen.
   */
  upsertBatch(contacts: readonly TalkdeskContact[], opts: { dryRun?: boolean; now?: Date } = {}): UpsertAction[] {
    const now = (opts.now ?? new Date()).toISOString();
    const actions: UpsertAction[] = [];
    const txn = this.db.transaction(() => {
      let counter = this.readCounter.get()!.value;
      for (const c of contacts) {
        const body = JSON.stringify(c);
        const hash = contentHash(body);
        const existing = this.getHash.get(c.id);
        if (existing?.hash === hash) { actions.push('unchanged'); continue; }
        counter++;
        if (existing) { this.update.run(counter, hash, body, now, c.id); actions.push('updated'); }
        else { this.insert.run(counter, c.id, hash, body, now); actions.push('created'); }
      }
      this.writeCounter.run(counter);
      if (opts.dryRun) throw ROLLBACK;
    });
    try {
      txn.immediate();
    } catch (e) {
      if (e !== ROLLBACK) throw e;
    }
    return actions;
  }

  /** Removes contacts by external id; returns how many existed. */
  remove(ids: readonly string[]): number {
    let n = 0;
    this.db.transaction(() => { for (const id of ids) n += this.deleteById.run(id).changes; }).immediate();
    return n;
  }

  /** The highest seq ever handed out: the bound of a sync that starts now. */
  head(): number {
    return this.readCounter.get()!.value;
  }

  count(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM talkdesk_contacts').get() as { n: number }).n;
  }

  /** Up to `limit` contacts in (cursor.after, cursor.high], in seq order. */
  readPage(cursor: SyncCursor, limit: number): SyncPage {
    // One row more than asked tells whether another page exists without a count query.
    const rows = this.page.all(cursor.after, cursor.high, limit + 1);
    const more = rows.length > limit;
    if (more) rows.length = limit;
    const lastSeq = rows.length ? rows[rows.length - 1].seq : cursor.after;
    return { bodies: rows.map((r) => r.body), lastSeq, next: more ? { after: lastSeq, high: cursor.high } : undefined };
  }
}

const ROLLBACK = Symbol('rollback');

// --- The opaque strings Talkdesk carries between requests -------------------------
//
//   synchronization_checkpoint  "c1.<store id>.<seq>"          seq of the last contact delivered
//   next_offset                 "o1.<store id>.<after>.<high>"  where the next page starts, and the sync's bound
//
// Talkdesk treats both as opaque. The version prefix lets a later format be told apart.

const CHECKPOINT_RE = /^c1\.([0-9a-f]{12})\.(0|[1-9][0-9]{0,15})$/;
const OFFSET_RE = /^o1\.([0-9a-f]{12})\.(0|[1-9][0-9]{0,15})\.(0|[1-9][0-9]{0,15})$/;

export function encodeCheckpoint(storeId: string, seq: number): string {
  return `c1.${storeId}.${seq}`;
}

export function encodeOffset(storeId: string, c: SyncCursor): string {
  return `o1.${storeId}.${c.after}.${c.high}`;
}

export type Decoded<T> = { ok: true; value: T } | { ok: false; reason: string };

/**
 * A checkpoint from this store, or `foreign` when it is well-formed but names another
 * store (the state file was replaced): the caller then starts over with a full sync.
 */
export function decodeCheckpoint(s: string, storeId: string, head: number): Decoded<{ seq: number } | 'foreign'> {
  const m = CHECKPOINT_RE.exec(s);
  if (!m) return { ok: false, reason: 'synchronization_checkpoint is not one this bridge issued' };
  if (m[1] !== storeId) return { ok: true, value: 'foreign' };
  const seq = Number(m[2]);
  if (seq > head) return { ok: false, reason: 'synchronization_checkpoint is ahead of this store' };
  return { ok: true, value: { seq } };
}

export function decodeOffset(s: string, storeId: string, head: number): Decoded<SyncCursor> {
  const m = OFFSET_RE.exec(s);
  if (!m || m[1] !== storeId) return { ok: false, reason: 'offset is not one this bridge issued' };
  const after = Number(m[2]);
  const high = Number(m[3]);
  if (after > high || high > head) return { ok: false, reason: 'offset is not one this bridge issued' };
  return { ok: true, value: { after, high } };
}
