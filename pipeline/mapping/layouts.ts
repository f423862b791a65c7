/**
 * Export layouts people bring, recognized by their header names as the exporting
 * program writes them. A recognized layout maps its columns exactly as the layout means
 * them (Outlook's "Title" is Mr./Ms., Salesforce's "Title" is the job title), which a
 * guess from header words alone would get wrong.
 *
 * Sources of the header names:
 *  - Google Contacts CSV: contacts.google.com > Export > "Google CSV" (current format,
 *    "First Name" … "Organization Name"; and the format before 2021, "Given Name" … "Organization 1 - Name").
 *  - Outlook CSV: Outlook (desktop) File > Open & Export > Import/Export > "Comma Separated Values".
 *  - HubSpot: Contacts > Export (default property labels).
 *  - Salesforce: a Contacts report exported as "Details Only" CSV (field labels as headers).
 *  - iPhone / vCard to CSV: no program of Apple's writes CSV; converters write one column per
 *    vCard property with the iPhone's labels (mobile, iPhone, home, work, main). This is that style.
 */

export interface LayoutPhone { column: string; label?: string }

export interface Layout {
  /** Also the base name of its sample and ready mapping (samples/<id>.csv, mappings/<id>.yaml). */
  id: string;
  title: string;
  /** Headers that must all be present (compared ignoring case and spaces). */
  signature: string[];
  /** Canonical field -> column; the lists and the address have their own shapes. */
  fields: Partial<Record<'id' | 'name' | 'firstName' | 'lastName' | 'company' | 'title' | 'owner', string>> & {
    /** Address parts joined with ", " (empty ones skipped); the first group with any value in the sample is used. */
    address?: string[][];
    phones: LayoutPhone[];
    emails: string[];
    websites?: string[];
  };
  /** Columns that may hold each row's country (first one with values in the sample). */
  countryColumns?: string[];
  /** Facts about the layout that the mapping's reader should know. */
  notes?: string[];
}

/** Both Google formats number their address, phones, emails and websites the same way. */
const GOOGLE_LISTS = {
  address: [['Address 1 - Formatted'], ['Address 1 - Street', 'Address 1 - City', 'Address 1 - Region', 'Address 1 - Postal Code', 'Address 1 - Country']],
  phones: [{ column: 'Phone 1 - Value' }, { column: 'Phone 2 - Value' }, { column: 'Phone 3 - Value' }],
  emails: ['E-mail 1 - Value', 'E-mail 2 - Value', 'E-mail 3 - Value'],
  websites: ['Website 1 - Value'],
};
const GOOGLE_MULTI_VALUE_NOTE = 'Google puts several values of one kind in one cell separated by " ::: "; each value is imported as its own phone, email or website.';

