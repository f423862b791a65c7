/** The loader registry: an explicit map from target name to factory (no discovery by file name). */
import { ImportError } from '../errors.js';
import type { Loader, LoaderContext, LoaderFactory, TargetName } from './types.js';
import { TARGETS } from './types.js';
import { createFileLoader } from './file/loader.js';
import { createSpokeLoader } from './spoke/loader.js';
import { createSamespaceLoader } from './samespace/loader.js';
import { createGenesysLoader } from './genesys/loader.js';
import { createTalkdeskLoader } from './talkdesk/loader.js';

const FACTORIES: Partial<Record<TargetName, LoaderFactory>> = {
  file: createFileLoader,
  spoke: createSpokeLoader,
  samespace: createSamespaceLoader,
  genesys: createGenesysLoader,
  talkdesk: createTalkdeskLoader,
};

/** Fields each target needs on every contact, checked before anything is sent. */
export const TARGET_REQUIREMENTS: Record<TargetName, { fields: readonly string[] }> = {
  file: { fields: [] },
  spoke: { fields: ['id', 'name', 'owner'] },
  samespace: { fields: [] },
  genesys: { fields: ['name', 'phones'] },
  talkdesk: { fields: ['id', 'name'] },
};

export function availableTargets(): TargetName[] {
  return TARGETS.filter((t) => FACTORIES[t]);
}

export function createLoader(target: TargetName, ctx: LoaderContext): Loader {
  const f = FACTORIES[target];
  if (!f) throw new ImportError('TARGET_UNKNOWN', `unknown target "${target}"; available: ${availableTargets().join(', ')}`);
  return f(ctx);
}
