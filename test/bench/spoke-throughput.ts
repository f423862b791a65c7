/**
 * Spoke loader throughput against the emulator with a fixed latency per request.
 * Not a test: run it by hand and compare with the ideal, concurrency × batchSize / latency
 * (every request slot always busy, nothing but latency costing time).
 *
 *   node --import tsx test/bench/spoke-throughput.ts [--contacts 20000] [--owners 20]
 *        [--batch 100] [--concurrency 4] [--latency 50]
 */
import { parseArgs } from 'node:util';
import { startSpokeEmulator } from '../emulators/spoke.js';
import { contactsFor, harness, interleave } from '../helpers/spoke-harness.js';

const { values } = parseArgs({
  options: {
    contacts: { type: 'string', default: '20000' },
    owners: { type: 'string', default: '20' },
    batch: { type: 'string', default: '100' },
    concurrency: { type: 'string', default: '4' },
    latency: { type: 'string', default: '50' },
  },
});
const contacts = Number(values.contacts);
const owners = Number(values.owners);
const batchSize = Number(values.batch);
const concurrency = Number(values.concurrency);
const latencyMs = Number(values.latency);

const emu = await startSpokeEmulator({ faults: { latencyMs }, maxContactsPerPut: Math.max(1000, batchSize) });
const perOwner = Math.ceil(contacts / owners);
const records = interleave(...Array.from({ length: owners }, (_, i) => contactsFor(`owner${i}@bench.example`, perOwner, `o${i}`)))
  .slice(0, contacts);
const h = harness(emu, { batchSize, concurrency });
try {
  await h.loader.open();
  const started = performance.now();
  await h.load(records);
  const seconds = (performance.now() - started) / 1000;

  const failed = [...h.outcomes.values()].filter((o) => o.status !== 'success').length;
  const stored = [...emu.state.phonebooks.values()].reduce((n, pb) => n + pb.size, 0);
  const puts = emu.requests('PUT /phonebooks/:email/contacts');
  const rate = records.length / seconds;
  const ideal = (concurrency * batchSize) / (latencyMs / 1000);
  const heapMb = process.memoryUsage().heapUsed / 1024 / 1024;
  console.log(`spoke throughput: ${records.length} contacts, ${owners} owners, batch ${batchSize}, concurrency ${concurrency}, latency ${latencyMs} ms`);
  console.log(`  ${seconds.toFixed(2)} s, ${Math.round(rate)} contacts/s; ideal ${Math.round(ideal)} contacts/s; ratio ${(rate / ideal).toFixed(2)}`);
  console.log(`  ${puts.length} PUTs (mean ${(puts.reduce((n, p) => n + p.ids!.length, 0) / puts.length).toFixed(1)} contacts), max in flight ${emu.state.maxInFlight}, ` +
    `${emu.state.tokenIssued} token(s), heap ${heapMb.toFixed(0)} MB`);
  console.log(`  outcomes: ${h.outcomes.size} settled, ${failed} failed; stored ${stored}`);
  if (failed || stored !== records.length || h.outcomes.size !== records.length) process.exitCode = 1;
} finally {
  h.close();
  await emu.close();
}
