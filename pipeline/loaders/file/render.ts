/**
 * What the file target writes for one contact, as text: its Spoke contact (batched per
 * owner by the loader), its Samespace chunk row, its Genesys request line, its Talkdesk
 * line, and the notes its success.csv row gets. One function for the loader (loader.ts)
 * and for the second phase's singleton renderer (transforms/singleton-render.ts), which
 * renders the contacts that merged with nothing on another thread: both give the same text
 * because both call renderFileContact.
 */
import type { Contact } from '../../contact.js';
import type { Mapping } from '../../mapping/schema.js';
import type { LoadOutcome } from '../types.js';
import { spokeContact, spokeContactJson } from '../spoke/payload.js';
import { samespaceRow, type PropertyColumn } from '../samespace/payload.js';
import { columnPlan } from '../samespace/plan.js';
import { genesysContactBodyJson } from '../genesys/payload.js';
import { talkdeskContactJson } from '../talkdesk/payload.js';

export const FILE_TARGET_FORMATS = ['spoke', 'samespace', 'genesys', 'talkdesk'] as const;

/** A contact's parts in bytes rendered elsewhere, in this order (FileLoader.writeRendered's `at` pairs). */
export const FILE_PART = { spoke: 0, samespace: 1, genesys: 2, talkdesk: 3 } as const;

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

/** One contact's lines, without line ends; undefined where the contact is not in that file. */
export interface FileRendered {
  /** The contact's owner, whose Spoke phonebook batch takes `spoke`. */
  owner: string;
  spoke?: string;
  samespace?: string;
  genesys?: string;
  talkdesk?: string;
  /** For success.csv: what a target's payload could not hold, and why a file left the contact out. */
  notes: string[];
}

/** The action success.csv names for a contact the file target wrote. */
export const WRITTEN = 'written';

/** What the file target tells success.csv about a contact it wrote. */
export function writtenOutcome(id: string | undefined, notes: string[]): LoadOutcome {
  return { status: 'success', action: WRITTEN, targetId: id, notes: notes.length ? notes : undefined };
}

export function renderFileContact(c: Contact, plan: FileRenderPlan): FileRendered {
  const out: FileRendered = { owner: c.owner ?? '', notes: [] };
  if (plan.spoke) {
    if (c.owner && c.id) {
      const p = spokeContact(c);
      out.spoke = spokeContactJson(p.contact);
      for (const n of p.notes) out.notes.push(n);
    } else {
      out.notes.push(`not in spoke.jsonl: Spoke needs ${[!c.id && 'id', !c.owner && 'owner'].filter(Boolean).join(' and ')}`);
    }
  }
  if (plan.samespace) out.samespace = samespaceCsvLine(samespaceRow(c, plan.cols));
  if (plan.genesys) {
    if (c.phones.length) out.genesys = `{"method":"POST","path":"/contacts","body":${genesysContactBodyJson(c)}}`;
    else out.notes.push('not in genesys.jsonl: Genesys needs a phone number');
  }
  if (plan.talkdesk) out.talkdesk = talkdeskContactJson(c);
  return out;
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
