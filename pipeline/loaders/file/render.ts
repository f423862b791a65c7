/**
 * What the file target writes for one contact, as UTF-8: its Spoke contact (batched per
 * owner by the loader), its Samespace chunk row, its Genesys request line, its Talkdesk
 * line, and the notes its success.csv row gets. One function for the loader (loader.ts)
 * and for the second phase's singleton renderer (transforms/singleton-render.ts), which
 * renders the contacts that merged with nothing on another thread: both give the same bytes
 * because both call renderFileContact.
 */
import type { Contact } from '../../contact.js';
import type { Mapping } from '../../mapping/schema.js';
import { TARGET_REQUIREMENTS, type LoadOutcome } from '../types.js';
import { hasField } from '../../transforms/validate.js';
import { spokeContact, writeSpokeContactJson } from '../spoke/payload.js';
import { samespaceRow, type PropertyColumn } from '../samespace/payload.js';
import { columnPlan } from '../samespace/plan.js';
import { writeGenesysContactBodyJson } from '../genesys/payload.js';
import { writeTalkdeskContactJson } from '../talkdesk/payload.js';
import type { ByteBuilder } from '../../bytes.js';

export const FILE_TARGET_FORMATS = ['spoke', 'samespace', 'genesys', 'talkdesk'] as const;

/** A contact's parts in bytes rendered elsewhere, in this order (FileLoader.writeRendered's `at` pairs). */
export const FILE_PART = { spoke: 0, samespace: 1, genesys: 2, talkdesk: 3 } as const;
export const FILE_PARTS = Object.keys(FILE_PART).length;

/** Which payload files a run writes, and the Samespace upload's columns. Plain data: it crosses threads. */
export interface FileRenderPlan {
  spoke: boolean;
  samespace: boolean;
  genesys: boolean;
  talkdesk: boolean;
  /** The same columns the samespace loader uploads: only properties the mapping feeds. */
  cols: PropertyColumn[];
}

/** The plan for `formats` (--formats; every format when absent). */
export function fileRenderPlan(mapping: Mapping, formats: readonly string[] | undefined): FileRenderPlan {
  const wanted = new Set<string>(formats ?? FILE_TARGET_FORMATS);
  return {
    spoke: wanted.has('spoke'), samespace: wanted.has('samespace'), genesys: wanted.has('genesys'), talkdesk: wanted.has('talkdesk'),
    cols: columnPlan(mapping),
  };
}

/** What renderFileContact says besides the bytes it writes. */
export interface FileRendered {
  /** The contact's owner, whose Spoke phonebook batch takes its Spoke part. */
  owner: string;
  /** For success.csv: what a target's payload could not hold, and why a file left the contact out. */
  notes: string[];
}

/** The action success.csv names for a contact the file target wrote. */
export const WRITTEN = 'written';

/** What the file target tells success.csv about a contact it wrote. */
export function writtenOutcome(id: string | undefined, notes: string[]): LoadOutcome {
  return { status: 'success', action: WRITTEN, targetId: id, notes: notes.length ? notes : undefined };
}

/**
 * Writes what the file target writes for one contact into `out` as UTF-8, a part per FILE_PART
 * in that order: its Spoke contact (without a line end: the loader batches it per owner), its
 * Samespace chunk row (CRLF), its Genesys request line and its Talkdesk line (LF).
 * `sizes[at + part]` gets the part's byte length + 1, or 0 where the contact is not in that
 * file. The JSON parts are written byte by byte (loaders/json.ts), never built as strings.
 */
export function renderFileContact(c: Contact, plan: FileRenderPlan, out: ByteBuilder, sizes: Uint32Array, at: number): FileRendered {
  const r: FileRendered = { owner: c.owner ?? '', notes: [] };
  let from = out.used;
  if (plan.spoke && admitted(c, 'spoke', r.notes)) {
    const p = spokeContact(c);
    writeSpokeContactJson(out, p.contact);
    for (const n of p.notes) r.notes.push(n);
  }
  from = endPart(out, from, sizes, at + FILE_PART.spoke);
  if (plan.samespace) {
    out.text(samespaceCsvLine(samespaceRow(c, plan.cols)));
    out.ascii('\r\n');
  }
  from = endPart(out, from, sizes, at + FILE_PART.samespace);
  if (plan.genesys && admitted(c, 'genesys', r.notes)) {
    out.ascii('{"method":"POST","path":"/contacts","body":');
    writeGenesysContactBodyJson(out, c);
    out.ascii('}\n');
  }
  from = endPart(out, from, sizes, at + FILE_PART.genesys);
  if (plan.talkdesk && admitted(c, 'talkdesk', r.notes)) {
    writeTalkdeskContactJson(out, c);
    out.byte(0x0a);
  }
  endPart(out, from, sizes, at + FILE_PART.talkdesk);
  return r;
}

