/**
 * The file target writes payloads as text built straight from the contact (payload.ts
 * *Json functions) instead of JSON.stringify over a throwaway object. They must give the
 * same bytes as JSON.stringify of the objects the network loaders send, for any contact:
 * escapes, lone surrogates, absent and empty fields, key order.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Contact } from '../pipeline/contact.js';
import { jsonString, jsonStrings } from '../pipeline/loaders/json.js';
import { talkdeskContact, talkdeskContactJson } from '../pipeline/loaders/talkdesk/payload.js';
import { spokeContact, spokeContactJson } from '../pipeline/loaders/spoke/payload.js';
import { genesysContact, genesysContactBodyJson } from '../pipeline/loaders/genesys/payload.js';

test('jsonString equals JSON.stringify for every code unit, in every position', () => {
  for (let u = 0; u <= 0xffff; u++) {
    const ch = String.fromCharCode(u);
    for (const s of [ch, `a${ch}`, `${ch}b`, `a${ch}b`]) {
      if (jsonString(s) !== JSON.stringify(s)) assert.fail(`jsonString(${JSON.stringify(s)}) = ${jsonString(s)}`);
    }
  }
  assert.equal(jsonString('\ud83d\ude00 ok'), JSON.stringify('\ud83d\ude00 ok'), 'a surrogate pair');
  assert.equal(jsonString('x\ud83d'), '"x\\ud83d"', 'a lone high surrogate is escaped as JSON.stringify does');
  assert.equal(jsonStrings([]), '[]');
  assert.equal(jsonStrings(['a', 'b"c', '\n']), JSON.stringify(['a', 'b"c', '\n']));
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

test('property: talkdesk, spoke and genesys JSON text equals JSON.stringify of the payload objects', () => {
  fc.assert(fc.property(contact, (c) => {
    assert.equal(talkdeskContactJson(c), JSON.stringify(talkdeskContact(c)));
    const s = spokeContact(c).contact;
    assert.equal(spokeContactJson(s), JSON.stringify(s));
    assert.equal(genesysContactBodyJson(c), JSON.stringify(genesysContact(c).body));
    JSON.parse(talkdeskContactJson(c));
  }), { numRuns: 3000, seed: 17 });
});

test('a contact with every field: keys in the documented order', () => {
  const c: Contact = {
    id: 'c-1', name: 'Ada Lovelace', company: 'Analytical', title: 'Countess', address: '12 St James\'s Sq',
    photoUrl: 'https://x.example/a.png', twitter: '@ada', url: 'https://x.example/ada', owner: 'o@x.example',
    emails: ['ada@x.example', 'a@y.example'], phones: [{ e164: '+442079460958', ext: '12' }, { e164: '+14155552671' }],
    websites: ['https://ada.example'], custom: {},
  };
  assert.equal(talkdeskContactJson(c), '{"id":"c-1","name":"Ada Lovelace","company":"Analytical","title":"Countess",'
    + '"emails":["ada@x.example","a@y.example"],"phones":["+442079460958","+14155552671"],"photo_url":"https://x.example/a.png",'
    + '"address":"12 St James\'s Sq","websites":["https://ada.example"],"twitter":"@ada","url":"https://x.example/ada"}');
  assert.equal(spokeContactJson(spokeContact(c).contact),
    '{"id":"c-1","name":"Ada Lovelace","managedBy":"system","company":"Analytical","phone":"+442079460958","email":"ada@x.example"}');
  assert.equal(genesysContactBodyJson(c), '{"name":"Ada Lovelace","type":"Custom","phoneNumber":"+442079460958"}');
});
