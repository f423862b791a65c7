/**
 * A deterministic generator of messy contact exports, for the benchmarks.
 *
 *   node --import tsx test/bench/generate.ts --rows 1000000 --seed 42 --out test/bench/data/contacts.csv
 *
 * The same rows and seed always give the same bytes, so figures from two runs (or two
 * machines) are measured on the same file. The mess is the kind real exports have:
 * phone numbers typed the way people type them in 13 countries (national and
 * international forms, "(0)", "00" prefixes, extensions, several numbers in a cell),
 * a country column written as codes or names, blanks and garbage, emails in mixed case,
 * quoted fields with commas, quotes and line breaks, and about 20% duplicate rows that
 * describe an earlier contact differently (another phone format, email case, ALL CAPS
 * name, missing fields).
 *
 * Every contact ("identity") is derived from its own PRNG stream, so a duplicate row
 * can rebuild any earlier identity in O(1) without keeping them in memory.
 */
import { closeSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

// ---------------------------------------------------------------- PRNG

/** mulberry32: tiny, fast, and good enough to make data (not cryptography). */
export class Rng {
  private s: number;
  constructor(seed: number) { this.s = seed >>> 0; }
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number { return Math.floor(this.next() * n); }
  chance(p: number): boolean { return this.next() < p; }
  pick<T>(a: readonly T[]): T { return a[Math.floor(this.next() * a.length)]; }
  digits(n: number): string {
    let s = '';
    for (let i = 0; i < n; i++) s += String.fromCharCode(48 + this.int(10));
    return s;
  }
}

/** An independent stream per (seed, index): splitmix-style mixing of the two. */
function streamSeed(seed: number, index: number, salt: number): number {
  let h = (seed ^ Math.imul(index + 1, 0x9e3779b1) ^ Math.imul(salt, 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

// ---------------------------------------------------------------- phone numbers

/** A number as its digits: country calling code, national significant number, grouping. */
export interface PhoneDigits {
  iso: string;
  cc: string;
  nsn: string;
  /** Group sizes of nsn, as the country writes it. */
  groups: number[];
  /** Trunk prefix written before national numbers ('0', or '' where none is used). */
  trunk: string;
}

interface CountrySpec {
  iso: string;
  cc: string;
  weight: number;
  trunk: string;
  /** How the country column spells it. */
  names: string[];
  /** A new number: NSN and its grouping. */
  number(r: Rng): { nsn: string; groups: number[] };
  /** Ways people write it; each takes the groups of the NSN. */
  formats: ((g: string[], d: PhoneDigits) => string)[];
}

const NANP_US = ['212', '415', '646', '312', '617', '206', '303', '512', '702', '305', '404', '213', '718', '202', '214', '480', '615', '919'];
const NANP_CA = ['416', '604', '514', '403', '613', '647', '780', '902'];
/** NANP exchange: 2-9 first, and not 555 or an N11 service code. */
function exchange(r: Rng): string {
  for (;;) {
    const e = String(2 + r.int(8)) + r.digits(2);
    if (e !== '555' && e.slice(1) !== '11') return e;
  }
}

const nanpFormats: CountrySpec['formats'] = [
  (g) => `(${g[0]}) ${g[1]}-${g[2]}`,
  (g) => `${g[0]}-${g[1]}-${g[2]}`,
  (g) => `${g[0]}.${g[1]}.${g[2]}`,
  (g) => g.join(''),
  (g) => `+1 ${g.join(' ')}`,
  (g) => `1-${g.join('-')}`,
  (g) => `+1 (${g[0]}) ${g[1]}-${g[2]}`,
  (g) => `+1${g.join('')}`,
  (g) => `1 (${g[0]}) ${g[1]} ${g[2]}`,
];

/** The forms most countries share: national with trunk, +cc, +cc (0), 00cc, compact. */
function commonFormats(sep: string): CountrySpec['formats'] {
  return [
    (g, d) => d.trunk + g.join(sep),
    (g, d) => `+${d.cc} ${g.join(' ')}`,
    (g, d) => `+${d.cc} ${g.join(sep)}`,
    (g, d) => (d.trunk ? `+${d.cc} (${d.trunk})${g.join(' ')}` : `+${d.cc} ${g.join('')}`),
    (g, d) => `00${d.cc} ${g.join(' ')}`,
    (g, d) => `+${d.cc}${g.join('')}`,
    (g, d) => d.trunk + g.join(''),
  ];
}

const COUNTRIES: CountrySpec[] = [
  {
    iso: 'US', cc: '1', weight: 33, trunk: '',
    names: ['US', 'USA', 'United States', 'us', 'U.S.', 'United States of America', 'usa'],
    number: (r) => ({ nsn: r.pick(NANP_US) + exchange(r) + r.digits(4), groups: [3, 3, 4] }),
    formats: nanpFormats,
  },
  {
    iso: 'CA', cc: '1', weight: 3, trunk: '',
    names: ['CA', 'Canada', 'CAN', 'canada'],
    number: (r) => ({ nsn: r.pick(NANP_CA) + exchange(r) + r.digits(4), groups: [3, 3, 4] }),
    formats: nanpFormats,
  },
  {
    iso: 'GB', cc: '44', weight: 12, trunk: '0',
    names: ['GB', 'UK', 'United Kingdom', 'England', 'gb', 'Great Britain', 'Scotland'],
    number: (r) => r.chance(0.6)
      ? { nsn: '7' + r.pick(['4', '5', '7', '8', '9']) + r.digits(8), groups: [4, 6] }
      : r.chance(0.6)
        ? { nsn: '20' + r.pick(['3', '7', '8']) + r.digits(7), groups: [2, 4, 4] }
        : { nsn: r.pick(['161', '121', '113', '131']) + String(2 + r.int(4)) + r.digits(6), groups: [3, 3, 4] },
    formats: [
      ...commonFormats(' '),
      (g, d) => `(0${g[0]}) ${g.slice(1).join(' ')}`,
      (g, d) => `+44 (0) ${g.join(' ')}`,
      (g, d) => `0${g[0]}-${g.slice(1).join('')}`,
    ],
  },
  {
    iso: 'DE', cc: '49', weight: 8, trunk: '0',
    names: ['DE', 'Germany', 'Deutschland', 'DEU', 'germany'],
    number: (r) => r.chance(0.55)
      ? { nsn: r.pick(['151', '152', '157', '160', '170', '171', '172', '175', '176', '177', '178', '179']) + r.digits(8), groups: [3, 8] }
      : areaNumber(r.pick(['30', '30', '89', '40', '69', '221']), String(1 + r.int(9)) + r.digits(6 + r.int(2))),
    formats: [
      ...commonFormats(' '),
      (g, d) => `0${g[0]}/${g.slice(1).join('')}`,
      (g, d) => `0${g[0]}-${g.slice(1).join('')}`,
      (g, d) => `(0${g[0]}) ${g.slice(1).join(' ')}`,
    ],
  },
  {
    iso: 'FR', cc: '33', weight: 7, trunk: '0',
    names: ['FR', 'France', 'FRA', 'france'],
    number: (r) => ({
      nsn: r.chance(0.5)
        ? (r.chance(0.7) ? '6' + String(r.int(9)) : '7' + String(5 + r.int(4))) + r.digits(7)
        : r.pick(['1', '2', '3', '4', '5']) + String(3 + r.int(7)) + r.digits(7),
      groups: [1, 2, 2, 2, 2],
    }),
    formats: [...commonFormats(' '), (g) => '0' + g.join('.'), (g) => '0' + g.join('-')],
  },
  {
    iso: 'IN', cc: '91', weight: 7, trunk: '0',
    names: ['IN', 'India', 'IND', 'india'],
    number: (r) => ({ nsn: r.pick(['98', '99', '97', '96', '94', '90', '91', '93', '70', '81', '88', '80']) + r.digits(8), groups: [5, 5] }),
    formats: [(g) => g.join(' '), (g) => g.join(''), (g) => `+91-${g.join('')}`, ...commonFormats(' ')],
  },
  {
    iso: 'AU', cc: '61', weight: 5, trunk: '0',
    names: ['AU', 'Australia', 'AUS'],
    number: (r) => r.chance(0.6)
      ? { nsn: '4' + r.pick(['0', '1', '2', '3', '5', '6', '8']) + r.digits(7), groups: [3, 3, 3] }
      : { nsn: r.pick(['29', '38', '73', '86']) + r.digits(7), groups: [1, 4, 4] },
    formats: [...commonFormats(' '), (g) => `(0${g[0]}) ${g.slice(1).join(' ')}`, (g, d) => `0011 61 ${g.join(' ')}`],
  },
  {
    iso: 'BR', cc: '55', weight: 5, trunk: '',
    names: ['BR', 'Brazil', 'Brasil', 'BRA'],
    number: (r) => {
      const area = r.pick(['11', '21', '31', '41', '51', '61', '71', '81']);
      return r.chance(0.7)
        ? { nsn: area + '9' + String(6 + r.int(4)) + r.digits(7), groups: [2, 5, 4] }
        : { nsn: area + String(2 + r.int(4)) + r.digits(7), groups: [2, 4, 4] };
    },
    formats: [
      (g) => `(${g[0]}) ${g[1]}-${g[2]}`,
      (g) => `+55 ${g[0]} ${g[1]}-${g[2]}`,
      (g) => `+55 (${g[0]}) ${g[1]}-${g[2]}`,
      (g) => g.join(' '),
      (g) => g.join(''),
      (g) => `0055 ${g.join(' ')}`,
    ],
  },
  {
    iso: 'JP', cc: '81', weight: 4, trunk: '0',
    names: ['JP', 'Japan', 'JPN'],
    number: (r) => r.chance(0.6)
      ? { nsn: r.pick(['90', '80', '70']) + String(1 + r.int(9)) + r.digits(7), groups: [2, 4, 4] }
      : { nsn: '3' + String(3 + r.int(7)) + r.digits(7), groups: [1, 4, 4] },
    formats: [(g) => '0' + g.join('-'), (g) => `+81-${g.join('-')}`, ...commonFormats(' ')],
  },
  {
    iso: 'MX', cc: '52', weight: 4, trunk: '',
    names: ['MX', 'Mexico', 'México', 'MEX'],
    number: (r) => ({ nsn: r.pick(['55', '33', '81']) + String(1 + r.int(9)) + r.digits(7), groups: [2, 4, 4] }),
    formats: [
      (g) => g.join(' '),
      (g) => `(${g[0]}) ${g[1]}-${g[2]}`,
      (g) => `+52 ${g.join(' ')}`,
      (g) => `+52 1 ${g.join(' ')}`,
      (g) => `+52${g.join('')}`,
      (g) => g.join(''),
    ],
  },
  {
    iso: 'ES', cc: '34', weight: 4, trunk: '',
    names: ['ES', 'Spain', 'España', 'ESP'],
    number: (r) => r.chance(0.6)
      ? { nsn: r.chance(0.8) ? '6' + r.digits(8) : '7' + String(1 + r.int(4)) + r.digits(7), groups: [3, 3, 3] }
      : { nsn: r.pick(['91', '93']) + String(1 + r.int(9)) + r.digits(6), groups: [3, 2, 2, 2] },
    formats: [(g) => g.join(' '), (g) => g.join(''), (g) => `+34 ${g.join(' ')}`, (g) => `0034 ${g.join('')}`, (g) => `+34${g.join('')}`],
  },
  {
    iso: 'NL', cc: '31', weight: 4, trunk: '0',
    names: ['NL', 'Netherlands', 'Holland', 'Nederland', 'NLD'],
    number: (r) => r.chance(0.6)
      ? { nsn: '6' + String(1 + r.int(5)) + r.digits(7), groups: [1, 8] }
      : { nsn: r.pick(['20', '10', '70', '30']) + String(1 + r.int(9)) + r.digits(6), groups: [2, 3, 4] },
    formats: [...commonFormats(' '), (g) => '0' + g.join('-')],
  },
  {
    // Italy keeps the leading 0 of fixed numbers after +39: a classic mistake to "fix".
    iso: 'IT', cc: '39', weight: 4, trunk: '',
    names: ['IT', 'Italy', 'Italia', 'ITA'],
    number: (r) => r.chance(0.55)
      ? { nsn: '3' + String(2 + r.int(8)) + r.digits(8), groups: [3, 3, 4] }
      : { nsn: '06' + String(1 + r.int(9)) + r.digits(7), groups: [2, 4, 4] },
    formats: [(g) => g.join(' '), (g) => g.join(''), (g) => `+39 ${g.join(' ')}`, (g) => `0039 ${g.join(' ')}`, (g) => `+39${g.join('')}`],
  },
];

const COUNTRY_TOTAL = COUNTRIES.reduce((s, c) => s + c.weight, 0);
const BY_ISO = new Map(COUNTRIES.map((c) => [c.iso, c]));
export const GENERATED_COUNTRIES = COUNTRIES.map((c) => c.iso);

function pickCountry(r: Rng): CountrySpec {
  let x = r.next() * COUNTRY_TOTAL;
  for (const c of COUNTRIES) if ((x -= c.weight) < 0) return c;
  return COUNTRIES[0];
}

function newNumber(r: Rng, c: CountrySpec): PhoneDigits {
  const { nsn, groups } = c.number(r);
  return { iso: c.iso, cc: c.cc, nsn, groups, trunk: c.trunk };
}

/** An area code and a subscriber number of varying length (German fixed lines). */
function areaNumber(area: string, rest: string): { nsn: string; groups: number[] } {
  return { nsn: area + rest, groups: [area.length, rest.length] };
}

function splitGroups(d: PhoneDigits): string[] {
  const out: string[] = [];
  let at = 0;
  for (let i = 0; i < d.groups.length; i++) {
    const n = i === d.groups.length - 1 ? d.nsn.length - at : d.groups[i];
    out.push(d.nsn.slice(at, at + n));
    at += n;
  }
  return out.filter((g) => g !== '');
}

const EXTENSIONS = [' x{n}', ' ext. {n}', ' ext {n}', ' #{n}', ';ext={n}', ' Ext: {n}', ' extension {n}', ' X{n}'];

/** One number as a person typed it, sometimes with an extension. */
function writeNumber(r: Rng, d: PhoneDigits): string {
  const c = BY_ISO.get(d.iso)!;
  let s = r.pick(c.formats)(splitGroups(d), d);
  if ((d.cc === '1' || d.cc === '44') && r.chance(0.06)) s += r.pick(EXTENSIONS).replace('{n}', String(1 + r.int(r.chance(0.5) ? 99 : 9999)));
  return s;
}

const GARBAGE = [
  'n/a', '-', 'none', 'call reception', 'TBD', '4.15555E+09', '12345', '+1 000 000 0000', '555-1234', '0',
  'see notes', '?', 'ask for Bob', '1-800-FLOWERS', '+44 (0)', 'NULL', '(555) 010', '+999 123 4567', '020 7946', '0000000000',
];
const MULTI_SEPARATORS = [' / ', '; ', ' or ', '\n', ', ', ' | '];

// ---------------------------------------------------------------- people

const FIRST = [
  'James', 'Mary', 'John', 'Patricia', 'Robert', 'Jennifer', 'Michael', 'Linda', 'William', 'Elizabeth', 'David', 'Barbara',
  'Richard', 'Susan', 'Joseph', 'Jessica', 'Thomas', 'Sarah', 'Charles', 'Karen', 'Priya', 'Rahul', 'Ananya', 'Vikram',
  'Hans', 'Jürgen', 'Anna', 'Lukas', 'Sophie', 'François', 'Amélie', 'Chloé', 'José', 'María', 'Lucía', 'João', 'Ana',
  'Yuki', 'Haruto', 'Sakura', 'Oliver', 'Amelia', 'Jack', 'Isla', 'Liam', 'Emma', 'Noah', 'Olivia', 'Zoë', 'Søren',
  'Björn', 'Giulia', 'Marco', 'Sven', 'Fatima', 'Mohammed', 'Wei', 'Mei', "D'Arcy", 'Anne-Marie',
];
const LAST = [
  'Smith', 'Johnson', 'Williams', 'Brown', 'Jones', 'Garcia', 'Miller', 'Davis', 'Rodriguez', 'Martinez', 'Hernandez',
  'Lopez', 'Gonzalez', 'Wilson', 'Anderson', 'Thomas', 'Taylor', 'Moore', 'Jackson', 'Martin', 'Lee', 'Perez', 'Thompson',
  'White', 'Harris', 'Sanchez', 'Clark', 'Ramirez', 'Lewis', 'Robinson', 'Müller', 'Schmidt', 'Schneider', 'Fischer',
  'Weber', 'Dubois', 'Lefèvre', 'Moreau', 'Sharma', 'Patel', 'Gupta', 'Singh', 'Iyer', 'Sato', 'Suzuki', 'Takahashi',
  'Silva', 'Santos', 'Oliveira', 'Rossi', 'Russo', 'Bianchi', 'de Jong', 'van der Berg', 'Jansen', "O'Brien", 'McDonald',
  'Nguyen', 'Kowalski', 'Andersson', 'García-López', 'Ó Súilleabháin', 'Wang', 'Li',
];
const COMPANIES = [
  'Acme Corp', 'Globex', 'Initech', 'Umbrella Corporation', 'Hooli', 'Stark Industries', 'Wayne Enterprises',
  'Smith, Jones & Partners', 'Müller GmbH', 'Société Générale de Test', 'Tata Widgets Pvt. Ltd.', 'Nakamura K.K.',
  'The "Best" Widgets Co.', 'Pied Piper', 'Vandelay Industries', 'Cyberdyne Systems', 'Soylent, Inc.', 'Gringotts',
  'Wonka Industries', 'Oceanic Airlines', 'Tyrell Corp', 'Monsters, Inc.', 'Dunder Mifflin', 'Bluth Company',
  'Prestige Worldwide', 'Massive Dynamic', 'Aperture Science', 'Black Mesa', 'Los Pollos Hermanos', 'Sterling Cooper',
  'Rossi & Figli S.p.A.', 'Construções Silva Ltda.', 'van der Berg B.V.', '', '',
];
const TITLES = [
  'CEO', 'CTO', 'VP, Sales', 'Account Executive', 'Engineer', 'Office Manager', 'Head of Operations', 'Buyer',
  'Director, Procurement & Logistics', 'Consultant', 'Sales Rep', 'Owner', '', '', '',
];
const STREETS = ['Main St', 'High Street', 'Hauptstraße', 'Rue de Rivoli', 'MG Road', 'George St', 'Av. Paulista', 'Elm Street', 'Via Roma', 'Calle Mayor', 'Keizersgracht', 'Queen St W'];
const CITIES: Record<string, string[]> = {
  US: ['New York, NY 10001', 'San Francisco, CA 94105', 'Chicago, IL 60601', 'Austin, TX 78701'],
  CA: ['Toronto, ON M5V 2T6', 'Vancouver, BC V6B 1A1'],
  GB: ['London SW1A 1AA', 'Manchester M1 1AE', 'Leeds LS1 4DY'],
  DE: ['10115 Berlin', '80331 München', '20095 Hamburg'],
  FR: ['75001 Paris', '69001 Lyon'],
  IN: ['Bengaluru 560001', 'Mumbai 400001', 'New Delhi 110001'],
  AU: ['Sydney NSW 2000', 'Melbourne VIC 3000'],
  BR: ['São Paulo - SP, 01310-100', 'Rio de Janeiro - RJ'],
  JP: ['Tokyo 100-0001', 'Osaka 530-0001'],
  MX: ['Ciudad de México, CDMX 06000', 'Guadalajara, Jal.'],
  ES: ['28013 Madrid', '08001 Barcelona'],
  NL: ['1015 Amsterdam', '3011 Rotterdam'],
  IT: ['00184 Roma', '20121 Milano'],
};
const FREE_MAIL = ['gmail.com', 'yahoo.com', 'outlook.com', 'hotmail.com', 'icloud.com', 'gmx.de', 'orange.fr', 'yahoo.co.in', 'web.de'];
const NOTES = [
  'Met at trade show, wants a demo', 'said "call me after 5pm"', 'Prefers email, not phone', 'VIP customer; renewal in Q3',
  'Former client, left for competitor, then came back', '=HYPERLINK("http://example.com")', '+1 call back tomorrow',
  'Speaks English, Français', 'Do not call\nEmail only', 'Referred by "Big Jim", see thread', '@mention in CRM',
];
export const OWNERS = [
  'alice.nguyen@ourco.example', 'bob.schmidt@ourco.example', 'carla.rossi@ourco.example', 'dev.patel@ourco.example',
  'emma.dubois@ourco.example', 'farid.haddad@ourco.example', 'grace.kim@ourco.example', 'hiro.sato@ourco.example',
  'ines.silva@ourco.example', 'jack.obrien@ourco.example', 'kofi.mensah@ourco.example', 'lena.jansen@ourco.example',
];

function asciiFold(s: string): string {
  return s.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').replace(/[^A-Za-z0-9]+/g, '').toLowerCase();
}

/** Everything that is true about a contact, however a row happens to write it. */
interface Identity {
  index: number;
  id: string;
  first: string;
  last: string;
  company: string;
  title: string;
  country: CountrySpec;
  phone: PhoneDigits;
  other?: PhoneDigits;
  email: string;
  workEmail?: string;
  owner: string;
  address: string;
  created: string;
}

function identity(seed: number, index: number): Identity {
  const r = new Rng(streamSeed(seed, index, 1));
  const first = r.pick(FIRST);
  const last = r.pick(LAST);
  const country = pickCountry(r);
  const phone = newNumber(r, country);
  const other = r.chance(0.25) ? newNumber(r, country) : undefined;
  const f = asciiFold(first) || 'x';
  const l = asciiFold(last) || 'y';
  const local = r.pick([`${f}.${l}`, `${f[0]}${l}`, `${f}_${l}`, `${f}${l}${r.int(100)}`, `${f}.${l}${1950 + r.int(55)}`]);
  // Unique per identity: two people with the same name must not share an address.
  const email = `${local}.${index.toString(36)}@${r.pick(FREE_MAIL)}`;
  const company = r.pick(COMPANIES);
  const workEmail = company && r.chance(0.3) ? `${f}.${l}.${index.toString(36)}@${asciiFold(company).slice(0, 12) || 'corp'}.example` : undefined;
  const street = `${1 + r.int(999)} ${r.pick(STREETS)}`;
  const city = r.pick(CITIES[country.iso]);
  const address = r.chance(0.35) ? `${street}\nSuite ${100 + r.int(900)}\n${city}` : `${street}, ${city}`;
  const y = 2015 + r.int(10);
  const m = 1 + r.int(12);
  const d = 1 + r.int(28);
  const created = r.chance(0.7) ? `${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}` : `${m}/${d}/${y}`;
  return {
    index, id: `CRM-${String(index + 1).padStart(7, '0')}`, first, last, company, title: r.pick(TITLES), country,
    phone, other, email, workEmail, owner: r.pick(OWNERS), address, created,
  };
}

// ---------------------------------------------------------------- rows

export const HEADERS = [
  'External ID', 'First Name', 'Last Name', 'Company', 'Job Title', 'Email', 'Phone', 'Other Phones', 'Country',
  'Owner', 'Address', 'Notes', 'Created',
] as const;

/** One number as written in a row, with the country it was generated for (for the phone bench). */
export interface WrittenNumber {
  text: string;
  /** ISO code of the number's country, or '' for garbage. */
  iso: string;
  /** What the country column says for this row ('' when blank). */
  countryCell: string;
  /** The number the text was written from (undefined for garbage). */
  e164?: string;
}

export interface GeneratedRow {
  values: string[];
  numbers: WrittenNumber[];
  duplicateOf?: number;
}

function emailCase(r: Rng, e: string): string {
  const x = r.next();
  if (x < 0.7) return e;
  const [local, domain] = e.split('@');
  if (x < 0.85) return local.replace(/(^|[._])([a-z])/g, (_m, p: string, c: string) => p + c.toUpperCase()) + '@' + domain.replace(/^[a-z]/, (c) => c.toUpperCase());
  if (x < 0.95) return `${local}@${domain.toUpperCase()}`;
  return e.toUpperCase();
}

const BAD_EMAIL = [(e: string) => e.split('@')[0] + '@', (e: string) => e.replace('@', ' at '), (e: string) => e.replace(/\.[a-z.]+$/, ''), (e: string) => '@' + e.split('@')[1], (e: string) => e.replace('.', ' ')];

/**
 * Rows, in order. About 20% repeat an earlier identity, mostly under the same owner,
 * written differently. Every duplicate keeps at least one key (id, a phone or the
 * email) that the pipeline can match on.
 */
export function* generateRows(rows: number, seed: number): Generator<GeneratedRow> {
  const r = new Rng(streamSeed(seed, 0, 2));
  let identities = 0;
  for (let i = 0; i < rows; i++) {
    const dup = identities > 10 && r.chance(0.2);
    const who = identity(seed, dup ? r.int(identities) : identities++);
    const numbers: WrittenNumber[] = [];
    const countryCell = r.chance(0.03) ? '' : r.pick(who.country.names);

    let id = who.id;
    let first = who.first;
    let last = who.last;
    let company = who.company;
    let address = who.address;
    let owner = who.owner;
    let keepPhone = true;
    let keepEmail = true;
    if (dup) {
      if (r.chance(0.6)) id = '';
      if (r.chance(0.2)) { first = first.toUpperCase(); last = last.toUpperCase(); }
      if (r.chance(0.15)) company = company.replace(/[,.]?\s*(Inc\.|Corp|Corporation|GmbH|Ltd\.|S\.p\.A\.|B\.V\.|Ltda\.)$/, '');
      if (r.chance(0.3)) address = '';
      if (r.chance(0.1)) owner = r.pick(OWNERS);
      keepPhone = !r.chance(0.2);
      keepEmail = !r.chance(0.3);
      if (!id && !keepPhone) keepEmail = true;
    } else if (r.chance(0.05)) {
      id = '';
    }

    const write = (d: PhoneDigits) => {
      const text = writeNumber(r, d);
      numbers.push({ text, iso: d.iso, countryCell, e164: `+${d.cc}${d.nsn}` });
      return text;
    };
    const garbage = () => {
      const text = r.pick(GARBAGE);
      numbers.push({ text, iso: who.country.iso, countryCell });
      return text;
    };

    let phone = '';
    let other = '';
    const roll = r.next();
    if (!keepPhone || roll < 0.07) {
      phone = '';
    } else if (roll < 0.09) {
      phone = garbage();
    } else if (roll < 0.13 && who.other) {
      phone = write(who.phone) + r.pick(MULTI_SEPARATORS) + write(who.other);
    } else {
      phone = write(who.phone);
      if (who.other && r.chance(0.8)) other = write(who.other);
    }
    if (dup && other && r.chance(0.1)) [phone, other] = [other, phone];

    let email = '';
    if (keepEmail && r.chance(dup ? 1 : 0.9)) {
      const x = r.next();
      if (x < 0.015) email = r.pick(BAD_EMAIL)(who.email);
      else if (x < 0.035 && who.workEmail) email = `${emailCase(r, who.email)}; ${who.workEmail}`;
      else email = emailCase(r, who.email);
    }

    const values = [
      id, first, last, company, who.title, email, phone, other, countryCell, owner, address,
      r.chance(0.25) ? r.pick(NOTES) : '', who.created,
    ];
    yield { values, numbers, duplicateOf: dup ? who.index : undefined };
  }
}

const NEEDS_QUOTES = /[",\r\n]/;
function csvCell(v: string): string {
  return NEEDS_QUOTES.test(v) ? '"' + v.replace(/"/g, '""') + '"' : v;
}
export function csvLine(values: readonly string[]): string {
  let s = csvCell(values[0]);
  for (let i = 1; i < values.length; i++) s += ',' + csvCell(values[i]);
  return s + '\r\n';
}

/** Write the CSV (CRLF, as spreadsheets export it) atomically: a half-written file never looks finished. */
export function writeCsv(file: string, rows: number, seed: number): { bytes: number; rows: number } {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w');
  let bytes = 0;
  let buf = csvLine(HEADERS);
  try {
    for (const row of generateRows(rows, seed)) {
      buf += csvLine(row.values);
      if (buf.length > 1 << 20) { bytes += writeSync(fd, buf); buf = ''; }
    }
    bytes += writeSync(fd, buf);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  return { bytes, rows };
}

function argValue(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  if (i >= 0) return argv[i + 1];
  const eq = argv.find((a) => a.startsWith(name + '='));
  return eq?.slice(name.length + 1);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const argv = process.argv.slice(2);
  const rows = Number((argValue(argv, '--rows') ?? '1000000').replace(/[_,]/g, ''));
  const seed = Number(argValue(argv, '--seed') ?? '42');
  const out = argValue(argv, '--out') ?? `test/bench/data/contacts-${rows}-${seed}.csv`;
  if (!Number.isInteger(rows) || rows < 1 || !Number.isInteger(seed)) {
    process.stderr.write('usage: generate.ts [--rows N] [--seed N] [--out FILE]\n');
    process.exit(2);
  }
  const t0 = performance.now();
  const { bytes } = writeCsv(out, rows, seed);
  process.stdout.write(`${out}: ${rows} rows, ${(bytes / 1e6).toFixed(1)} MB in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
}
