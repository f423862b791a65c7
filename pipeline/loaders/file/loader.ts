/**
 * Target `file`: no network. Writes the exact requests each target would receive into
 * <report>/payloads/, one JSON line per request, so a person can inspect a load before
 * pointing it at a real system:
 *   spoke.jsonl      PUT /phonebooks/{email}/contacts, batched per owner
 *   samespace/       the CSV chunks to upload, and samespace.jsonl with the importContacts calls
 *   genesys.jsonl    POST /contacts (what a first load would create)
 *   talkdesk.jsonl   the contacts as the contact-sync bridge would serve them
 * A contact goes into spoke, genesys and talkdesk's files only when it has every field that
 * target requires (render.ts admitted()); its success.csv row notes each file that left it out.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ContactRecord } from '../../contact.js';
import { mappingEntriesFor, TARGET_REQUIREMENTS, unmappedTargetField, type Loader, type LoaderContext } from '../types.js';
import { spokeContactsPath } from '../spoke/payload.js';
import { mapAttributes } from '../samespace/payload.js';
import { DEFAULT_CHUNK_SIZE } from '../samespace/loader.js';
import { SPOKE_DEFAULT_BATCH_SIZE } from '../spoke/loader.js';
import { FileSink } from '../../report/file-sink.js';
import { ByteBuilder } from '../../bytes.js';
import { writeFailed } from '../../errors.js';
import { FILE_PART, FILE_PARTS, fileRenderPlan, partRanges, renderFileContact, samespaceChunkHeader, TARGET_LABEL, writtenOutcome, type FileRenderPlan } from './render.js';

export { FILE_TARGET_FORMATS, samespaceChunkCsv, samespaceChunkHeader, samespaceCsvCell, samespaceCsvLine } from './render.js';

/**
 * One JSON document per line. The per-contact payloads arrive already as UTF-8
 * (renderFileContact: the bytes JSON.stringify gives, without building an object per
 * contact); the rare envelope objects go through JSON.stringify.
 */
class JsonLines {
  readonly sink: FileSink;
  constructor(path: string) { this.sink = new FileSink(path); }
  write(obj: unknown) { this.sink.write(JSON.stringify(obj) + '\n'); }
  close() { this.sink.close(); }
}

/**
 * A Spoke phonebook's batch being filled: its contacts' JSON, comma-separated, as UTF-8 in one
 * buffer that grows as needed and is reused once written. Copying a rendered contact's bytes in
 * costs less than keeping a view of them and writing the views one by one at the end (issue #11).
 */
class OwnerBatch {
  private readonly out = new ByteBuilder(1024);
  count = 0;

  /** Appends a contact's JSON, bytes [start, end) of a Buffer rendered by renderFileContact. */
  add(json: Buffer, start: number, end: number) {
    if (this.count++) this.out.byte(0x2c); // ','
    this.out.bytes(json, start, end);
  }

  /** Writes the batch's contacts to `sink` and empties it. */
  drainTo(sink: FileSink) {
    sink.writeBytes(this.out.buf, 0, this.out.used);
    this.out.used = 0;
    this.count = 0;
  }
}

/** The file target's loader, which also takes contacts rendered elsewhere. */
export interface FileLoader extends Loader {
  readonly plan: FileRenderPlan;
  /**
   * A contact whose payload lines were rendered elsewhere (the second phase's singleton renderer,
   * from renderFileContact), as UTF-8 in `b`: `at` holds a [start, end) pair per FILE_PART (Spoke
   * without a line end: it joins its owner's batch; Samespace, Genesys and Talkdesk with theirs),
   * a start of -1 where the contact is not in that file. The caller settles it.
   */
  writeRendered(owner: string, b: Buffer, at: ArrayLike<number>): void;
}

