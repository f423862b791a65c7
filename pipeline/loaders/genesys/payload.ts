/** Canonical contact -> Genesys custom contact (genesys-contacts-api.txt). */
import { displayName, type Contact } from '../../contact.js';
import { writeJsonString } from '../json.js';
import type { ByteBuilder } from '../../bytes.js';

export interface GenesysContactBody {
  name: string;
  type: 'Custom';
  phoneNumber: string;
}

export function genesysContact(c: Contact): { body: GenesysContactBody; notes: string[] } {
  const notes: string[] = [];
  if (c.phones.length > 1) notes.push(`not sent to Genesys (one phoneNumber): ${c.phones.slice(1).map((p) => p.e164).join(', ')}`);
  return { body: { name: displayName(c), type: 'Custom', phoneNumber: c.phones[0]?.e164 ?? '' }, notes };
}

/** Appends JSON.stringify(genesysContact(c).body) to `out` as UTF-8, without the body object or the notes (the file target). */
export function writeGenesysContactBodyJson(out: ByteBuilder, c: Contact): void {
  out.ascii('{"name":');
  writeJsonString(out, displayName(c));
  out.ascii(',"type":"Custom","phoneNumber":');
  writeJsonString(out, c.phones[0]?.e164 ?? '');
  out.byte(0x7d);
}
