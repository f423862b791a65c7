/** The loader registry: an explicit map from target name to factory (no discovery by file name). */
import { ImportError } from '../errors.js';
import type { Loader, LoaderContext, LoaderFactory, TargetName } from './types.js';
import { TARGETS } from './types.js';
export { TARGET_REQUIREMENTS, mappingEntriesFor, unmappedTargetField } from './types.js';
import { createFileLoader } from './file/loader.js';
import { createSpokeLoader } from './spoke/loader.js';
import { createSamespaceLoader } from './samespace/loader.js';
import { createGenesysLoader } from './genesys/loader.js';
import { createTalkdeskLoader } from './talkdesk/loader.js';

const FACTORIES: Record<TargetName, LoaderFactory> = {
  file: createFileLoader,
  spoke: createSpokeLoader,
  samespace: createSamespaceLoader,
  genesys: createGenesysLoader,
  talkdesk: createTalkdeskLoader,
};

export function createLoader(target: TargetName, ctx: LoaderContext): Loader {
  // The type says a TargetName; a value from outside (a mapping, a test) may still be any string.
  const f = Object.hasOwn(FACTORIES, target) ? FACTORIES[target] : undefined;
  if (!f) throw new ImportError('TARGET_UNKNOWN', `unknown target "${target}"; available: ${TARGETS.join(', ')}`);
  return f(ctx);
}
