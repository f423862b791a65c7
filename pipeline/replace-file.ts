/**
 * A small file replaced whole or not at all: written beside it (a dot file), then renamed
 * over it, so that a full disk or a kill mid-write leaves the file before it, never a cut-off
 * one that a reader (a scheduler's script, the next `watch --once`) would choke on.
 */
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** Throws the write's own error, leaving no temporary file behind. */
export function replaceFile(path: string, text: string): void {
  const tmp = join(dirname(path), `.${basename(path)}.tmp`);
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, path);
  } catch (e) {
    try { rmSync(tmp, { force: true }); } catch { /* the write's error says what matters */ }
    throw e;
  }
}
