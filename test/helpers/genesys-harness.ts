/**
 * A LoaderContext for driving the real genesys loader against the emulator: a real
 * HttpClient with short backoffs, a settle() that fails the test on a second settle of
 * the same record, and contact builders.
 */
import { emptyContact, type ContactRecord } from '../../pipeline/contact.js';
import { mappingSchema } from '../../pipeline/mapping/schema.js';
import { createGenesysLoader } from '../../pipeline/loaders/genesys/loader.js';
import { startGenesysEmulator, type GenesysEmulator } from '../emulators/genesys.js';
import { loaderHarness, emulatorScope, type BaseHarnessOptions, type LoaderHarness } from './loader-harness.js';

export { tally } from './loader-harness.js';

let nextRow = 2;

/** A record as the pipeline hands it to a loader; rows are numbered in creation order. */
export function record(name: string | undefined, ...phones: string[]): ContactRecord {
  const row = nextRow++;
  return {
    contact: { ...emptyContact(), name, phones: phones.map((e164) => ({ e164 })) },
    ref: { file: 0, row, values: [name ?? '', phones.join(';')] },
    merged: [],
    conflicts: [],
    notes: [],
  };
}

/** `n` contacts "Customer <prefix>-i" with distinct +1 415 555 2xxx numbers. */
export function customers(n: number, prefix = 'A', first = 2000): ContactRecord[] {
  return Array.from({ length: n }, (_, i) => record(`Customer ${prefix}-${i}`, `+1415555${first + i}`));
}

export interface HarnessOptions extends BaseHarnessOptions {
  /** mapping.targets.genesys.concurrency */
  mappingConcurrency?: number;
  defaultCountry?: string;
}

export type Harness = LoaderHarness;

export function harness(emu: GenesysEmulator, o: HarnessOptions = {}): Harness {
  return loaderHarness(emu.env, {
    ...o,
    mapping: mappingSchema.parse({
      fields: {},
      phone: o.defaultCountry ? { defaultCountry: o.defaultCountry } : undefined,
      targets: { genesys: o.mappingConcurrency ? { concurrency: o.mappingConcurrency } : {} },
    }),
    create: createGenesysLoader,
  });
}

/** An emulator and a harness on it for the body, both closed afterwards whatever happens. */
export const withEmulator = emulatorScope(startGenesysEmulator, harness);
