/**
 * A chaos run: 20,000 contacts through the built CLI into the Spoke and Samespace
 * emulators while they answer 10% 503, drop 5% of connections, answer 5% 429 with
 * Retry-After, add random latency, and (Spoke) expire tokens after a few seconds. At the
 * end the emulator holds exactly the expected contacts, the report accounts for every row,
 * and the exit code matches the outcome (1: the 1% of rows with a broken phone fail).
 *
 * The faults come from the emulators' seeded PRNG, so a run is reproducible; the time
 * limit passed to runCli is a hang guard, not a timing assertion.
 */
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { nonEmptyPhonebooks, startSpokeEmulator } from './emulators/spoke.js';
import { startSamespaceEmulator } from './emulators/samespace.js';
import { assertInvariant, readReportCsv, runCli, tempDir } from './helpers/cli.js';

const N = 20_000;
const OWNERS = ['maria@ourco.example', 'james@ourco.example', 'sales+west@ourco.example', 'li.wei@ourco.example'];
const AREAS = ['212', '415', '650', '312', '617'];
/** Central office codes 200-899 without N11 (211, 311, ...), which are not numbers. */
const EXCHANGES = Array.from({ length: 700 }, (_, k) => 200 + k).filter((x) => x % 100 !== 11);

const tmp = tempDir('chaos-run-');
after(() => tmp.cleanup());

interface Row { id: string; first: string; last: string; company: string; phone: string; e164?: string; email: string; owner: string }

/** Every 100th row has a phone too short to be a number: it fails at normalize and is never sent. */
function rows(): Row[] {
  const out: Row[] = [];
  for (let i = 0; i < N; i++) {
    const area = AREAS[i % AREAS.length];
    // (area, exchange, line) is unique per row: together they encode i.
    const exch = EXCHANGES[Math.floor(i / AREAS.length) % EXCHANGES.length];
    const line = String(Math.floor(i / (AREAS.length * EXCHANGES.length)) * 1000 + (i % 1000)).padStart(4, '0');
    const broken = i % 100 === 99;
    out.push({
      id: `C-${i + 1}`, first: `First${i}`, last: `Last${i}`, company: `Company ${i % 37}`,
      phone: broken ? '12' : `(${area}) ${exch}-${line}`, e164: broken ? undefined : `+1${area}${exch}${line}`,
      email: `person${i}@example.com`, owner: OWNERS[i % OWNERS.length],
    });
  }
  return out;
}

const ROWS = rows();
const VALID = ROWS.filter((r) => r.e164);
const INPUT = join(tmp.path, 'contacts-20000.csv');
writeFileSync(INPUT, 'External ID,First Name,Last Name,Company,Phone,Email,Owner\n'
  + ROWS.map((r) => [r.id, r.first, r.last, r.company, r.phone, r.email, r.owner].join(',')).join('\n') + '\n');
const MAPPING = join(tmp.path, 'chaos.yaml');
writeFileSync(MAPPING, [
  'fields:', '  id: External ID', '  firstName: First Name', '  lastName: Last Name', '  company: Company',
  '  phones: Phone', '  emails: Email', '  owner: Owner', 'phone:', '  defaultCountry: US', '',
].join('\n'));

const HANG_GUARD_MS = 240_000;
const FAULTS = { rate503: 0.1, rateDrop: 0.05, rate429: 0.05, retryAfterSec: 1, latencyMs: { min: 0, max: 15 } };

interface Http { requests: number; retries: number; byStatus: Record<string, number> }

function accounted(dir: string, code: number) {
  const s = assertInvariant(dir);
  assert.deepEqual(s.counts, { read: N, success: VALID.length, failed: N - VALID.length, merged: 0, unchanged: 0 });
  assert.equal(code, 1, 'rows failed: exit 1');
  assert.equal(s.exitCode, 1);
  const failed = readReportCsv(dir, 'failed.csv');
  assert.deepEqual(failed.map((f) => f['External ID']), ROWS.filter((r) => !r.e164).map((r) => r.id));
  assert.ok(failed.every((f) => f._code.startsWith('PHONE_') && f._stage === 'normalize'), 'only the broken phones failed, none at load');
  return s as typeof s & { http: Http; durationMs: number };
}

