/**
 * A record as the dedupe stage stores it, encoded where the record is made: in a row
 * worker (row-worker.ts) or in the main thread. The encoding is what the spill file holds
 * (dedupe-spill.ts), so a batch from a worker arrives as bytes that are copied to the spill
 * as they are, and as numbers (the keys' hashes) that go to the key index: the main thread
 * never rebuilds the record's objects to dedupe it (issue #11: bringing contacts back from
 * a worker as objects cost more than computing them).
 *
 * One entry per record: [u32 key bytes][keys: each u32 length + UTF-8][payload: UTF-8].
 * The keys come first so that confirming a fingerprint hit reads a few dozen bytes and
 * compares them as bytes. The payload is the record without its row's original cells, then
 * the cells, which are split only if a report asks for them (decodePayload). It has two forms:
 *
 * - **Parts joined by NUL** (recordText), when no string of the record holds U+0000 (checked
 *   string by string as it is joined): `<record length>NUL<record>NUL<cells>`, the record
 *   being its parts in a fixed order, each scalar field only if present (a bit mask says
 *   which), each list after its length. The contact comes back with its fields in
 *   SCALAR_FIELDS order; its lists and custom properties in their order. Writing it is 1.5
 *   times as fast as JSON.stringify, reading it twice as fast as JSON.parse, and it is 40%
 *   shorter (no field names) on the bench's rows (issue #11).
 * - **JSON**, otherwise: `[contact, file, row, notes, date, cell count]`, a line break
 *   (JSON.stringify never writes one), then the cells. It starts with `[`, a joined record
 *   with a digit.
 *
 * Cells a source guarantees free of U+0000 (sources/types.ts cellsFreeOfNul: CSV) are joined
 * by NUL and their count is the record's last part; other cells are a JSON array (count -1).
 * Joining is 2.5 times as fast as JSON.stringify and splitting twice as fast as JSON.parse
 * (issue #11).
 */
import { phoneKey, SCALAR_FIELDS, type Contact, type ContactRecord, type ListField, type Phone, type RowRef, type ScalarField } from '../contact.js';
import type { MATCH_KEYS } from '../mapping/schema.js';
import { ByteBuilder } from '../bytes.js';

const NUL = '\u0000';
/** Bit of the record's mask saying it has a date (bits 0-10 are SCALAR_FIELDS). */
const HAS_DATE = 1 << SCALAR_FIELDS.length;
/** A phone's flags: it has an extension, a label. */
const PHONE_EXT = 1;
const PHONE_LABEL = 2;

/** A kind of match key, as the mapping's dedupe.keys names it. */
export type KeyKind = (typeof MATCH_KEYS)[number];

