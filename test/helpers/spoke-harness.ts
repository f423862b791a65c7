/**
 * The spoke loader against its emulator (the shared loader harness), and contact builders.
 */
import type { Contact, ContactRecord } from '../../pipeline/contact.js';
import { emptyContact } from '../../pipeline/contact.js';
import { mappingSchema } from '../../pipeline/mapping/schema.js';
import { createSpokeLoader, type SpokeLoaderTuning } from '../../pipeline/loaders/spoke/loader.js';
import { startSpokeEmulator, type SpokeEmulator } from '../emulators/spoke.js';
import { loaderHarness, hashString, emulatorScope, type BaseHarnessOptions, type LoaderHarness } from './loader-harness.js';

export { tally } from './loader-harness.js';

export interface ContactSpec {
  id?: string;
  owner?: string;
  name?: string;
  company?: string;
  phones?: string[];
  emails?: string[];
}

let nextRow = 2;

/** A record as the pipeline hands it to a loader; rows are numbered in creation order. */
export function record(spec: ContactSpec): ContactRecord {
  const contact: Contact = {
    ...emptyContact(),
    id: spec.id,
    owner: spec.owner,
    name: spec.name,
    company: spec.company,
    phones: (spec.phones ?? []).map((e164) => ({ e164 })),
    emails: spec.emails ?? [],
  };
  const row = nextRow++;
  return { contact, ref: { file: 0, row, values: [spec.id ?? '', spec.name ?? ''] }, merged: [], conflicts: [], notes: [] };
}

/** `n` contacts for `owner`, ids `${prefix}-0..n-1`, each with a distinct valid phone. */
export function contactsFor(owner: string, n: number, prefix = owner.split('@')[0]): ContactRecord[] {
  return Array.from({ length: n }, (_, i) => record({
    id: `${prefix}-${i}`,
    owner,
    name: `Contact ${prefix} ${i}`,
    company: i % 3 === 0 ? 'Acme Ltd' : undefined,
    phones: [`+1415555${String(1000 + (hashString(prefix) + i) % 9000).padStart(4, '0')}`],
    emails: i % 2 === 0 ? [`c${i}.${prefix.replace(/[^a-z0-9]/gi, '')}@example.com`] : [],
  }));
}

/** Interleaves lists (a0, b0, c0, a1, ...) the way a real file mixes owners. */
export function interleave<T>(...lists: T[][]): T[] {
  const out: T[] = [];
  for (let i = 0; lists.some((l) => i < l.length); i++) for (const l of lists) if (i < l.length) out.push(l[i]);
  return out;
}

export interface HarnessOptions extends BaseHarnessOptions {
  tuning?: SpokeLoaderTuning;
  mappingSpoke?: { batchSize?: number; concurrency?: number };
}

export type Harness = LoaderHarness;

export function harness(emu: SpokeEmulator, o: HarnessOptions = {}): Harness {
  return loaderHarness(emu.env, {
    ...o,
    mapping: mappingSchema.parse({ fields: {}, targets: { spoke: o.mappingSpoke ?? {} } }),
    create: (ctx) => createSpokeLoader(ctx, o.tuning),
    openOnLoad: false,
  });
}

/** An emulator and a harness on it for the body, both closed afterwards whatever happens. */
export const withEmulator = emulatorScope(startSpokeEmulator, harness);