describe('chaos run: 20,000 contacts into emulators that fail in every way', () => {
  test('spoke: 503s, dropped connections, 429 + Retry-After, latency, tokens that expire mid-run', async () => {
    // 1-second tokens: the Retry-After waits alone keep the run longer than several lifetimes.
    const emu = await startSpokeEmulator({ seed: 12, tokenTtlSec: 1, faults: FAULTS });
    const out = join(tmp.path, 'spoke');
    try {
      const t0 = performance.now();
      const res = await runCli(['run', INPUT, '--mapping', MAPPING, '--target', 'spoke', '--out', out, '--quiet',
        '--batch-size', '100', '--concurrency', '4', '--retries', '12', '--retry-base-ms', '5'], { env: emu.env, timeoutMs: HANG_GUARD_MS });
      const wallMs = performance.now() - t0;
      assert.notEqual(res.code, -1, 'killed by the hang guard');
      assert.equal(res.code, 1, `exit code\n${res.stdout.slice(-3000)}\n${res.stderr.slice(-3000)}`);
      const s = accounted(out, res.code);

      const expected = new Map(OWNERS.map((o) => [o, new Map(VALID.filter((r) => r.owner === o).map((r) => [r.id, {
        id: r.id, name: `${r.first} ${r.last}`, company: r.company, phone: r.e164, email: r.email, managedBy: 'system',
      } as Record<string, unknown>]))]));
      assert.deepEqual(nonEmptyPhonebooks(emu.state), expected, 'the phonebooks hold exactly the valid rows, once each');

      const c = emu.state.counts;
      assert.ok((c.byStatus['503'] ?? 0) > 0 && (c.byStatus['429'] ?? 0) > 0 && c.dropped > 0, `every fault happened: ${JSON.stringify(c)}`);
      assert.ok(emu.state.tokenIssued > 1, `tokens expired and were renewed during the run (${emu.state.tokenIssued} issued)`);
      assert.ok(s.http.retries > 0);
      process.stdout.write(`# chaos spoke: ${JSON.stringify({ rows: N, puts: c.byRoute['PUT /phonebooks/:email/contacts'], emulatorRequests: c.requests,
        byStatus: c.byStatus, dropped: c.dropped, tokens: emu.state.tokenIssued, client: s.http, runMs: Math.round(s.durationMs), wallMs: Math.round(wallMs) })}\n`);
    } finally {
      await emu.close();
    }
  });

  test('samespace: 503s, dropped connections, 429 + Retry-After, latency', async () => {
    const emu = await startSamespaceEmulator({ seed: 12, faults: FAULTS });
    const out = join(tmp.path, 'samespace');
    try {
      const t0 = performance.now();
      const res = await runCli(['run', INPUT, '--mapping', MAPPING, '--target', 'samespace', '--out', out, '--quiet',
        '--batch-size', '500', '--retries', '12', '--retry-base-ms', '5'], { env: emu.env, timeoutMs: HANG_GUARD_MS });
      const wallMs = performance.now() - t0;
      assert.notEqual(res.code, -1, 'killed by the hang guard');
      const s = accounted(out, res.code);

      const key = (c: Record<string, unknown>) => String(c.email);
      const stored = emu.contacts().sort((a, b) => key(a).localeCompare(key(b)));
      const expected = VALID.map((r) => ({ firstName: r.first, lastName: r.last, email: r.email, phoneNumber: r.e164, company: r.company }))
        .sort((a, b) => a.email.localeCompare(b.email));
      assert.equal(stored.length, VALID.length, 'no contact lost or imported twice');
      assert.deepEqual(stored, expected);

      const c = emu.state.counts;
      assert.ok((c.byStatus['503'] ?? 0) > 0 && (c.byStatus['429'] ?? 0) > 0 && c.dropped > 0, `every fault happened: ${JSON.stringify(c)}`);
      assert.ok(s.http.retries > 0);
      process.stdout.write(`# chaos samespace: ${JSON.stringify({ rows: N, uploads: c.uploads, emulatorRequests: c.requests, byStatus: c.byStatus,
        dropped: c.dropped, client: s.http, runMs: Math.round(s.durationMs), wallMs: Math.round(wallMs) })}\n`);
    } finally {
      await emu.close();
    }
  });
});