export const LAYOUTS: Layout[] = [
  {
    id: 'google-contacts',
    title: 'Google Contacts CSV (current format)',
    signature: ['First Name', 'Last Name', 'Organization Name', 'E-mail 1 - Value', 'Phone 1 - Value'],
    fields: {
      firstName: 'First Name',
      lastName: 'Last Name',
      company: 'Organization Name',
      title: 'Organization Title',
      ...GOOGLE_LISTS,
    },
    countryColumns: ['Address 1 - Country'],
    notes: [
      'Each "Phone N - Value" has its kind (Mobile, Work, Home) in "Phone N - Label"; a mapping gives one label per column, so none is set.',
      GOOGLE_MULTI_VALUE_NOTE,
    ],
  },
  {
    id: 'google-contacts-legacy',
    title: 'Google Contacts CSV (format before 2021)',
    signature: ['Given Name', 'Family Name', 'E-mail 1 - Value', 'Phone 1 - Value', 'Organization 1 - Name'],
    fields: {
      name: 'Name',
      firstName: 'Given Name',
      lastName: 'Family Name',
      company: 'Organization 1 - Name',
      title: 'Organization 1 - Title',
      ...GOOGLE_LISTS,
    },
    countryColumns: ['Address 1 - Country'],
    notes: [
      'Each "Phone N - Value" has its kind (Mobile, Work, Home) in "Phone N - Type"; a mapping gives one label per column, so none is set.',
      GOOGLE_MULTI_VALUE_NOTE,
    ],
  },
  {
    id: 'outlook',
    title: 'Outlook CSV',
    signature: ['First Name', 'Last Name', 'Company', 'Job Title', 'Business Phone', 'Mobile Phone', 'E-mail Address'],
    fields: {
      firstName: 'First Name',
      lastName: 'Last Name',
      company: 'Company',
      title: 'Job Title',
      address: [
        ['Business Street', 'Business City', 'Business State', 'Business Postal Code', 'Business Country/Region'],
        ['Home Street', 'Home City', 'Home State', 'Home Postal Code', 'Home Country/Region'],
      ],
      phones: [
        { column: 'Mobile Phone', label: 'mobile' },
        { column: 'Business Phone', label: 'work' },
        { column: 'Business Phone 2', label: 'work' },
        { column: 'Company Main Phone', label: 'main' },
        { column: 'Primary Phone', label: 'main' },
        { column: 'Home Phone', label: 'home' },
        { column: 'Home Phone 2', label: 'home' },
        { column: 'Other Phone', label: 'other' },
      ],
      emails: ['E-mail Address', 'E-mail 2 Address', 'E-mail 3 Address'],
      websites: ['Web Page'],
    },
    countryColumns: ['Business Country/Region', 'Home Country/Region'],
    notes: ['Outlook\'s "Title" column is the name prefix (Mr., Ms., Dr.); the job title is "Job Title".'],
  },
  {
    id: 'hubspot',
    title: 'HubSpot contacts export',
    signature: ['Record ID', 'First Name', 'Last Name', 'Email', 'Phone Number'],
    fields: {
      id: 'Record ID',
      firstName: 'First Name',
      lastName: 'Last Name',
      company: 'Company Name',
      title: 'Job Title',
      address: [['Street Address', 'City', 'State/Region', 'Postal Code', 'Country/Region']],
      phones: [{ column: 'Mobile Phone Number', label: 'mobile' }, { column: 'Phone Number', label: 'work' }],
      emails: ['Email'],
      websites: ['Website URL'],
    },
    countryColumns: ['Country/Region'],
    notes: ['"Contact owner" holds the owner\'s name, not an email; a target that needs an owner (Spoke) needs an email column or a constant.'],
  },
  {
    id: 'salesforce',
    title: 'Salesforce contacts report export',
    signature: ['Contact ID', 'First Name', 'Last Name', 'Account Name', 'Email'],
    fields: {
      id: 'Contact ID',
      firstName: 'First Name',
      lastName: 'Last Name',
      company: 'Account Name',
      title: 'Title',
      address: [['Mailing Street', 'Mailing City', 'Mailing State/Province', 'Mailing Zip/Postal Code', 'Mailing Country']],
      phones: [
        { column: 'Mobile', label: 'mobile' },
        { column: 'Phone', label: 'work' },
        { column: 'Home Phone', label: 'home' },
        { column: 'Other Phone', label: 'other' },
      ],
      emails: ['Email'],
    },
    countryColumns: ['Mailing Country'],
    notes: ['"Contact Owner" holds the owner\'s full name, not an email; a target that needs an owner (Spoke) needs an email column or a constant.'],
  },
  {
    id: 'iphone-vcard',
    title: 'iPhone / vCard to CSV export',
    signature: ['Formatted Name', 'First Name', 'Last Name', 'Organization', 'iPhone'],
    fields: {
      name: 'Formatted Name',
      firstName: 'First Name',
      lastName: 'Last Name',
      company: 'Organization',
      title: 'Job Title',
      address: [['Work Address'], ['Home Address']],
      phones: [
        { column: 'Mobile', label: 'mobile' },
        { column: 'iPhone', label: 'mobile' },
        { column: 'Work', label: 'work' },
        { column: 'Main', label: 'main' },
        { column: 'Home', label: 'home' },
        { column: 'Other', label: 'other' },
      ],
      emails: ['Work Email', 'Home Email', 'iCloud Email', 'Other Email'],
      websites: ['URL'],
    },
  },
];

const loose = (s: string) => s.toLowerCase().replace(/\s+/g, '');

/** The layout whose signature headers are all present; the most specific (longest signature) wins. */
export function detectLayout(headers: readonly string[]): Layout | undefined {
  const have = new Set(headers.map(loose));
  const hits = LAYOUTS.filter((l) => l.signature.every((h) => have.has(loose(h))));
  hits.sort((a, b) => b.signature.length - a.signature.length);
  return hits[0];
}