/** 53-bit string hash (cyrb53): fast, well spread, and exact in a float64. */
export function cyrb53(str: string, seed = 0): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < str.length; i++) {
    const ch = str.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** Name or company folded for matching: accents, case, punctuation and spacing do not count. */
export function foldText(s: string): string {
  return s.normalize('NFKD').replace(/\p{M}+/gu, '').toLowerCase().replace(/[^\p{L}\p{N}]+/gu, ' ').trim();
}

/** How records are matched: which keys, within which scope. */
export interface KeySpec {
  keys: readonly KeyKind[];
  scope: 'global' | 'owner';
}

/** A match key of a contact: `value` is compared; `code` (kind * 65536 + position) says which one merged.csv names. */
interface Key { code: number; value: string }

/** The match keys of a contact, in a fixed order; the position indexes into phones/emails. */
function keysOf(c: Contact, spec: KeySpec): Key[] {
  const pre = spec.scope === 'owner' ? `${c.owner ?? ''}\u0001` : '';
  const out: Key[] = [];
  for (const k of spec.keys) {
    switch (k) {
      case 'id': if (c.id) out.push({ code: 0, value: `${pre}i\u0002${c.id.trim()}` }); break;
      case 'phone':
        for (let i = 0; i < c.phones.length; i++) out.push({ code: 65536 + i, value: `${pre}p\u0002${phoneKey(c.phones[i])}` });
        break;
      case 'email':
        for (let i = 0; i < c.emails.length; i++) out.push({ code: 2 * 65536 + i, value: `${pre}e\u0002${c.emails[i].toLowerCase()}` });
        break;
      case 'nameCompany': {
        const name = c.name ?? [c.firstName, c.lastName].filter(Boolean).join(' ');
        if (name && c.company) out.push({ code: 3 * 65536, value: `${pre}n\u0002${foldText(name)}|${foldText(c.company)}` });
        break;
      }
    }
  }
  return out;
}

/** What a record entry is made of (a ContactRecord before dedupe: no merged rows yet). */
export interface EntryRecord {
  contact: Contact;
  file: number;
  row: number;
  values: string[];
  /** No cell holds U+0000 (its source says so: cellsFreeOfNul): the cells are stored joined by NUL. */
  nulFree?: boolean;
  notes: string[];
  date?: string;
}

/** Records encoded back to back: what the spill takes, and their keys for the index. */
export interface EncodedRecords {
  /** The entries, back to back (see the file's comment). */
  bytes: Uint8Array;
  /** Where each entry ends in `bytes` (entry i starts where entry i - 1 ends, the first at 0). */
  ends: Float64Array;
  /** How many keys each entry has. */
  keyCounts: Uint32Array;
  /** Every key's hash (by the deduper's hash function) and code, entry by entry. */
  hashes: Float64Array;
  codes: Int32Array;
}

/** The transferable memory of a batch, for postMessage. */
export function transferList(b: EncodedRecords): ArrayBuffer[] {
  return [b.bytes.buffer, b.ends.buffer, b.keyCounts.buffer, b.hashes.buffer, b.codes.buffer] as ArrayBuffer[];
}

/**
 * Encodes records into one batch. Each batch gets memory of its own (the spill keeps recent
 * batches as they are, to confirm keys of near duplicates without reading the disk).
 */
export class EntryEncoder {
  private readonly out: ByteBuilder;
  private ends: number[] = [];
  private keyCounts: number[] = [];
  private hashes: number[] = [];
  private codes: number[] = [];

  constructor(private readonly spec: KeySpec, private readonly hash: (s: string) => number = cyrb53, sizeHint = 64 * 1024) {
    this.out = new ByteBuilder(sizeHint);
  }

  add(r: EntryRecord): void {
    const keys = keysOf(r.contact, this.spec);
    // The row's original cells last: most records are never asked for them after dedupe,
    // so they are split only when read.
    // The cell count ends the record: -1 when the cells are a JSON array.
    const count = r.nulFree ? r.values.length : -1;
    const cells = r.nulFree ? r.values.join(NUL) : JSON.stringify(r.values);
    const rec = recordText(r, count);
    const payload = rec !== undefined
      ? `${rec.length}${NUL}${rec}${NUL}${cells}`
      : `${JSON.stringify([r.contact, r.file, r.row, r.notes, r.date ?? null, count])}\n${cells}`;
    // Room for the worst case (a UTF-16 code unit is at most 3 UTF-8 bytes), then encode
    // once: measuring the UTF-8 length first would encode every string twice.
    let worst = 4 + payload.length * 3;
    for (const k of keys) worst += 4 + k.value.length * 3;
    const b = this.out.room(worst);
    const begin = this.out.used;
    let at = begin + 4;
    for (const k of keys) {
      const n = b.write(k.value, at + 4, 'utf8');
      b.writeUInt32LE(n, at);
      at += 4 + n;
      this.hashes.push(this.hash(k.value));
      this.codes.push(k.code);
    }
    b.writeUInt32LE(at - begin - 4, begin);
    at += b.write(payload, at, 'utf8');
    this.out.used = at;
    this.ends.push(at);
    this.keyCounts.push(keys.length);
  }

  /** Drops the entries added since the last finish(). */
  discard(): void {
    this.out.used = 0;
    this.ends = [];
    this.keyCounts = [];
    this.hashes = [];
    this.codes = [];
  }

  /** The batch so far; the encoder starts a new one. */
  finish(): EncodedRecords {
    const out: EncodedRecords = {
      bytes: this.out.copy(),
      ends: Float64Array.from(this.ends),
      keyCounts: Uint32Array.from(this.keyCounts),
      hashes: Float64Array.from(this.hashes),
      codes: Int32Array.from(this.codes),
    };
    this.discard();
    return out;
  }
}

/**
 * A spilled row's reference: its original cells are read from the spill's text the first
 * time something asks for them (failed.csv, merged.csv); a contact that loads never does.
 * `count`: how many cells were joined by NUL (-1: the text is a JSON array).
 */
class SpilledRef implements RowRef {
  private cells: string[] | undefined;
  constructor(readonly file: number, readonly row: number, private text: string, private readonly count: number) {}
  get values(): string[] {
    if (!this.cells) {
      if (this.count < 0) this.cells = JSON.parse(this.text) as string[];
      else {
        // No cells at all joins to '', which split would read as one empty cell.
        const cells = this.count === 0 ? [] : this.text.split(NUL);
        // A NUL in a cell would split it: a source that broke its promise (cellsFreeOfNul) is a bug, not a wrong report.
        if (cells.length !== this.count) throw new Error(`internal error: the cells of row ${this.row} held a NUL character (${cells.length} parts for ${this.count} cells)`);
        this.cells = cells;
      }
      this.text = '';
    }
    return this.cells;
  }
  set values(v: string[]) { this.cells = v; this.text = ''; }
}

/** A record from its entry's payload (written by EntryEncoder), in either form. */
export function decodePayload(s: string): ContactRecord {
  if (s.charCodeAt(0) !== 0x5b /* [ */) return decodeJoined(s);
  const cut = s.indexOf('\n');
  const [contact, file, row, notes, date, count] = JSON.parse(s.slice(0, cut)) as [Contact, number, number, string[], string | null, number];
  return { contact, ref: new SpilledRef(file, row, s.slice(cut + 1), count), merged: [], conflicts: [], notes, date: date ?? undefined };
}

// The joined form names every field of a contact: a field added to Contact must be added here too.
type Unjoined = Exclude<keyof Contact, ScalarField | ListField | 'custom'>;
const everyFieldJoined: [Unjoined] extends [never] ? true : never = true;
void everyFieldJoined;

/**
 * The record's parts joined by NUL (the file's comment), or undefined when one of its strings
 * holds a NUL: the caller then writes it as JSON. Every string is checked as it is added, which
 * costs little next to the join.
 */
function recordText(r: EntryRecord, count: number): string | undefined {
  const c = r.contact;
  const p: (string | number)[] = [0];
  let mask = 0;
  let nul = false;
  for (let i = 0; i < SCALAR_FIELDS.length; i++) {
    const v = c[SCALAR_FIELDS[i]];
    if (v !== undefined) { mask |= 1 << i; p.push(v); nul ||= v.includes(NUL); }
  }
  if (r.date !== undefined) { mask |= HAS_DATE; p.push(r.date); nul ||= r.date.includes(NUL); }
  p[0] = mask;
  p.push(c.emails.length);
  for (const e of c.emails) { p.push(e); nul ||= e.includes(NUL); }
  p.push(c.phones.length);
  for (const ph of c.phones) {
    const flags = (ph.ext !== undefined ? PHONE_EXT : 0) | (ph.label !== undefined ? PHONE_LABEL : 0);
    p.push(flags, ph.e164);
    nul ||= ph.e164.includes(NUL);
    if (ph.ext !== undefined) { p.push(ph.ext); nul ||= ph.ext.includes(NUL); }
    if (ph.label !== undefined) { p.push(ph.label); nul ||= ph.label.includes(NUL); }
  }
  p.push(c.websites.length);
  for (const w of c.websites) { p.push(w); nul ||= w.includes(NUL); }
  let customs = 0;
  const customAt = p.push(0) - 1;
  for (const k in c.custom) {
    const v = c.custom[k];
    if (v === undefined) continue;
    p.push(k, v);
    nul ||= k.includes(NUL) || v.includes(NUL);
    customs++;
  }
  p[customAt] = customs;
  p.push(r.file, r.row, r.notes.length);
  for (const n of r.notes) { p.push(n); nul ||= n.includes(NUL); }
  p.push(count);
  return nul ? undefined : p.join(NUL);
}

/** The count at part `at` of a joined record: a whole number of parts that are there, or the entry is broken. */
function countAt(p: readonly string[], at: number): number {
  const n = Number(p[at]);
  if (!(Number.isInteger(n) && n >= 0 && n < p.length - at)) throw undecodable(p.length, at);
  return n;
}

const undecodable = (parts: number, at: number) => new Error(`internal error: a dedupe entry does not decode (${parts} parts, at part ${at})`);

/**
 * A record from its joined form (recordText). Every count is checked against the parts that
 * are left and every part must be read, no more, no fewer: an entry that is not what
 * recordText wrote (a bug) fails loudly, it never becomes a record with shifted fields.
 */
function decodeJoined(s: string): ContactRecord {
  const cut = s.indexOf(NUL);
  const end = cut + 1 + Number(s.slice(0, cut));
  const p = s.slice(cut + 1, end).split(NUL);
  let at = 0;
  const mask = Number(p[at++]);
  if (!(mask >= 0 && mask < 2 * HAS_DATE)) throw undecodable(p.length, 0);
  const contact: Contact = { emails: [], phones: [], websites: [], custom: {} };
  for (let i = 0; i < SCALAR_FIELDS.length; i++) if (mask & (1 << i)) contact[SCALAR_FIELDS[i]] = p[at++];
  const date = mask & HAS_DATE ? p[at++] : undefined;
  for (let n = countAt(p, at++); n > 0; n--) contact.emails.push(p[at++]);
  for (let n = countAt(p, at++); n > 0; n--) {
    const flags = Number(p[at++]);
    if (!(flags >= 0 && flags <= (PHONE_EXT | PHONE_LABEL))) throw undecodable(p.length, at - 1);
    const ph: Phone = { e164: p[at++] };
    if (flags & PHONE_EXT) ph.ext = p[at++];
    if (flags & PHONE_LABEL) ph.label = p[at++];
    contact.phones.push(ph);
  }
  for (let n = countAt(p, at++); n > 0; n--) contact.websites.push(p[at++]);
  for (let n = countAt(p, at++); n > 0; n--) { const k = p[at++]; contact.custom[k] = p[at++]; }
  const file = Number(p[at++]);
  const row = Number(p[at++]);
  const notes: string[] = [];
  for (let n = countAt(p, at++); n > 0; n--) notes.push(p[at++]);
  const count = Number(p[at++]);
  if (at !== p.length || !Number.isInteger(file) || !Number.isInteger(row) || !Number.isInteger(count)) throw undecodable(p.length, at);
  return { contact, ref: new SpilledRef(file, row, s.slice(end + 1), count), merged: [], conflicts: [], notes, date };
}

/** The entries' bytes as a Buffer (a view, no copy): what the spill and the key index read. */
export function entryBytes(batch: EncodedRecords): Buffer {
  return Buffer.from(batch.bytes.buffer, batch.bytes.byteOffset, batch.bytes.byteLength);
}

/** Where the payload of the entry starting at `start` of `b` begins (after its keys). */
export function payloadStart(b: Buffer, start: number): number {
  return start + 4 + b.readUInt32LE(start);
}

/**
 * The records of a batch from entry `from` on, rebuilt (a run stopped before they reached
 * dedupe, or the spill refused them: they are reported NOT_SENT).
 */
export function decodeRecords(batch: EncodedRecords, from = 0): ContactRecord[] {
  const b = entryBytes(batch);
  const out: ContactRecord[] = [];
  for (let i = from; i < batch.ends.length; i++) {
    const start = i ? batch.ends[i - 1] : 0;
    out.push(decodePayload(b.toString('utf8', payloadStart(b, start), batch.ends[i])));
  }
  return out;
}
