/** Canonical contact -> Genesys custom contact (genesys-contacts-api.txt). */
import { displayName, type Contact } from '../../contact.js';
import { jsonString } from '../json.js';

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

/** JSON.stringify(genesysContact(c).body), without the body object or the notes (the file target). */
export function genesysContactBodyJson(c: Contact): string {
  return `{"name":${jsonString(displayName(c))},"type":"Custom","phoneNumber":${jsonString(c.phones[0]?.e164 ?? '')}}`;
}
