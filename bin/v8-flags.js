// Which V8 flags node was started with, for bin/contact-import.js: a flag the user gave wins
// over the default it sets. V8 reads `_` and `-` in a flag's name alike, and `--no-x` is x.

/** The flag's name as V8 means it: dashes only, without a value or `--no-`. */
function nameOf(arg) {
  return arg.split('=')[0].replace(/_/g, '-').replace(/^--no-/, '--');
}

/** Whether `execArgv` (node's own arguments) sets `flag` (written `--dashed-name`), in any spelling. */
export function nodeWasGiven(flag, execArgv = process.execArgv) {
  return execArgv.some((a) => nameOf(a) === flag);
}
