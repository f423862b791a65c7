/** Canonical contact -> Talkdesk contact-sync contact (talkdesk-contact-sync.txt); absent fields omitted. */
import { displayName, type Contact } from '../../contact.js';
import { writeJsonString, writeJsonStrings } from '../json.js';
import type { ByteBuilder } from '../../bytes.js';

export interface TalkdeskContact {
  id: string;
  name: string;
  company?: string;
  title?: string;
  emails?: string[];
  phones?: string[];
  photo_url?: string;
  address?: string;
  websites?: string[];
  twitter?: string;
  url?: string;
}

export function talkdeskContact(c: Contact): TalkdeskContact {
  const t: TalkdeskContact = { id: c.id ?? '', name: displayName(c) };
  if (c.company) t.company = c.company;
  if (c.title) t.title = c.title;
  if (c.emails.length) t.emails = [...c.emails];
  if (c.phones.length) t.phones = c.phones.map((p) => p.e164);
  if (c.photoUrl) t.photo_url = c.photoUrl;
  if (c.address) t.address = c.address;
  if (c.websites.length) t.websites = [...c.websites];
  if (c.twitter) t.twitter = c.twitter;
  if (c.url) t.url = c.url;
  return t;
}

/** Appends JSON.stringify(talkdeskContact(c)) to `out` as UTF-8, without the intermediate object (the file target). */
export function writeTalkdeskContactJson(out: ByteBuilder, c: Contact): void {
  out.ascii('{"id":');
  writeJsonString(out, c.id ?? '');
  out.ascii(',"name":');
  writeJsonString(out, displayName(c));
  if (c.company) { out.ascii(',"company":'); writeJsonString(out, c.company); }
  if (c.title) { out.ascii(',"title":'); writeJsonString(out, c.title); }
  if (c.emails.length) { out.ascii(',"emails":'); writeJsonStrings(out, c.emails); }
  if (c.phones.length) {
    out.ascii(',"phones":[');
    for (let i = 0; i < c.phones.length; i++) {
      if (i) out.byte(0x2c);
      writeJsonString(out, c.phones[i].e164);
    }
    out.byte(0x5d);
  }
  if (c.photoUrl) { out.ascii(',"photo_url":'); writeJsonString(out, c.photoUrl); }
  if (c.address) { out.ascii(',"address":'); writeJsonString(out, c.address); }
  if (c.websites.length) { out.ascii(',"websites":'); writeJsonStrings(out, c.websites); }
  if (c.twitter) { out.ascii(',"twitter":'); writeJsonString(out, c.twitter); }
  if (c.url) { out.ascii(',"url":'); writeJsonString(out, c.url); }
  out.byte(0x7d);
}
