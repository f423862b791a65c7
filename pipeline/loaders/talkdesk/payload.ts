/** Canonical contact -> Talkdesk contact-sync contact (talkdesk-contact-sync.txt); absent fields omitted. */
import { displayName, type Contact } from '../../contact.js';
import { jsonString, jsonStrings } from '../json.js';

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

/** JSON.stringify(talkdeskContact(c)), written out without the intermediate object (the file target). */
export function talkdeskContactJson(c: Contact): string {
  let s = `{"id":${jsonString(c.id ?? '')},"name":${jsonString(displayName(c))}`;
  if (c.company) s += `,"company":${jsonString(c.company)}`;
  if (c.title) s += `,"title":${jsonString(c.title)}`;
  if (c.emails.length) s += `,"emails":${jsonStrings(c.emails)}`;
  if (c.phones.length) {
    s += ',"phones":[';
    for (let i = 0; i < c.phones.length; i++) s += (i ? ',' : '') + jsonString(c.phones[i].e164);
    s += ']';
  }
  if (c.photoUrl) s += `,"photo_url":${jsonString(c.photoUrl)}`;
  if (c.address) s += `,"address":${jsonString(c.address)}`;
  if (c.websites.length) s += `,"websites":${jsonStrings(c.websites)}`;
  if (c.twitter) s += `,"twitter":${jsonString(c.twitter)}`;
  if (c.url) s += `,"url":${jsonString(c.url)}`;
  return s + '}';
}
