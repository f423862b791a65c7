/**
 * --retries counts the tries after the first (0: one attempt, no retry), and the tuning
 * options are checked before anything is written: a bad value is a usage error, never
 * silently the default, and leaves no report folder that looks like a killed run.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { runCli, tempDir } from './helpers/cli.js';

const tmp = tempDir('ci-retry-');
let server: Server;
let requests = 0;
let base = '';

test.before(async () => {
  // Every request is refused with 503: the count is the number of attempts the client made.
  server = createServer((req, res) => {
    requests++;
    req.resume();
    res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"unavailable"}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
test.after(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  tmp.cleanup();
});

const spoke = () => ({ SPOKE_CLIENT_ID: 'id', SPOKE_CLIENT_SECRET: 'secret', SPOKE_AUTH_URL: base, SPOKE_API_URL: base });

for (const [retries, attempts] of [[0, 1], [2, 3]] as const) {
  test(`--retries ${retries}: ${attempts} attempt(s) against a target answering 503, then exit 3`, async () => {
    requests = 0;
    const r = await runCli(['run', 'samples/clean.csv', '-m', 'mappings/clean.yaml', '--target', 'spoke', '--quiet',
      '--retries', String(retries), '--retry-base-ms', '1', '--out', join(tmp.path, `r${retries}`)], { env: spoke() });
    assert.equal(r.code, 3, r.stderr + r.stdout);
    assert.equal(requests, attempts);
    assert.match(r.stdout, /TARGET_UNREACHABLE: could not get a Spoke access token/);
    // Stopped before the first row: the input is still named, not "(none)".
    assert.match(r.stdout, /0 rows read from samples\/clean\.csv in/);
  });
}

const bad: [string[], RegExp][] = [
  [['--retries', '-1'], /--retries must be a whole number of at least 0, got -1/],
  [['--retries', 'abc'], /--retries must be a whole number of at least 0, got NaN/],
  [['--retries', '1.5'], /--retries must be a whole number of at least 0, got 1\.5/],
  [['--retry-base-ms', '-10'], /--retry-base-ms must be a number of milliseconds of at least 0, got -10/],
  [['--batch-size', '0'], /--batch-size must be a whole number of at least 1, got 0/],
  [['--concurrency', '0'], /--concurrency must be a whole number of at least 1, got 0/],
  [['--batch-size', '-1', '--target', 'file'], /--batch-size must be a whole number of at least 1, got -1/],
];
for (const [args, message] of bad) {
  test(`${args.join(' ')}: exit 2 with the option named, nothing sent, no report folder`, async () => {
    requests = 0;
    const out = join(tmp.path, `bad-${args.join('_')}`);
    const r = await runCli(['run', 'samples/clean.csv', '-m', 'mappings/clean.yaml', '--target', 'spoke', '--quiet', '--out', out, ...args], { env: spoke() });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, message);
    assert.equal(requests, 0);
    assert.equal(existsSync(out), false, 'a usage error leaves no half-written report');
  });
}