/** How a note names a field a target needs (TARGET_REQUIREMENTS' fields; another would be named as it is). */
const NEEDED: Record<string, string> = { id: 'id', name: 'a name', owner: 'owner', phones: 'a phone number' };
/** The payload files that hold only the contacts their target would take, and the target's name in notes. */
export const TARGET_LABEL = { spoke: 'Spoke', genesys: 'Genesys', talkdesk: 'Talkdesk' } as const;

/**
 * Whether the contact goes into `target`'s payload file: only when it fills every field the
 * real target requires (TARGET_REQUIREMENTS, checked as its run checks them after dedupe, by
 * hasField), since that run fails the others REQUIRED_MISSING and sends nothing for them.
 * Otherwise notes which file left it out and why. Samespace's required fields are the
 * account's module properties, known only online: every contact is in its chunks.
 */
function admitted(c: Contact, target: keyof typeof TARGET_LABEL, notes: string[]): boolean {
  const fields = TARGET_REQUIREMENTS[target].fields;
  let missing: string[] | undefined;
  for (const f of fields) if (!hasField(c, f)) (missing ??= []).push(NEEDED[f] ?? f);
  if (!missing) return true;
  const last = missing.pop()!;
  notes.push(`not in ${target}.jsonl: ${TARGET_LABEL[target]} needs ${missing.length ? `${missing.join(', ')} and ${last}` : last}`);
  return false;
}

/** Notes at sizes[i] the part written into `out` since byte `from`: its length + 1, or 0 when nothing was. Returns where the next part starts. */
function endPart(out: ByteBuilder, from: number, sizes: Uint32Array, i: number): number {
  sizes[i] = out.used > from ? out.used - from + 1 : 0;
  return out.used;
}

/**
 * Where parts laid out back to back from byte `pos` are, from their sizes (as
 * renderFileContact notes them: length + 1, 0 for none): `count` parts from sizes[from], as
 * [start, end) pairs into `at`, a start of -1 for a part that is not there. Returns where the
 * next part starts.
 */
export function partRanges(sizes: ArrayLike<number>, from: number, count: number, pos: number, at: Float64Array): number {
  for (let s = 0; s < count; s++) {
    const size = sizes[from + s];
    if (size) { at[2 * s] = pos; pos += size - 1; at[2 * s + 1] = pos; } else at[2 * s] = -1;
  }
  return pos;
}

// Papa.unparse's quoting with its defaults (quotes: false, delimiter ",", quoteChar '"'):
// a cell is quoted when it holds CR, LF, a quote, a BOM or the delimiter, or starts or
// ends with a space. The chunk rows are encoded one by one with it instead of keeping
// 5,000 row arrays for one Papa.unparse call; file-loader-samespace-csv.test.ts pins it
// to Papa.unparse.
const PAPA_QUOTE = /[\r\n"\ufeff,]/;

export function samespaceCsvCell(v: string): string {
  if (v === '') return v;
  return PAPA_QUOTE.test(v) || v.charCodeAt(0) === 32 || v.charCodeAt(v.length - 1) === 32 ? `"${v.replace(/"/g, '""')}"` : v;
}

/** A chunk's header line, line end included (the chunk's rows follow, each samespaceCsvLine + CRLF). */
export function samespaceChunkHeader(fields: readonly string[]): string {
  return samespaceCsvLine(fields) + '\r\n';
}

/** One chunk as Papa.unparse({ fields, data: rows }, { newline: '\r\n' }) + '\r\n' writes it, rows given encoded. */
export function samespaceChunkCsv(fields: readonly string[], lines: readonly string[]): string {
  return samespaceChunkHeader(fields) + lines.map((l) => l + '\r\n').join('');
}

export function samespaceCsvLine(cells: readonly string[]): string {
  let out = '';
  for (let i = 0; i < cells.length; i++) out += (i ? ',' : '') + samespaceCsvCell(cells[i]);
  return out;
}
