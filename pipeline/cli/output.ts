/** What `check` and `run` print at the end: counts, failures by reason, where the report is. */
import { relative } from 'node:path';
import type { ContactRecord } from '../contact.js';
import { displayName } from '../contact.js';
import type { Summary } from '../report/summary.js';

const n = (x: number) => x.toLocaleString('en-US');

export function formatSummary(s: Summary, outDir: string, cwd = process.cwd()): string {
  const c = s.counts;
  const secs = s.durationMs / 1000;
  const lines: string[] = [];
  const what = s.command === 'check' ? 'check' : `run --target ${s.target}${s.dryRun ? ' (dry run)' : ''}`;
  if (s.status === 'skipped') {
    lines.push(`${what}: nothing to do: every input was already loaded into ${s.target}`);
    for (const i of s.inputs) {
      if (i.skipped) lines.push(`  ${i.file}: loaded by run ${i.skipped.runId} on ${i.skipped.loadedAt} (report: ${relative(cwd, i.skipped.report) || '.'})`);
    }
    lines.push('  Use --force to load it again.', '', `Report: ${relative(cwd, outDir) || '.'}/summary.json`);
    return lines.join('\n');
  }
  lines.push(`${what}: ${n(c.read)} rows read from ${s.inputs.map((i) => i.file).join(', ') || '(none)'} in ${secs.toFixed(1)} s (${n(s.rowsPerSecond)} rows/s)`);
  const verb = s.command === 'check' || s.dryRun ? 'would load' : 'success';
  const w = Math.max(...[c.success, c.failed, c.merged, c.unchanged].map((x) => n(x).length));
  lines.push(`  ${verb.padEnd(10)} ${n(c.success).padStart(w)}`);
  lines.push(`  ${'failed'.padEnd(10)} ${n(c.failed).padStart(w)}${c.failed ? '   see failed.csv' : ''}`);
  lines.push(`  ${'merged'.padEnd(10)} ${n(c.merged).padStart(w)}${c.merged ? '   see merged.csv' : ''}`);
  lines.push(`  ${'unchanged'.padEnd(10)} ${n(c.unchanged).padStart(w)}`);
  const codes = Object.entries(s.failuresByCode);
  if (codes.length) {
    lines.push('', 'Failures by reason:');
    for (const [code, f] of codes) {
      lines.push(`  ${code} × ${n(f.count)}: ${f.hint}`);
      for (const ex of f.examples.slice(0, 3)) lines.push(`      row ${ex.row}${s.inputs.length > 1 ? ` of ${ex.file}` : ''}: ${truncate(ex.message, 160)}`);
    }
  }
  const keys = Object.entries(s.mergesByKey);
  if (keys.length) lines.push('', `Merged by key: ${keys.map(([k, v]) => `${k} × ${n(v)}`).join(', ')}`);
  const conflicts = Object.entries(s.conflictsByField ?? {});
  if (conflicts.length) {
    lines.push(`Merged rows disagreed on: ${conflicts.map(([k, v]) => `${k} × ${n(v)}`).join(', ')} (the kept and rejected values are in success.csv)`);
  }
  if (s.notes.length) {
    lines.push('', 'Notes:');
    for (const note of s.notes.slice(0, 10)) lines.push(`  - ${truncate(note, 200)}`);
    if (s.notes.length > 10) lines.push(`  … ${s.notes.length - 10} more in summary.json`);
  }
  if (s.state?.unchangedNotSent) {
    lines.push('', `Incremental: ${n(s.state.unchangedNotSent)} contacts unchanged since their last confirmed load were not sent (state: ${s.state.path})`);
  }
  const d = s.deletes;
  if (d) {
    lines.push('', `--mirror: ${n(d.absent)} contacts loaded before are absent from this file: deleted ${n(d.deleted)}, already gone ${n(d.gone)}, failed ${n(d.failed)}`
      + (d.wouldDelete ? `, would delete ${n(d.wouldDelete)} (dry run)` : '')
      + (d.notCreatedByTool ? `, not created by contact-import (kept) ${n(d.notCreatedByTool)}` : '') + '   see deleted.csv');
    for (const g of d.guarded) {
      lines.push(`  GUARD: nothing deleted in ${g.scope}: ${n(g.wouldDelete)} of ${n(g.contacts)} contacts (${g.percent}%) would go, more than --max-delete-percent ${d.maxDeletePercent}.`,
        '         A truncated or partial file? Check it; if the deletes are right, run again with --allow-mass-delete.');
    }
  }
  if (s.abort) lines.push('', `Aborted: ${s.abort.code}: ${s.abort.message}`, `  hint: ${s.abort.hint}`);
  if (s.status === 'interrupted') {
    lines.push('', 'Interrupted: the run stopped before the end of its input; the counts above are the rows read until then'
      + (s.failuresByCode.NOT_SENT ? ' (rows read but not loaded are NOT_SENT in failed.csv)' : '') + '.',
    s.state ? '  Run the same command again to load the rest: what already landed is not sent twice.'
      : '  Run the same command again to process the whole input.');
  }
  const rel = relative(cwd, outDir) || '.';
  const html = s.files.report;
  lines.push('', html ? `Report: ${rel}/report.html  (summary.json, success.csv, failed.csv, merged.csv in ${rel}/)`
    : `Report: ${rel}/  (summary.json, success.csv, failed.csv, merged.csv)`);
  return lines.join('\n');
}

export function formatSample(records: ContactRecord[]): string {
  if (!records.length) return '';
  const lines = ['First contacts as they would load:'];
  for (const r of records) {
    const c = r.contact;
    const parts = [
      `row ${r.ref.row}:`,
      JSON.stringify(displayName(c)),
      c.id ? `id=${c.id}` : '',
      c.company ? `company=${JSON.stringify(c.company)}` : '',
      ...c.phones.map((p) => p.e164 + (p.ext ? ` x${p.ext}` : '')),
      ...c.emails,
      c.owner ? `owner=${c.owner}` : '',
    ].filter(Boolean);
    lines.push('  ' + parts.join(' '));
    for (const note of r.notes) lines.push(`      note: ${note}`);
  }
  return lines.join('\n');
}

function truncate(s: string, max: number): string {
  const one = s.replace(/\s+/g, ' ');
  return one.length > max ? one.slice(0, max - 1) + '…' : one;
}
