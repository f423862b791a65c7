/**
 * Target `file`: no network. Writes the exact requests each target would receive into
 * <report>/payloads/, one JSON line per request, so a person can inspect a load before
 * pointing it at a real system:
 *   spoke.jsonl      PUT /phonebooks/{email}/contacts, batched per owner
 *   samespace/       the CSV chunks to upload, and samespace.jsonl with the importContacts calls
 *   genesys.jsonl    POST /contacts (what a first load would create)
 *   talkdesk.jsonl   the contacts as the contact-sync bridge would serve them
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
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
  /**
   * The samespace chunk being filled: its file, written row by row (a chunk's 5,000 lines
   * held until it was full all outlived the young generation), and its row count.
   * columnPlan() refuses a mapping that feeds no property, so every row has cells.
   */
  let chunkFile: FileSink | undefined;
  let chunkRows = 0;
  let chunkNo = 0;
  const chunkName = () => `chunk-${String(chunkNo).padStart(4, '0')}.csv`;

  const flushOwner = (owner: string) => {
    const list = owners.get(owner);
    if (!list?.length) return;
    spoke!.writeJson(`{"method":"PUT","path":${jsonString(spokeContactsPath(owner))},"body":{"contacts":[${list.join(',')}]}}`);
    // Emptied, not replaced: a list that lived long enough to reach the old generation would,
    // once dropped, still point at its strings until the next full collection, and the young
    // collections would copy and promote them (issue #11).
    list.length = 0;
  };
  /** The row goes to the chunk being filled (opened with its header on its first row). */
  const chunkRow = (line: string) => {
    if (!chunkFile) {
      chunkNo++;
      chunkFile = new FileSink(join(dir, 'samespace', chunkName()));
      chunkFile.write(samespaceChunkHeader(cols.map((c) => c.key)));
    }
    chunkFile.write(line + '\r\n');
    if (++chunkRows >= chunkSize) flushChunk();
  };
  const flushChunk = () => {
    if (!chunkFile) return;
    const file = chunkFile;
    chunkFile = undefined;
    chunkRows = 0;
    file.close();
    const name = chunkName();
    samespace!.write({ method: 'POST', path: '/manage/api/v3/csv/upload', multipart: { uploadFile: `samespace/${name}` } });
    samespace!.write({
      method: 'POST', path: '/crm/api', body: {
        operationName: 'ImportContacts',
        variables: { fileUuid: `<fileUuid returned for ${name}>`, mapAttributes: mapAttributes(cols), moduleName },
      },
    });
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
        chunkRow(samespaceCsvLine(samespaceRow(c, cols)));
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
