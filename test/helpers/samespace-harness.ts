/**
 * A LoaderContext for driving the real samespace loader against the emulator: a real
 * HttpClient with short backoffs, a settle() that fails the test on a second settle of
 * the same record, a temporary report folder, and contact builders.
 */
import type { Contact, ContactRecord } from '../../pipeline/contact.js';
import { emptyContact } from '../../pipeline/contact.js';
import { mappingSchema, type MappingInput } from '../../pipeline/mapping/schema.js';
import { createSamespaceLoader } from '../../pipeline/loaders/samespace/loader.js';
import { startSamespaceEmulator, type SamespaceEmulator } from '../emulators/samespace.js';
import { loaderHarness, hashString, emulatorScope, type BaseHarnessOptions, type LoaderHarness } from './loader-harness.js';

export { tally } from './loader-harness.js';

export interface ContactSpec {
  firstName?: string;
  lastName?: string;
  company?: string;
  phones?: string[];
  emails?: string[];
  custom?: Record<string, string>;
}

let nextRow = 2;

/** A record as the pipeline hands it to a loader; rows are numbered in creation order. */
export function record(spec: ContactSpec): ContactRecord {
  const contact: Contact = {
    ...emptyContact(),
    firstName: spec.firstName,
    lastName: spec.lastName,
    name: [spec.firstName, spec.lastName].filter(Boolean).join(' ') || undefined,
    company: spec.company,
    phones: (spec.phones ?? []).map((e164) => ({ e164 })),
    emails: spec.emails ?? [],
    custom: spec.custom ?? {},
  };
  const row = nextRow++;
  return { contact, ref: { file: 0, row, values: [spec.firstName ?? '', spec.lastName ?? ''] }, merged: [], conflicts: [], notes: [] };
}

/** `n` distinct valid contacts: first/last name, an email and phone unique to the prefix and index. */
export function people(n: number, prefix = 'p'): ContactRecord[] {
  const base = prefix === 'p' ? 0 : 1000 + (hashString(prefix) % 7000);
  return Array.from({ length: n }, (_, i) => record({
    firstName: `First${prefix}${i}`,
    lastName: `Last${i}`,
    company: i % 3 === 0 ? 'Acme Ltd' : undefined,
    emails: [`${prefix}${i}@example.com`],
    phones: [`+1415555${String((1000 + base + i) % 10000).padStart(4, '0')}`],
  }));
}

/** The mapping fields that feed the standard properties (column names do not matter to a loader). */
export const STANDARD_FIELDS: MappingInput['fields'] = {
  firstName: 'First', lastName: 'Last', company: 'Company', emails: 'Email', phones: 'Phone',
};

export interface HarnessOptions extends BaseHarnessOptions {
  fields?: MappingInput['fields'];
  samespace?: NonNullable<MappingInput['targets']>['samespace'];
}

export type Harness = LoaderHarness;

export function harness(emu: SamespaceEmulator, o: HarnessOptions = {}): Harness {
  return loaderHarness(emu.env, {
    ...o,
    mapping: mappingSchema.parse({ fields: o.fields ?? STANDARD_FIELDS, targets: { samespace: o.samespace ?? {} } }),
    create: createSamespaceLoader,
  });
}

/** An emulator and a harness on it for the body, both closed afterwards whatever happens. */
export const withEmulator = emulatorScope(startSamespaceEmulator, harness);
