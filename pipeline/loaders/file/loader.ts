/**
 * Target `file`: no network. Writes the exact requests each target would receive into
 * <report>/payloads/, one JSON line per request, so a person can inspect a load before
 * pointing it at a real system:
 *   spoke.jsonl      PUT /phonebooks/{email}/contacts, batched per owner
 *   samespace/       the CSV chunks to upload, and samespace.jsonl with the importContacts calls
 *   genesys.jsonl    POST /contacts (what a first load would create)
 *   talkdesk.jsonl   the contacts as the contact-sync bridge would serve them
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Papa from 'papaparse';
import type { ContactRecord } from '../../contact.js';
import { TARGET_REQUIREMENTS, type Loader, type LoaderContext } from '../types.js';
import { spokeContact, spokeContactJson, spokeContactsPath } from '../spoke/payload.js';
import { mapAttributes, samespaceRow } from '../samespace/payload.js';
import { columnPlan } from '../samespace/plan.js';
import { DEFAULT_CHUNK_SIZE } from '../samespace/loader.js';
import { SPOKE_DEFAULT_BATCH_SIZE } from '../spoke/loader.js';
import { genesysContactBodyJson } from '../genesys/payload.js';
import { talkdeskContactJson } from '../talkdesk/payload.js';
import { jsonString } from '../json.js';
import { FileSink } from '../../report/file-sink.js';
import { writeFailed } from '../../errors.js';

/**
 * One JSON document per line. The per-contact payloads arrive already serialized
 * (payload.ts *Json functions: the bytes JSON.stringify gives, without building an object
 * per contact); the rare envelope objects go through JSON.stringify.
 */
