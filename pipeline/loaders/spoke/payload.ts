/** Canonical contact -> Spoke system-managed contact (spoke-assigned-contacts.txt, Step 3). */
import { displayName, type Contact } from '../../contact.js';
import { writeJsonString } from '../json.js';
import type { ByteBuilder } from '../../bytes.js';

export interface SpokeContact {
  id: string;
  name: string;
  company?: string;
  phone?: string;
  email?: string;
  managedBy: 'system';
}

/** The contact as Spoke stores it, plus what its fields could not hold (for the report). */
export function spokeContact(c: Contact): { contact: SpokeContact; notes: string[] } {
  const notes: string[] = [];
  const [phone, ...morePhones] = c.phones;
  const [email, ...moreEmails] = c.emails;
  if (morePhones.length) notes.push(`not sent to Spoke (one phone field): ${morePhones.map((p) => p.e164).join(', ')}`);
  if (moreEmails.length) notes.push(`not sent to Spoke (one email field): ${moreEmails.join(', ')}`);
  if (phone?.ext) notes.push(`extension ${phone.ext} not sent to Spoke (the phone field holds E.164 only)`);
  const contact: SpokeContact = { id: c.id ?? '', name: displayName(c), managedBy: 'system' };
  if (c.company) contact.company = c.company;
  if (phone) contact.phone = phone.e164;
  if (email) contact.email = email;
  return { contact, notes };
}

/** The request path for an owner's phonebook: the email is URL-encoded. */
export function spokeContactsPath(ownerEmail: string): string {
  return `/phonebooks/${encodeURIComponent(ownerEmail)}/contacts`;
}

/** The request path for one contact of an owner's phonebook: email and id URL-encoded. */
export function spokeContactPath(ownerEmail: string, id: string): string {
  return `${spokeContactsPath(ownerEmail)}/${encodeURIComponent(id)}`;
}

/** Appends JSON.stringify(contact) for a contact built by spokeContact (same key order) to `out` as UTF-8, without the generic walk. */
export function writeSpokeContactJson(out: ByteBuilder, contact: SpokeContact): void {
  out.ascii('{"id":');
  writeJsonString(out, contact.id);
  out.ascii(',"name":');
  writeJsonString(out, contact.name);
  out.ascii(',"managedBy":"system"');
  if (contact.company !== undefined) { out.ascii(',"company":'); writeJsonString(out, contact.company); }
  if (contact.phone !== undefined) { out.ascii(',"phone":'); writeJsonString(out, contact.phone); }
  if (contact.email !== undefined) { out.ascii(',"email":'); writeJsonString(out, contact.email); }
  out.byte(0x7d);
}
