/**
 * Target `file`: no network. Writes the exact requests each target would receive into
 * <report>/payloads/, one JSON line per request, so a person can inspect a load before
 * pointing it at a real system:
 *   spoke.jsonl      PUT /phonebooks/{email}/contacts, batched per owner
 *   samespace/       the CSV chunks to upload, and samespace.jsonl with the importContacts calls
 *   genesys.jsonl    POST /contacts (what a first load would create)
 *   talkdesk.jsonl   the contacts as the contact-sync bridge would serve them
 */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import Papa from 'papaparse';
import type { ContactRecord } from '../../contact.js';
import type { Loader, LoaderContext } from '../types.js';
import { spokeContact, spokeContactsPath, type SpokeContact } from '../spoke/payload.js';
import { mapAttributes, samespaceRow } from '../samespace/payload.js';
import { columnPlan } from '../samespace/plan.js';
import { genesysContact } from '../genesys/payload.js';
import { talkdeskContact } from '../talkdesk/payload.js';

class JsonLines {
  private fd: number;
  private buf = '';
  constructor(path: string) { this.fd = openSync(path, 'w'); }
  write(obj: unknown) {
    this.buf += JSON.stringify(obj) + '\n';
    if (this.buf.length > 65536) this.flush();
  }
  flush() { if (this.buf) { writeSync(this.fd, this.buf); this.buf = ''; } }
  close() { this.flush(); closeSync(this.fd); }
}

export const FILE_TARGET_FORMATS = ['spoke', 'samespace', 'genesys', 'talkdesk'] as const;
export type FileFormat = (typeof FILE_TARGET_FORMATS)[number];

export function createFileLoader(ctx: LoaderContext): Loader {
  const dir = join(ctx.outDir, 'payloads');
  const wanted = new Set((ctx.options.flags.formats as FileFormat[] | undefined) ?? FILE_TARGET_FORMATS);
  const spokeBatch = ctx.options.batchSize ?? ctx.mapping.targets.spoke?.batchSize ?? 100;
  const chunkSize = ctx.options.batchSize ?? ctx.mapping.targets.samespace?.chunkSize ?? 5000;
  // The same columns the samespace loader uploads: only properties the mapping feeds.
  const cols = columnPlan(ctx.mapping);
  const moduleName = ctx.mapping.targets.samespace?.module ?? 'Contacts';

  let spoke: JsonLines | undefined;
  let samespace: JsonLines | undefined;
  let genesys: JsonLines | undefined;
  let talkdesk: JsonLines | undefined;
  const owners = new Map<string, SpokeContact[]>();
  let chunk: string[][] = [];
  let chunkNo = 0;

  const flushOwner = (owner: string) => {
    const list = owners.get(owner);
    if (!list?.length) return;
    spoke!.write({ method: 'PUT', path: spokeContactsPath(owner), body: { contacts: list } });
    owners.set(owner, []);
  };
  const flushChunk = () => {
    if (!chunk.length) return;
    chunkNo++;
    const name = `chunk-${String(chunkNo).padStart(4, '0')}.csv`;
    const fd = openSync(join(dir, 'samespace', name), 'w');
    writeSync(fd, Papa.unparse({ fields: cols.map((c) => c.key), data: chunk }, { newline: '\r\n' }) + '\r\n');
    closeSync(fd);
    samespace!.write({ method: 'POST', path: '/manage/api/v3/csv/upload', multipart: { uploadFile: `samespace/${name}` } });
    samespace!.write({
      method: 'POST', path: '/crm/api', body: {
        operationName: 'ImportContacts',
        variables: { fileUuid: `<fileUuid returned for ${name}>`, mapAttributes: mapAttributes(cols), moduleName },
      },
    });
    chunk = [];
  };

  return {
    target: 'file',
    requiredFields: [],
    async open() {
      mkdirSync(dir, { recursive: true });
      if (wanted.has('spoke')) spoke = new JsonLines(join(dir, 'spoke.jsonl'));
      if (wanted.has('samespace')) { mkdirSync(join(dir, 'samespace'), { recursive: true }); samespace = new JsonLines(join(dir, 'samespace.jsonl')); }
      if (wanted.has('genesys')) genesys = new JsonLines(join(dir, 'genesys.jsonl'));
      if (wanted.has('talkdesk')) talkdesk = new JsonLines(join(dir, 'talkdesk.jsonl'));
    },
    async write(rec: ContactRecord) {
      const c = rec.contact;
      const notes: string[] = [];
      if (spoke) {
        if (c.owner && c.id) {
          const p = spokeContact(c);
          const list = owners.get(c.owner) ?? [];
          list.push(p.contact);
          owners.set(c.owner, list);
          if (list.length >= spokeBatch) flushOwner(c.owner);
          notes.push(...p.notes);
        } else {
          notes.push(`not in spoke.jsonl: Spoke needs ${[!c.id && 'id', !c.owner && 'owner'].filter(Boolean).join(' and ')}`);
        }
      }
      if (samespace) {
        chunk.push(samespaceRow(c, cols));
        if (chunk.length >= chunkSize) flushChunk();
      }
      if (genesys) {
        if (c.phones.length) genesys.write({ method: 'POST', path: '/contacts', body: genesysContact(c).body });
        else notes.push('not in genesys.jsonl: Genesys needs a phone number');
      }
      if (talkdesk) talkdesk.write(talkdeskContact(c));
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