class JsonLines {
  private readonly sink: FileSink;
  constructor(path: string) { this.sink = new FileSink(path); }
  write(obj: unknown) { this.sink.write(JSON.stringify(obj) + '\n'); }
  writeJson(json: string) { this.sink.write(json + '\n'); }
  close() { this.sink.close(); }
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

/** One chunk as Papa.unparse({ fields, data: rows }, { newline: '\r\n' }) + '\r\n' writes it, rows given encoded. */
export function samespaceChunkCsv(fields: readonly string[], lines: readonly string[]): string {
  let out = '';
  for (let i = 0; i < fields.length; i++) out += (i ? ',' : '') + samespaceCsvCell(fields[i]);
  return `${out}\r\n${lines.join('\r\n')}\r\n`;
}

export function samespaceCsvLine(cells: readonly string[]): string {
  let out = '';
  for (let i = 0; i < cells.length; i++) out += (i ? ',' : '') + samespaceCsvCell(cells[i]);
  return out;
}

export const FILE_TARGET_FORMATS = ['spoke', 'samespace', 'genesys', 'talkdesk'] as const;

export function createFileLoader(ctx: LoaderContext): Loader {
  const dir = join(ctx.outDir, 'payloads');
  // The CLI accepts only FILE_TARGET_FORMATS (yargs choices, like --target).
  const wanted = new Set<string>((ctx.options.flags.formats as string[] | undefined) ?? FILE_TARGET_FORMATS);
  const spokeBatch = ctx.options.batchSize ?? ctx.mapping.targets.spoke?.batchSize ?? SPOKE_DEFAULT_BATCH_SIZE;
  const chunkSize = ctx.options.batchSize ?? ctx.mapping.targets.samespace?.chunkSize ?? DEFAULT_CHUNK_SIZE;
  // The same columns the samespace loader uploads: only properties the mapping feeds.
  const cols = columnPlan(ctx.mapping);
  const moduleName = ctx.mapping.targets.samespace?.module ?? 'Contacts';

  let spoke: JsonLines | undefined;
  let samespace: JsonLines | undefined;
  let genesys: JsonLines | undefined;
  let talkdesk: JsonLines | undefined;
  /** Per owner: the contacts of the batch being filled, as JSON text. */
  const owners = new Map<string, string[]>();
  /** The samespace rows of the chunk being filled, CSV-encoded (or as cells when there are no columns). */
  let chunk: string[] = [];
  let emptyRows = 0;
  let chunkNo = 0;

  const flushOwner = (owner: string) => {
    const list = owners.get(owner);
    if (!list?.length) return;
    spoke!.writeJson(`{"method":"PUT","path":${jsonString(spokeContactsPath(owner))},"body":{"contacts":[${list.join(',')}]}}`);
    owners.set(owner, []);
  };
  const flushChunk = () => {
    if (!chunk.length && !emptyRows) return;
    chunkNo++;
    const name = `chunk-${String(chunkNo).padStart(4, '0')}.csv`;
    const path = join(dir, 'samespace', name);
    try {
      writeFileSync(path, cols.length
        ? samespaceChunkCsv(cols.map((c) => c.key), chunk)
        // A mapping that feeds no property: Papa.unparse's output for rows without cells.
        : Papa.unparse({ fields: [], data: Array.from({ length: emptyRows }, () => []) }, { newline: '\r\n' }) + '\r\n');
    } catch (e) {
      throw writeFailed(e, path);
    }
    samespace!.write({ method: 'POST', path: '/manage/api/v3/csv/upload', multipart: { uploadFile: `samespace/${name}` } });
    samespace!.write({
      method: 'POST', path: '/crm/api', body: {
        operationName: 'ImportContacts',
        variables: { fileUuid: `<fileUuid returned for ${name}>`, mapAttributes: mapAttributes(cols), moduleName },
      },
    });
    chunk = [];
    emptyRows = 0;
  };

  return {
    target: 'file',
    requiredFields: TARGET_REQUIREMENTS.file.fields,
    async open() {
      try {
        mkdirSync(wanted.has('samespace') ? join(dir, 'samespace') : dir, { recursive: true });
      } catch (e) {
        throw writeFailed(e, dir, 'the payload folder');
      }
      if (wanted.has('spoke')) spoke = new JsonLines(join(dir, 'spoke.jsonl'));
      if (wanted.has('samespace')) samespace = new JsonLines(join(dir, 'samespace.jsonl'));
      if (wanted.has('genesys')) genesys = new JsonLines(join(dir, 'genesys.jsonl'));
      if (wanted.has('talkdesk')) talkdesk = new JsonLines(join(dir, 'talkdesk.jsonl'));
    },
    async write(rec: ContactRecord) {
      const c = rec.contact;
      const notes: string[] = [];
      if (spoke) {
        if (c.owner && c.id) {
          const p = spokeContact(c);
          let list = owners.get(c.owner);
          if (!list) owners.set(c.owner, (list = []));
          list.push(spokeContactJson(p.contact));
          if (list.length >= spokeBatch) flushOwner(c.owner);
          for (const n of p.notes) notes.push(n);
        } else {
          notes.push(`not in spoke.jsonl: Spoke needs ${[!c.id && 'id', !c.owner && 'owner'].filter(Boolean).join(' and ')}`);
        }
      }
      if (samespace) {
        if (cols.length) chunk.push(samespaceCsvLine(samespaceRow(c, cols)));
        else emptyRows++;
        if (chunk.length + emptyRows >= chunkSize) flushChunk();
      }
      if (genesys) {
        if (c.phones.length) genesys.writeJson(`{"method":"POST","path":"/contacts","body":${genesysContactBodyJson(c)}}`);
        else notes.push('not in genesys.jsonl: Genesys needs a phone number');
      }
      if (talkdesk) talkdesk.writeJson(talkdeskContactJson(c));
      ctx.settle(rec, { status: 'success', action: 'written', targetId: c.id, notes: notes.length ? notes : undefined });
    },
    async close() {
      if (spoke) { for (const o of owners.keys()) flushOwner(o); spoke.close(); }
      if (samespace) { flushChunk(); samespace.close(); }
      genesys?.close();
      talkdesk?.close();
    },
  };
}
