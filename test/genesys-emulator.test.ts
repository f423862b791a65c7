/**
 * The Genesys emulator itself, against the Contacts API document: Basic auth and roles,
 * filters on any attribute AND-combined and case-insensitive, the rules of POST / PUT /
 * DELETE, and faults that repeat for the same seed. Other tests trust it, so it is
 * pinned here with plain HTTP requests.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { GENESYS_ADMIN, GENESYS_AGENT, GENESYS_NOBODY, startGenesysEmulator, type Account } from './emulators/genesys.js';

const basic = (a: Pick<Account, 'username' | 'password'>) => 'Basic ' + Buffer.from(`${a.username}:${a.password}`).toString('base64');

interface Answer { status: number; headers: Headers; body: any }

async function call(base: string, method: string, path: string, o: { body?: unknown; as?: Pick<Account, 'username' | 'password'> | null } = {}): Promise<Answer> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (o.as !== null) headers.authorization = basic(o.as ?? GENESYS_ADMIN);
  if (o.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(base + path, { method, headers, body: o.body === undefined ? undefined : JSON.stringify(o.body) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

const names = (a: Answer) => (a.body.contacts as { name: string }[]).map((c) => c.name).sort();

describe('genesys emulator: auth', () => {
  test('no or wrong credentials -> 401 with WWW-Authenticate: Basic; a user without a role -> 403; an agent reads but cannot write', async () => {
    const emu = await startGenesysEmulator();
    try {
      for (const as of [null, { username: GENESYS_ADMIN.username, password: 'nope' }, { username: 'ghost', password: 'x' }]) {
        const a = await call(emu.url, 'GET', '/contacts', { as });
        assert.equal(a.status, 401);
        assert.match(a.headers.get('www-authenticate')!, /^Basic/);
      }
      assert.equal((await call(emu.url, 'GET', '/contacts', { as: GENESYS_NOBODY })).status, 403);
      assert.equal((await call(emu.url, 'GET', '/contacts', { as: GENESYS_AGENT })).status, 200);
      const post = await call(emu.url, 'POST', '/contacts', { as: GENESYS_AGENT, body: { name: 'X', type: 'Custom', phoneNumber: '+14155552000' } });
      assert.equal(post.status, 403);
      assert.match(post.body.message, /Contact Center Admin/);
      assert.equal(emu.state.custom().length, 0);
      assert.deepEqual(emu.env, { GENESYS_API_URL: emu.url, GENESYS_USERNAME: GENESYS_ADMIN.username, GENESYS_PASSWORD: GENESYS_ADMIN.password });
    } finally {
      await emu.close();
    }
  });
});

describe('genesys emulator: GET /contacts filters', () => {
  test('any attribute filters; several are AND-combined; names and values compare case-insensitively', async () => {
    const emu = await startGenesysEmulator({
      custom: [
        { name: 'Acme Corp', phoneNumber: '+14155552000' },
        { name: 'Acme Corp', phoneNumber: '+14155552001' },
        { name: 'Beta Ltd', phoneNumber: '+14155552000' },
      ],
    });
    try {
      const all = await call(emu.url, 'GET', '/contacts');
      assert.equal(all.status, 200);
      assert.deepEqual(names(all), ['Acme Corp', 'Acme Corp', 'Beta Ltd', 'Jane Agent', 'Support Queue']);
      assert.deepEqual(names(await call(emu.url, 'GET', '/contacts?type=custom')), ['Acme Corp', 'Acme Corp', 'Beta Ltd']);
      assert.deepEqual(names(await call(emu.url, 'GET', '/contacts?TYPE=CUSTOM&Name=acme%20CORP')), ['Acme Corp', 'Acme Corp']);
      assert.deepEqual((await call(emu.url, 'GET', '/contacts?name=acme%20corp&phoneNumber=%2B14155552001')).body.contacts.map((c: { phoneNumber: string }) => c.phoneNumber),
        ['+14155552001']);
      assert.deepEqual(names(await call(emu.url, 'GET', '/contacts?type=Custom&phoneNumber=%2B14155552000')), ['Acme Corp', 'Beta Ltd']);
      // AND: a User's number with type=Custom matches nothing.
      assert.deepEqual(names(await call(emu.url, 'GET', '/contacts?type=Custom&phoneNumber=%2B14155550100')), []);
      // User-only attributes, as in the document's example.
      const jane = await call(emu.url, 'GET', '/contacts?firstName=jane&lastName=AGENT&userName=JAgent');
      assert.deepEqual(jane.body.contacts, [{
        id: jane.body.contacts[0].id, name: 'Jane Agent', type: 'User', phoneNumber: '+14155550100',
        userName: 'jagent', firstName: 'Jane', lastName: 'Agent', employeeId: 'E-100',
      }]);
      // An attribute a contact does not have excludes it.
      assert.deepEqual(names(await call(emu.url, 'GET', '/contacts?employeeId=e-100')), ['Jane Agent']);
      assert.deepEqual(names(await call(emu.url, 'GET', '/contacts?type=Queue')), ['Support Queue']);
      assert.equal(emu.state.requests['GET /contacts'], 9);
    } finally {
      await emu.close();
    }
  });
});

describe('genesys emulator: writes', () => {
  test('POST creates Custom contacts only, with name and phoneNumber required; PUT and DELETE follow the same rules', async () => {
    const emu = await startGenesysEmulator({ basePath: '/api/v2' });
    try {
      const bad = [
        { name: 'X', type: 'User', phoneNumber: '+14155552000' },
        { name: 'X', phoneNumber: '+14155552000' },
        { name: 'X', type: 'Custom' },
        { name: '  ', type: 'Custom', phoneNumber: '+14155552000' },
        { name: 'X', type: 'custom', phoneNumber: '+14155552000', userName: 'x' },
      ];
      for (const body of bad) assert.equal((await call(emu.url, 'POST', '/contacts', { body })).status, 400, JSON.stringify(body));
      assert.equal(emu.state.writes, 0);

      const created = await call(emu.url, 'POST', '/contacts', { body: { name: 'Some Contact', type: 'Custom', phoneNumber: '415-555-2000' } });
      assert.equal(created.status, 200);
      const id = created.body.id as string;
      assert.deepEqual(created.body, { id, name: 'Some Contact', type: 'Custom', phoneNumber: '415-555-2000' });
      assert.deepEqual((await call(emu.url, 'GET', `/contacts/${id}`)).body, created.body);

      const put = await call(emu.url, 'PUT', `/contacts/${id}`, { body: { name: 'Renamed', type: 'Custom', phoneNumber: '+14155552000' } });
      assert.deepEqual(put.body, { id, name: 'Renamed', type: 'Custom', phoneNumber: '+14155552000' });
      assert.equal((await call(emu.url, 'PUT', `/contacts/${id}`, { body: { name: 'X', type: 'Queue', phoneNumber: '+1' } })).status, 400);
      assert.equal((await call(emu.url, 'PUT', '/contacts/no-such-id', { body: { name: 'X', type: 'Custom', phoneNumber: '+1' } })).status, 404);

      const [user, queue] = (await call(emu.url, 'GET', '/contacts?type=User')).body.contacts.concat((await call(emu.url, 'GET', '/contacts?type=Queue')).body.contacts);
      assert.equal((await call(emu.url, 'PUT', `/contacts/${user.id}`, { body: { name: 'X', type: 'Custom', phoneNumber: '+1' } })).status, 403);
      assert.equal((await call(emu.url, 'DELETE', `/contacts/${queue.id}`)).status, 403);
      assert.equal((await call(emu.url, 'DELETE', `/contacts/${id}`, { as: GENESYS_AGENT })).status, 403);

      assert.equal((await call(emu.url, 'DELETE', `/contacts/${id}`)).status, 200);
      assert.equal((await call(emu.url, 'DELETE', `/contacts/${id}`)).status, 404);
      assert.deepEqual(emu.state.custom(), []);
      assert.equal(emu.state.contacts.size, 2, 'the User and the Queue are untouched');
      assert.equal(emu.state.writes, 3);
      assert.equal((await call(new URL(emu.url).origin, 'GET', '/contacts')).status, 404, 'the API lives under the base path only');
      assert.equal(emu.state.requests['DELETE /contacts/{id}'], 4);
    } finally {
      await emu.close();
    }
  });
});

describe('genesys emulator: faults', () => {
  test('the same seed gives the same sequence of 503 / 429 / dropped answers', async () => {
    const run = async () => {
      const emu = await startGenesysEmulator({ seed: 99, faults: { rate503: 0.2, rate429: 0.2, dropRate: 0.2, retryAfterSeconds: 7 } });
      const seen: string[] = [];
      try {
        for (let i = 0; i < 30; i++) {
          try {
            const a = await call(emu.url, 'GET', '/contacts?type=Custom');
            seen.push(String(a.status));
            if (a.status === 429) assert.equal(a.headers.get('retry-after'), '7');
          } catch {
            seen.push('dropped');
          }
        }
        assert.equal(emu.state.statuses.dropped ?? 0, seen.filter((s) => s === 'dropped').length);
      } finally {
        await emu.close();
      }
      return seen;
    };
    const first = await run();
    assert.deepEqual(await run(), first);
    for (const s of ['200', '503', '429', 'dropped']) assert.ok(first.includes(s), `saw ${s}`);
  });

  test('lost POST answers store the contact and drop the connection; the cap on requests in flight answers 429', async () => {
    const emu = await startGenesysEmulator({ faults: { lostPostNext: 2 } });
    try {
      for (const phoneNumber of ['+14155552000', '+14155552001']) {
        await assert.rejects(call(emu.url, 'POST', '/contacts', { body: { name: 'Lost', type: 'Custom', phoneNumber } }));
      }
      assert.equal((await call(emu.url, 'POST', '/contacts', { body: { name: 'Kept', type: 'Custom', phoneNumber: '+14155552002' } })).status, 200);
      assert.equal(emu.state.custom().length, 3);
      assert.equal(emu.faults.lostPostNext, 0);

      emu.faults.maxInFlight = 1;
      // Long enough that the other two arrive while the first is still being answered.
      emu.faults.latencyMs = 200;
      emu.faults.retryAfterSeconds = 2;
      const answers = await Promise.all([0, 1, 2].map(() => call(emu.url, 'GET', '/contacts')));
      const statuses = answers.map((a) => a.status).sort();
      assert.deepEqual(statuses, [200, 429, 429]);
      assert.ok(answers.filter((a) => a.status === 429).every((a) => a.headers.get('retry-after') === '2'));
      assert.ok(emu.state.maxInFlight >= 2);
    } finally {
      await emu.close();
    }
  });

  test('credentials revoked after N requests: every later request answers 401', async () => {
    const emu = await startGenesysEmulator({ faults: { revokeAfterRequests: 2 } });
    try {
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push((await call(emu.url, 'GET', '/contacts')).status);
      assert.deepEqual(statuses, [200, 200, 401, 401]);
    } finally {
      await emu.close();
    }
  });
});
