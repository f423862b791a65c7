/**
 * The file target writes payloads as UTF-8 straight from the contact (payload.ts write*Json
 * functions, loaders/json.ts) instead of JSON.stringify over a throwaway object. They must
 * give the same bytes as JSON.stringify of the objects the network loaders send, for any
 * contact: escapes, lone surrogates, surrogate pairs, absent and empty fields, key order.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Contact } from '../pipeline/contact.js';
import { writeJsonString, writeJsonStrings } from '../pipeline/loaders/json.js';
import { talkdeskContact, writeTalkdeskContactJson } from '../pipeline/loaders/talkdesk/payload.js';
import { spokeContact, writeSpokeContactJson } from '../pipeline/loaders/spoke/payload.js';
import { genesysContact, writeGenesysContactBodyJson } from '../pipeline/loaders/genesys/payload.js';
import { ByteBuilder } from '../pipeline/bytes.js';

/** What `write` appends, as bytes (a small builder first, so that growing it is exercised too). */
function bytesOf(write: (out: ByteBuilder) => void): Buffer {
  const out = new ByteBuilder(8);
  out.ascii('>'); // written after other bytes, as in a chunk
  write(out);
  return out.buf.subarray(1, out.used);
}
const jsonString = (s: string) => bytesOf((out) => writeJsonString(out, s));
const utf8 = (s: string) => Buffer.from(s, 'utf8');

test('writeJsonString writes the bytes of JSON.stringify for every code unit, in every position', () => {
  for (let u = 0; u <= 0xffff; u++) {
    const ch = String.fromCharCode(u);
    for (const s of [ch, `a${ch}`, `${ch}b`, `a${ch}b`]) {
      if (!jsonString(s).equals(utf8(JSON.stringify(s)))) assert.fail(`writeJsonString(${JSON.stringify(s)}) wrote ${jsonString(s).toString('hex')}`);
    }
  }
  assert.deepEqual(jsonString('\ud83d\ude00 ok'), utf8(JSON.stringify('\ud83d\ude00 ok')), 'a surrogate pair is one 4-byte character');
  assert.equal(jsonString('\ud83d\ude00').length, 6);
  assert.deepEqual(jsonString('x\ud83d'), utf8('"x\\ud83d"'), 'a lone high surrogate is escaped as JSON.stringify does');
  assert.deepEqual(jsonString('\ude00\ud83d'), utf8(JSON.stringify('\ude00\ud83d')), 'a low surrogate before a high one: two escapes');
  assert.deepEqual(jsonString('\udc00\udc00'), utf8(JSON.stringify('\udc00\udc00')), 'two low surrogates: two escapes, not a pair');
  assert.deepEqual(jsonString('\ud800\ud800\udc00'), utf8(JSON.stringify('\ud800\ud800\udc00')), 'a lone high surrogate, then a pair');
  assert.deepEqual(jsonString('\u001f"\\\u007f\u00e9\u20ac'), utf8(JSON.stringify('\u001f"\\\u007f\u00e9\u20ac')), 'the worst case beside 1-, 2- and 3-byte characters');
  assert.deepEqual(bytesOf((out) => writeJsonStrings(out, [])), utf8('[]'));
  assert.deepEqual(bytesOf((out) => writeJsonStrings(out, ['a', 'b"c', '\n'])), utf8(JSON.stringify(['a', 'b"c', '\n'])));
});

const text = fc.oneof(fc.constant(''), fc.string({ maxLength: 12 }), fc.string({ unit: 'binary', maxLength: 8 }),
  fc.constantFrom('Zoë "Z" Ørsted', 'line\nbreak', 'back\\slash', '\u2028', '\ud800', 'Acme, Inc.'));
const maybe = fc.option(text, { nil: undefined });
const phone = fc.record({ e164: fc.oneof(fc.constant('+14155552671'), text), ext: fc.option(fc.stringMatching(/^[0-9]{1,5}$/), { nil: undefined }) },
  { requiredKeys: ['e164'] });
const contact: fc.Arbitrary<Contact> = fc.record({
  id: maybe, name: maybe, firstName: maybe, lastName: maybe, company: maybe, title: maybe, address: maybe,
  photoUrl: maybe, twitter: maybe, url: maybe, owner: maybe,
  emails: fc.array(text, { maxLength: 3 }), phones: fc.array(phone, { maxLength: 3 }), websites: fc.array(text, { maxLength: 2 }),
  custom: fc.constant({}),
}, { requiredKeys: ['emails', 'phones', 'websites', 'custom'] });

test('property: talkdesk, spoke and genesys JSON bytes equal JSON.stringify of the payload objects', () => {
  fc.assert(fc.property(contact, (c) => {
    assert.deepEqual(bytesOf((out) => writeTalkdeskContactJson(out, c)), utf8(JSON.stringify(talkdeskContact(c))));
    const s = spokeContact(c).contact;
    assert.deepEqual(bytesOf((out) => writeSpokeContactJson(out, s)), utf8(JSON.stringify(s)));
    assert.deepEqual(bytesOf((out) => writeGenesysContactBodyJson(out, c)), utf8(JSON.stringify(genesysContact(c).body)));
  }), { numRuns: 3000, seed: 17 });
});

test('a contact with every field: keys in the documented order', () => {
  const c: Contact = {
    id: 'c-1', name: 'Ada Lovelace', company: 'Analytical', title: 'Countess', address: '12 St James\'s Sq',
    photoUrl: 'https://x.example/a.png', twitter: '@ada', url: 'https://x.example/ada', owner: 'o@x.example',
    emails: ['ada@x.example', 'a@y.example'], phones: [{ e164: '+442079460958', ext: '12' }, { e164: '+14155552671' }],
    websites: ['https://ada.example'], custom: {},
  };
  assert.equal(bytesOf((out) => writeTalkdeskContactJson(out, c)).toString(), '{"id":"c-1","name":"Ada Lovelace","company":"Analytical","title":"Countess",'
    + '"emails":["ada@x.example","a@y.example"],"phones":["+442079460958","+14155552671"],"photo_url":"https://x.example/a.png",'
    + '"address":"12 St James\'s Sq","websites":["https://ada.example"],"twitter":"@ada","url":"https://x.example/ada"}');
  assert.equal(bytesOf((out) => writeSpokeContactJson(out, spokeContact(c).contact)).toString(),
    '{"id":"c-1","name":"Ada Lovelace","managedBy":"system","company":"Analytical","phone":"+442079460958","email":"ada@x.example"}');
  assert.equal(bytesOf((out) => writeGenesysContactBodyJson(out, c)).toString(), '{"name":"Ada Lovelace","type":"Custom","phoneNumber":"+442079460958"}');
});
