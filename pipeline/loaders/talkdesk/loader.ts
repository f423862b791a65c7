/**
 * Target `talkdesk`: Talkdesk pulls contacts from a bridge (talkdesk-contact-sync.txt),
 * so loading means writing them into the embedded store that `contact-import bridge`
 * serves. Contacts are upserted by external id in one transaction per batch; a contact
 * whose content hash is unchanged keeps its change marker and settles as `unchanged`,
 * so the next incremental sync carries only what really changed.
 *
 * Contacts absent from the input are left in the store (see README, "Talkdesk"): the
 * documented sync cannot tell Talkdesk that a contact was removed.
 */
import { existsSync } from 'node:fs';
import type { ContactRecord } from '../../contact.js';
import { ImportError, isImportError } from '../../errors.js';
import { TARGET_REQUIREMENTS } from '../types.js';
import type { Loader, LoaderContext } from '../types.js';
import { openStore, resolveStatePath, type Db } from '../../state/store.js';
import { TALKDESK_SCHEMA, TalkdeskStore } from '../../state/talkdesk.js';
import { talkdeskContact } from './payload.js';

const DEFAULT_BATCH = 1000;

export function createTalkdeskLoader(ctx: LoaderContext): Loader {
  const batchSize = Math.max(1, ctx.options.batchSize ?? DEFAULT_BATCH);
  const path = resolveStatePath(ctx.options.flags.state as string | undefined, ctx.env);
  let db: Db | undefined;
  let store: TalkdeskStore | undefined;
  let batch: ContactRecord[] = [];

  const flush = () => {
    if (!batch.length) return;
    const records = batch;
    batch = [];
    let actions;
    try {
      actions = store!.upsertBatch(records.map((r) => talkdeskContact(r.contact)), { dryRun: ctx.options.dryRun });
    } catch (e) {
      if (isImportError(e)) throw e;
      // Disk full, a lock held past the busy timeout, a corrupt file: nothing of this
      // batch was written (the transaction rolled back), and the next batch would fail too.
      throw new ImportError('TARGET_UNREACHABLE', `cannot write to the state store ${path}: ${(e as Error).message}`);
    }
    records.forEach((rec, i) => {
      const action = actions[i];
      const id = rec.contact.id;
      // A dry run says what would happen (as Spoke's would-upsert does): nothing was created.
      ctx.settle(rec, action === 'unchanged'
        ? { status: 'unchanged', action, targetId: id }
        : { status: 'success', action: ctx.options.dryRun ? `would-${action.replace(/d$/, '')}` : action, targetId: id });
    });
  };

  return {
    target: 'talkdesk',
    requiredFields: TARGET_REQUIREMENTS.talkdesk.fields,
    async open() {
      // A dry run writes nothing: without a state file it plans against an empty store.
      db = openStore({ path: ctx.options.dryRun && !existsSync(path) ? ':memory:' : path, schemas: [TALKDESK_SCHEMA] });
      store = new TalkdeskStore(db);
      ctx.log.debug('talkdesk.store', `state store ${path}`);
    },
    async write(rec: ContactRecord) {
      batch.push(rec);
      if (batch.length >= batchSize) flush();
    },
    async close() {
      try {
        // An interrupted run still commits what it was handed: the runner settles only
        // what the loader did not.
        flush();
      } finally {
        db?.close();
        db = undefined;
      }
    },
  };
}