export function createFileLoader(ctx: LoaderContext): FileLoader {
  const dir = join(ctx.outDir, 'payloads');
  // The CLI accepts only FILE_TARGET_FORMATS (yargs choices, like --target).
  const plan = fileRenderPlan(ctx.mapping, ctx.options.flags.formats as string[] | undefined);
  const spokeBatch = ctx.options.batchSize ?? ctx.mapping.targets.spoke?.batchSize ?? SPOKE_DEFAULT_BATCH_SIZE;
  const chunkSize = ctx.options.batchSize ?? ctx.mapping.targets.samespace?.chunkSize ?? DEFAULT_CHUNK_SIZE;
  const cols = plan.cols;
  const moduleName = ctx.mapping.targets.samespace?.module ?? 'Contacts';

  let spoke: JsonLines | undefined;
  let samespace: JsonLines | undefined;
  let genesys: JsonLines | undefined;
  let talkdesk: JsonLines | undefined;
  /** What write() renders one contact into, and where its parts are. */
  const scratch = new ByteBuilder(4096);
  const scratchSizes = new Uint32Array(FILE_PARTS);
  const scratchAt = new Float64Array(2 * FILE_PARTS);
  /** Per owner: the batch being filled. */
  const owners = new Map<string, OwnerBatch>();
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
    const batch = owners.get(owner);
    if (!batch?.count) return;
    const sink = spoke!.sink;
    sink.write(`{"method":"PUT","path":${JSON.stringify(spokeContactsPath(owner))},"body":{"contacts":[`);
    batch.drainTo(sink);
    sink.write(']}}\n');
  };
  /** The chunk being filled (opened with its header on its first row). */
  const chunk = () => {
    if (!chunkFile) {
      chunkNo++;
      chunkFile = new FileSink(join(dir, 'samespace', chunkName()));
      chunkFile.write(samespaceChunkHeader(cols.map((c) => c.key)));
    }
    return chunkFile;
  };
  const chunkRowDone = () => { if (++chunkRows >= chunkSize) flushChunk(); };
  /** A contact's Spoke JSON (bytes [start, end) of `json`) joins its owner's batch, which is written once full. */
  const toOwnerBatch = (owner: string, json: Buffer, start: number, end: number) => {
    let batch = owners.get(owner);
    if (!batch) owners.set(owner, (batch = new OwnerBatch()));
    batch.add(json, start, end);
    if (batch.count >= spokeBatch) flushOwner(owner);
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

  /** FileLoader.writeRendered: also what write() calls, for the contact it renders itself. */
  const writeRendered = (owner: string, b: Buffer, at: ArrayLike<number>) => {
    // The Spoke part is copied into its owner's batch.
    const s = 2 * FILE_PART.spoke, ss = 2 * FILE_PART.samespace, g = 2 * FILE_PART.genesys, t = 2 * FILE_PART.talkdesk;
    if (at[s] >= 0) toOwnerBatch(owner, b, at[s], at[s + 1]);
    if (at[ss] >= 0) { chunk().writeBytes(b, at[ss], at[ss + 1]); chunkRowDone(); }
    if (at[g] >= 0) genesys!.sink.writeBytes(b, at[g], at[g + 1]);
    if (at[t] >= 0) talkdesk!.sink.writeBytes(b, at[t], at[t + 1]);
  };

  return {
    target: 'file',
    plan,
    requiredFields: TARGET_REQUIREMENTS.file.fields,
    async open() {
      try {
        mkdirSync(plan.samespace ? join(dir, 'samespace') : dir, { recursive: true });
      } catch (e) {
        throw writeFailed(e, dir, 'the payload folder');
      }
      // A payload file that cannot hold any contact: said once in the run's notes (summary.json, the end-of-run
      // lines, report.html), not only on every success.csv row.
      for (const t of Object.keys(TARGET_LABEL) as (keyof typeof TARGET_LABEL)[]) {
        const field = plan[t] ? unmappedTargetField(ctx.mapping, t) : undefined;
        if (!field) continue;
        const message = `payloads/${t}.jsonl holds no contact: ${TARGET_LABEL[t]} needs "${field}" on every contact and the mapping maps nothing to it `
          + `(add ${mappingEntriesFor(field)}, or leave ${t} out with --formats)`;
        ctx.note(message);
      }
      if (plan.spoke) spoke = new JsonLines(join(dir, 'spoke.jsonl'));
      if (plan.samespace) samespace = new JsonLines(join(dir, 'samespace.jsonl'));
      if (plan.genesys) genesys = new JsonLines(join(dir, 'genesys.jsonl'));
      if (plan.talkdesk) talkdesk = new JsonLines(join(dir, 'talkdesk.jsonl'));
    },
    async write(rec: ContactRecord) {
      const c = rec.contact;
      scratch.used = 0;
      const r = renderFileContact(c, plan, scratch, scratchSizes, 0);
      partRanges(scratchSizes, 0, scratchSizes.length, 0, scratchAt);
      writeRendered(r.owner, scratch.buf, scratchAt);
      ctx.settle(rec, writtenOutcome(c.id, r.notes));
    },
    writeRendered,
    async close() {
      if (spoke) { for (const o of owners.keys()) flushOwner(o); spoke.close(); }
      if (samespace) { flushChunk(); samespace.close(); }
      genesys?.close();
      talkdesk?.close();
    },
  };
}
