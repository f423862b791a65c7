/**
 * The records handed on toward the target and not yet settled: what a run stopped part-way
 * reports NOT_SENT, and what catches a contact settled twice.
 *
 * Not a Set, for the garbage collector's sake (issue #11). A run adds and deletes a record
 * for every contact, and a Set with that churn keeps rebuilding its hash table; each table it
 * leaves behind sits in the old generation still pointing at the records it held, so the
 * young-generation collections treat those records (their contacts, strings and spill text)
 * as live and promote them. On the bench's 200k rows a Set of records made the second phase
 * promote 200 MB; the same run keyed by numbers promoted 11 MB. Here the records sit in slots
 * of one array that is reused, never rebuilt: a settled record's slot is cleared at once, and
 * the array is copied only when more records are in flight at once than ever before.
 */
import type { ContactRecord } from './contact.js';

/** The record's slot, kept on the record itself so that finding it needs no hash table (a record is in one register at a time). */
const SLOT = Symbol('in-flight slot');
type Slotted = ContactRecord & { [SLOT]?: number };

export class InFlightRecords {
  private readonly recs: (ContactRecord | undefined)[] = [];
  /** When each slot's record was added (a run-wide count): values() keeps that order. */
  private readonly order: number[] = [];
  private readonly free: number[] = [];
  private added = 0;

  /** Every slot not on the free list holds a record. */
  get size(): number { return this.recs.length - this.free.length; }

  has(rec: ContactRecord): boolean { return this.slotOf(rec) !== undefined; }

  /** The record's slot while it is in flight (a slot it left may hold another record by now). */
  private slotOf(rec: ContactRecord): number | undefined {
    const s = (rec as Slotted)[SLOT];
    return s !== undefined && this.recs[s] === rec ? s : undefined;
  }

  /** Adds the record (once: adding it again changes nothing, as with a Set). */
  add(rec: ContactRecord): void {
    if (this.has(rec)) return;
    const s = this.free.length ? this.free.pop()! : this.recs.length;
    this.recs[s] = rec;
    this.order[s] = this.added++;
    (rec as Slotted)[SLOT] = s;
  }

  /** Removes the record; false when it was not in flight. */
  delete(rec: ContactRecord): boolean {
    const s = this.slotOf(rec);
    if (s === undefined) return false;
    this.recs[s] = undefined;
    this.free.push(s);
    return true;
  }

  /** The records in flight, in the order they were added. */
  values(): ContactRecord[] {
    const slots: number[] = [];
    for (let s = 0; s < this.recs.length; s++) if (this.recs[s]) slots.push(s);
    slots.sort((a, b) => this.order[a] - this.order[b]);
    return slots.map((s) => this.recs[s]!);
  }
}
