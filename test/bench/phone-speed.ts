/**
 * Phone normalization speed, on its own: the phone cells of the bench file (the
 * generator's rows for --rows/--seed, the same cells `generate.ts --out` writes), each
 * with the country the pipeline would give it (the Country cell, else US), timed through
 * the tool's normalizePhoneCell and through the pre-optimization reference
 * (test/helpers/phone-reference.ts), in the same process, in alternating order.
 *
 *   node --import tsx test/bench/phone-speed.ts --rows 200000 --seed 42 [--rounds 2]
 *
 * Each implementation runs over every cell once per round; the first round includes
 * JIT warm-up (and the tool's compiling of each numbering plan's patterns), as a real
 * run does. Wall time and the process's CPU time are both printed: on a shared machine
 * the CPU time is the steadier of the two.
 */
import { parseArgs } from 'node:util';
import type { CountryCode } from 'libphonenumber-js';
import { generateRows } from './generate.js';
import { normalizePhoneCell as toolCell, resolveCountry } from '../../pipeline/transforms/phone.js';
import { normalizePhoneCell as referenceCell } from '../helpers/phone-reference.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '200000' },
    seed: { type: 'string', default: '42' },
    rounds: { type: 'string', default: '1' },
  },
});
const rows = Number(values.rows);
const seed = Number(values.seed);
const rounds = Number(values.rounds);

const cells: string[] = [];
const countries: (CountryCode | undefined)[] = [];
let numbers = 0;
for (const row of generateRows(rows, seed)) {
  const country = (row.values[8] && resolveCountry(row.values[8])) || 'US';
  for (const col of [6, 7]) {
    if (!row.values[col]) continue;
    cells.push(row.values[col]);
    countries.push(country);
  }
  numbers += row.numbers.length;
}

type Cell = typeof toolCell;
function time(fn: Cell): { ms: number; cpuMs: number; phones: number } {
  let phones = 0;
  const cpu = process.cpuUsage();
  const t = performance.now();
  for (let i = 0; i < cells.length; i++) phones += fn(cells[i], { defaultCountry: countries[i] }).phones.length;
  const ms = performance.now() - t;
  const used = process.cpuUsage(cpu);
  return { ms, cpuMs: (used.user + used.system) / 1000, phones };
}

console.log(`${rows} rows (seed ${seed}): ${cells.length} non-empty phone cells, ${numbers} written numbers`);
interface Figures { ms: number; cpuMs: number; usPerCell: number; cpuUsPerCell: number; cellsPerSecond: number }
const result: Record<string, Figures[]> = { reference: [], tool: [] };
for (let round = 1; round <= rounds; round++) {
  // Alternate the order so that neither side always runs on a warmer machine.
  const order: ['reference' | 'tool', Cell][] = round % 2 ? [['reference', referenceCell], ['tool', toolCell]] : [['tool', toolCell], ['reference', referenceCell]];
  const phones: Record<string, number> = {};
  for (const [name, fn] of order) {
    const r = time(fn);
    phones[name] = r.phones;
    result[name].push({
      ms: Math.round(r.ms), cpuMs: Math.round(r.cpuMs),
      usPerCell: round2((r.ms * 1000) / cells.length), cpuUsPerCell: round2((r.cpuMs * 1000) / cells.length),
      cellsPerSecond: Math.round(cells.length / (r.ms / 1000)),
    });
  }
  if (phones.reference !== phones.tool) throw new Error(`round ${round}: reference found ${phones.reference} phones, tool ${phones.tool}`);
  const [ref, tool] = [result.reference[round - 1], result.tool[round - 1]];
  console.log(`round ${round}:\n  reference ${fmt(ref)}\n  tool      ${fmt(tool)}\n  speed-up  ×${round2(ref.ms / tool.ms)} wall, ×${round2(ref.cpuMs / tool.cpuMs)} CPU`);
}

function fmt(r: Figures): string {
  return `${r.ms} ms wall (${r.usPerCell} µs/cell, ${r.cellsPerSecond.toLocaleString('en-US')} cells/s), ${r.cpuMs} ms CPU (${r.cpuUsPerCell} µs/cell)`;
}
function round2(x: number): number { return Math.round(x * 100) / 100; }
