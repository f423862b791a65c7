/**
 * `contact-import init`: a draft mapping that `check` accepts without edits, for every known
 * export layout and for files nobody has seen before (headers in other languages, headers
 * that mean nothing, where only the content tells a phone column from an email column).
 */
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, runCli, tempDir, assertInvariant, readReportCsv } from './helpers/cli.js';
import { parseMapping } from '../pipeline/mapping/load.js';
import { draftMapping, emailCountry, emailEvidence, guessCountry, sampleFile, yamlScalar } from '../pipeline/mapping/draft.js';
import { LAYOUTS, detectLayout } from '../pipeline/mapping/layouts.js';
import { lookupHeader } from '../pipeline/mapping/synonyms.js';
import YAML from 'yaml';

const tmp = tempDir('cli-init-');
after(() => tmp.cleanup());

/** `check` of `file` with a mapping of this text (written as `<name>.yaml`): must exit 0; returns the report folder. */
async function checkWith(file: string, mappingText: string, name: string): Promise<string> {
  const mapping = join(tmp.path, `${name}.yaml`);
  writeFileSync(mapping, mappingText);
  const out = join(tmp.path, `check-${name}`);
  const check = await runCli(['check', file, '-m', mapping, '--out', out]);
  assert.equal(check.code, 0, check.stderr);
  return out;
}

/** The draft `init` makes of a CSV with this text, written as `name` in the temp folder. */
async function draftOf(name: string, text: string) {
  const file = join(tmp.path, name);
  writeFileSync(file, text);
  return draftMapping(await sampleFile(file), { file });
}

interface Expect { row: string; name: string; company: string; phone: string; email: string }

/** One row per layout, checked field by field after init -> check. */
const EXPECT: Record<string, Expect[]> = {
  'google-contacts': [
    { row: '2', name: 'Ava Thompson', company: 'Northwind Traders', phone: '+14155552671 +14155550100', email: 'ava.thompson@northwind.example' },
    // A UK row in a US file: its +44 numbers keep their country.
    { row: '6', name: 'Oliver Wright', company: 'Adventure Works', phone: '+442079460958 +447911123456', email: 'o.wright@adventure-works.example' },
    { row: '5', name: 'Mia Chen', company: 'Tailspin Toys', phone: '+12065550110', email: 'mia.chen@tailspin.example mia.chen.home@mail.example' },
  ],
  'google-contacts-legacy': [
    { row: '2', name: 'Liam Patel', company: 'Contoso Ltd', phone: '+447911123456 +442079460958', email: 'liam.patel@contoso.example' },
    { row: '7', name: 'Isla Murphy', company: 'Alpine Ski House', phone: '+353871234567', email: 'isla.murphy@alpineskihouse.example' },
  ],
  outlook: [
    { row: '2', name: 'Jonas Becker', company: 'Fabrikam GmbH', phone: '+4915123456789 +493012345678', email: 'jonas.becker@fabrikam.example' },
    // The fax column is not a phone to call; the second address is kept.
    { row: '4', name: 'Felix Wagner', company: 'Litware GmbH', phone: '+494042831234', email: 'f.wagner@litware.example felix.wagner@mail.example' },
    { row: '9', name: 'Hannah Klein', company: 'Adventure Works', phone: '+4315321234', email: 'hannah.klein@adventure-works.example' },
  ],
  hubspot: [
    { row: '2', name: 'Grace Miller', company: 'Northwind Traders', phone: '+14155552671 +14155550134', email: 'grace.miller@northwind.example' },
    { row: '11', name: 'Owen King', company: 'Adventure Works', phone: '+447911123456 +442079460958', email: 'owen.king@adventure-works.example' },
  ],
  salesforce: [
    { row: '2', name: 'Ava Thompson', company: 'Northwind Traders', phone: '+14155552671 +14155550100', email: 'ava.thompson@northwind.example' },
    { row: '7', name: 'Antoine Dubois', company: 'Proseware SARL', phone: '+33612345678 +33142685300', email: 'antoine.dubois@proseware.example' },
  ],
  'iphone-vcard': [
    { row: '2', name: 'Camille Laurent', company: 'Fabrikam France', phone: '+33612345678 +33142685300', email: 'camille.laurent@fabrikam.example' },
    { row: '9', name: 'Jules Lambert', company: 'Adventure Works', phone: '+32470123456 +3225123456', email: 'jules.lambert@adventure-works.example' },
  ],
};

/** "row 2: "Ava Thompson" company="Northwind Traders" …" lines printed by `check --show`. */
function companiesFromCheck(stdout: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of stdout.matchAll(/^ {2}row (\d+): .*?company="([^"]*)"/gm)) out.set(m[1], m[2]);
  return out;
}

describe('known export layouts: init, then check without edits', () => {
  test('every layout has a sample, a ready mapping and expectations here', () => {
    for (const l of LAYOUTS) {
      assert.ok(existsSync(join(ROOT, 'samples', `${l.id}.csv`)), `samples/${l.id}.csv`);
      assert.ok(existsSync(join(ROOT, 'mappings', `${l.id}.yaml`)), `mappings/${l.id}.yaml`);
      assert.ok(EXPECT[l.id], `expectations for ${l.id}`);
    }
  });

  for (const l of LAYOUTS) {
    test(`${l.id}: recognized, and check maps name, phones, emails and company`, async () => {
      const mapping = join(tmp.path, `${l.id}.yaml`);
      const init = await runCli(['init', `samples/${l.id}.csv`, '--out', mapping]);
      assert.equal(init.code, 0, init.stderr);
      assert.match(init.stdout, new RegExp(`recognized: ${l.title.replace(/[()/]/g, '\\$&')}`));
      const text = readFileSync(mapping, 'utf8');
      assert.match(text, /defaultCountry: [A-Z]{2} +# a guess/);

      const out = join(tmp.path, `check-${l.id}`);
      const check = await runCli(['check', `samples/${l.id}.csv`, '--mapping', mapping, '--out', out, '--show', '50']);
      assert.equal(check.code, 0, check.stdout + check.stderr);
      const s = assertInvariant(out);
      assert.equal(s.counts.failed, 0);
      assert.equal(s.counts.success, s.counts.read);
      const rows = new Map(readReportCsv(out, 'success.csv').map((r) => [r._row, r]));
      const companies = companiesFromCheck(check.stdout);
      for (const e of EXPECT[l.id]) {
        const got = rows.get(e.row);
        assert.ok(got, `row ${e.row} loaded`);
        assert.equal(got.name, e.name, `row ${e.row} name`);
        assert.equal(got.phone, e.phone, `row ${e.row} phones`);
        assert.equal(got.email, e.email, `row ${e.row} emails`);
        assert.equal(companies.get(e.row), e.company, `row ${e.row} company`);
      }
    });

    test(`${l.id}: the ready mapping in mappings/ maps the same fields as a fresh draft`, async () => {
      const sample = await sampleFile(join(ROOT, 'samples', `${l.id}.csv`));
      const draft = draftMapping(sample, { file: `samples/${l.id}.csv` });
      assert.equal(draft.layout?.id, l.id);
      const ready = parseMapping(readFileSync(join(ROOT, 'mappings', `${l.id}.yaml`), 'utf8'), `mappings/${l.id}.yaml`);
      assert.deepEqual(ready.fields, draft.mapping.fields);
      assert.deepEqual(ready.phone, draft.mapping.phone);
    });
  }

  test('Outlook\'s "Title" (Mr./Ms.) is not the job title; Salesforce\'s "Title" is', async () => {
    const outlook = parseMapping(readFileSync(join(ROOT, 'mappings', 'outlook.yaml'), 'utf8'), 'outlook.yaml');
    assert.equal(outlook.fields.title, 'Job Title');
    const sf = parseMapping(readFileSync(join(ROOT, 'mappings', 'salesforce.yaml'), 'utf8'), 'salesforce.yaml');
    assert.equal(sf.fields.title, 'Title');
  });

  test('HubSpot\'s "Contact owner" holds names, so it is not mapped as the owner and the draft says why', () => {
    const text = readFileSync(join(ROOT, 'mappings', 'hubspot.yaml'), 'utf8');
    assert.equal(parseMapping(text, 'hubspot.yaml').fields.owner, undefined);
    assert.match(text, /"Contact owner" +e\.g\. "Maria Lopez" \(an owner must be an email address\)/);
  });

  test('detectLayout tells the two Google formats apart and ignores an ordinary CRM file', () => {
    const header = (f: string) => readFileSync(join(ROOT, 'samples', f), 'utf8').split(/\r?\n/)[0].split(',');
    assert.equal(detectLayout(header('google-contacts.csv'))?.id, 'google-contacts');
    assert.equal(detectLayout(header('google-contacts-legacy.csv'))?.id, 'google-contacts-legacy');
    assert.equal(detectLayout(header('clean.csv')), undefined);
  });
});

describe('files of no known layout', () => {
  const odd = () => {
    const file = join(tmp.path, 'kontakte.csv');
    writeFileSync(file, [
      'Nachname,Vorname,Firma,Tel.,Handy,Mobil,E-Mail-Adresse,Téléphone,Feld 7,Feld 8,Feld 9,Land',
      'Becker,Jonas,Fabrikam GmbH,030 12345678,0151 23456789,,jonas.becker@fabrikam.example,,0170 7654321,jonas@privat.example,10117,DE',
      'Schmidt,Lena,Contoso AG,089 21800,0170 1234567,0160 98765432,lena.schmidt@contoso.example,+33 1 42 68 53 00,0151 11223344,lena@privat.example,80331,Deutschland',
      'Wagner,Felix,Litware GmbH,040 42831234,,0151 55667788,f.wagner@litware.example,,0160 1234567,felix@privat.example,20095,',
      'Koch,Emma,Northwind KG,0221 123456,0160 7654321,,emma.koch@northwind.example,,,emma@privat.example,50667,Germany',
    ].join('\n') + '\n');
    return file;
  };

  test('odd headers (Tel., Handy, Mobil, E-Mail-Adresse, Téléphone) and meaningless ones are matched by name and by content', async () => {
    const file = odd();
    const draft = draftMapping(await sampleFile(file), { file });
    const phones = draft.fields.phones.map((p) => p.column);
    assert.deepEqual([...phones].sort(), ['Feld 7', 'Handy', 'Mobil', 'Tel.', 'Téléphone'].sort());
    assert.deepEqual(draft.fields.emails.map((e) => e.column).sort(), ['E-Mail-Adresse', 'Feld 8']);
    assert.match(draft.fields.phones.find((p) => p.column === 'Feld 7')!.why, /^content: 100% of 3 sampled values are phone numbers/);
    assert.match(draft.fields.emails.find((p) => p.column === 'Feld 8')!.why, /^content: /);
    assert.equal(draft.fields.phones[0].label, 'mobile', 'mobiles come first');
    assert.ok(!phones.includes('Feld 9'), 'postal codes are not phones');
    assert.equal(draft.fields.firstName?.column, 'Vorname');
    assert.equal(draft.fields.lastName?.column, 'Nachname');
    assert.equal(draft.fields.company?.column, 'Firma');
    assert.equal(draft.countryColumn?.column, 'Land');
    assert.equal(draft.country?.country, 'DE');
    assert.ok(draft.unmatched.includes('Feld 9'));
    assert.match(draft.text, /# {3}"Feld 9" {2}e\.g\. "10117"/, 'unmatched columns are listed with an example');

    const mapping = join(tmp.path, 'kontakte.yaml');
    assert.equal((await runCli(['init', file, '-o', mapping])).code, 0);
    const out = join(tmp.path, 'check-kontakte');
    const check = await runCli(['check', file, '-m', mapping, '--out', out]);
    assert.equal(check.code, 0, check.stdout + check.stderr);
    const rows = new Map(readReportCsv(out, 'success.csv').map((r) => [r._row, r]));
    assert.equal(rows.get('3')!.phone, '+491701234567 +4916098765432 +498921800 +33142685300 +4915111223344');
    assert.equal(rows.get('3')!.email, 'lena.schmidt@contoso.example lena@privat.example');
    assert.equal(rows.get('3')!.name, 'Lena Schmidt');
  });

  test('content outweighs a header: a "Phone" column of addresses is an email column', async () => {
    const d = await draftOf('swapped.csv', 'Full Name,Phone,Contact\nAva Thompson,ava@northwind.example,(415) 555-2671\nLiam Patel,liam@contoso.example,(212) 555-0143\n');
    assert.deepEqual(d.fields.emails.map((e) => e.column), ['Phone']);
    assert.deepEqual(d.fields.phones.map((e) => e.column), ['Contact']);
    assert.equal(d.fields.name?.column, 'Full Name');
  });

  test('a column of several numbers per cell is a phone column, by content and by a plural header', async () => {
    const d = await draftOf('several.csv', 'Full Name,Numbers,Other Phones\n'
      + 'Ava Thompson,415-555-2672 / 415-555-0100,(415) 555-2671; (415) 555-0188\n'
      + 'Liam Patel,212-555-0143 or 212-555-0199,"(212) 555-0143, (212) 555-0101"\n');
    assert.deepEqual(d.fields.phones.map((p) => p.column), ['Numbers', 'Other Phones']);
    assert.deepEqual(lookupHeader('Other Phones'), lookupHeader('Other Phone'));
    assert.equal(lookupHeader('Emails')?.role, 'email');
    // The repository's own sample: "Other Phones" holds two numbers per cell.
    const messy = draftMapping(await sampleFile(join(ROOT, 'samples', 'messy.csv')), { file: 'messy.csv' });
    assert.ok(messy.fields.phones.some((p) => p.column === 'Other Phones'), messy.text);
  });

  test('phones in the order a target should see them: mobile, then a plain "Phone" (the main number), then home, then an "Other" or "Alternate" one', async () => {
    const d = await draftOf('phone-order.csv', 'Name,Other Phone,Home Phone,Phone,Alternate Phone,Mobile\n'
      + 'Ava Thompson,415-555-0101,415-555-0102,415-555-0103,415-555-0104,415-555-0105\n'
      + 'Liam Patel,212-555-0101,212-555-0102,212-555-0103,212-555-0104,212-555-0105\n');
    assert.deepEqual(d.fields.phones.map((p) => [p.column, p.label]), [
      ['Mobile', 'mobile'], ['Phone', undefined], ['Home Phone', 'home'], ['Other Phone', undefined], ['Alternate Phone', undefined],
    ]);
    // A plain phone and a work phone keep their columns' order: both can be the main number.
    const workFirst = await draftOf('work-first.csv', 'Name,Work Phone,Phone\nAva Thompson,415-555-0101,415-555-0102\nLiam Patel,212-555-0101,212-555-0102\n');
    assert.deepEqual(workFirst.fields.phones.map((p) => p.column), ['Work Phone', 'Phone']);
    const plainFirst = await draftOf('plain-first.csv', 'Name,Phone,Work Phone\nAva Thompson,415-555-0101,415-555-0102\nLiam Patel,212-555-0101,212-555-0102\n');
    assert.deepEqual(plainFirst.fields.phones.map((p) => p.column), ['Phone', 'Work Phone']);
  });

  test('headers in French, Spanish, Italian, Portuguese and Dutch', () => {
    const cases: [string, string, string?][] = [
      ['Prénom', 'firstName'], ['Nom de famille', 'lastName'], ['Société', 'company'], ['Courriel', 'email'],
      ['Téléphone portable', 'phone', 'mobile'], ['Teléfono', 'phone'], ['Empresa', 'company'], ['Apellidos', 'lastName'],
      ['Correo electrónico', 'email'], ['Cellulare', 'phone', 'mobile'], ['Cognome', 'lastName'], ['Azienda', 'company'],
      ['Telefone', 'phone'], ['Telemóvel', 'phone', 'mobile'], ['Sobrenome', 'lastName'], ['Achternaam', 'lastName'],
      ['Bedrijf', 'company'], ['Telefoonnummer', 'phone'], ['Mobiel', 'phone', 'mobile'], ['E-mailadres', 'email'],
      ['Business Fax', 'notPhone'], ['E-mail 2 Address', 'email'], ['Home Street 2', 'street'],
    ];
    for (const [h, role, label] of cases) {
      const m = lookupHeader(h);
      assert.equal(m?.role, role, h);
      if (label) assert.equal(m?.label, label, h);
    }
    assert.equal(lookupHeader('Middle Name'), undefined, 'a dropped qualifier never turns "Middle Name" into a name');
    assert.equal(lookupHeader('E-mail Display Name'), undefined);
  });

  test('"Name" beside "Vorname" is the last name; "Nombre" beside "Apellidos" the first name; a "Title" of Mr./Ms. is not a job', async () => {
    const de = join(tmp.path, 'de.csv');
    writeFileSync(de, 'Name,Vorname,Telefon\nBecker,Jonas,030 12345678\n');
    const d1 = draftMapping(await sampleFile(de), { file: de });
    assert.equal(d1.fields.lastName?.column, 'Name');
    assert.equal(d1.fields.firstName?.column, 'Vorname');
    const es = join(tmp.path, 'es.csv');
    writeFileSync(es, 'Nombre,Apellidos,Teléfono\nLucía,García López,912 345 678\n');
    const d2 = draftMapping(await sampleFile(es), { file: es });
    assert.equal(d2.fields.firstName?.column, 'Nombre');
    assert.equal(d2.fields.lastName?.column, 'Apellidos');
    assert.equal(d2.country?.country, 'ES');
    const en = join(tmp.path, 'titles.csv');
    writeFileSync(en, 'Title,Full Name,Position,Email\nMr.,Tom Baker,Buyer,tom@x.example\nMs.,Ann Lee,CTO,ann@x.example\n');
    const d3 = draftMapping(await sampleFile(en), { file: en });
    assert.equal(d3.fields.title?.column, 'Position');
    assert.ok(d3.unmatched.includes('Title'));
  });

  test('a country column written in the language of the export (Frankreich, Spanien) is the country column, and check resolves every row by it', async () => {
    const file = join(tmp.path, 'kunden.csv');
    writeFileSync(file, 'Vorname,Nachname,Telefon,Land\n' +
      'Jürgen,Müller,030 1234567,Deutschland\nPierre,Dupont,01 42 68 53 00,Frankreich\nLucía,García,912 345 678,Spanien\nEmma,Smith,020 7946 0958,Großbritannien\n');
    const d = draftMapping(await sampleFile(file), { file });
    assert.equal(d.mapping.phone.countryColumn, 'Land');
    const out = await checkWith(file, d.text, 'kunden');
    assert.equal(assertInvariant(out).counts.success, 4);
    const phones = readReportCsv(out, 'success.csv').map((r) => r.phone);
    assert.deepEqual(phones, ['+49301234567', '+33142685300', '+34912345678', '+442079460958']);
  });

  test('XLSX: the header row under the title rows is found and written into source', async () => {
    const mapping = join(tmp.path, 'xlsx.yaml');
    const init = await runCli(['init', 'samples/title-row-phones-as-numbers.xlsx', '--out', mapping]);
    assert.equal(init.code, 0, init.stderr);
    const m = parseMapping(readFileSync(mapping, 'utf8'), mapping);
    assert.equal(m.source.headerRow, 3);
    assert.equal(m.fields.owner, 'Owner Email', 'an owner column of emails is mapped');
    const out = join(tmp.path, 'check-xlsx');
    const check = await runCli(['check', 'samples/title-row-phones-as-numbers.xlsx', '-m', mapping, '--out', out]);
    assert.ok(check.code === 0 || check.code === 1, check.stderr);
    assert.equal(assertInvariant(out).counts.read, 15);
  });
});

describe('the default country guess', () => {
  test('national numbers decide; loose German numbering does not steal US numbers', () => {
    assert.equal(guessCountry(['(415) 555-2671', '212-555-0143', '3125550176'].map((value) => ({ value })))?.country, 'US');
    assert.equal(guessCountry(['030 12345678', '0151 23456789', '089 21800'].map((value) => ({ value })))?.country, 'DE');
    assert.equal(guessCountry(['020 7946 0958', '07911 123456'].map((value) => ({ value })))?.country, 'GB');
    assert.equal(guessCountry(['06 12 34 56 78', '01 42 68 53 00'].map((value) => ({ value })))?.country, 'FR');
  });
  test('the country the email addresses name wins when its numbers fit, and a guess Italian numbering may have taken says so', async () => {
    // Italy keeps the leading 0, so its numbering takes German and French national numbers alike.
    const numbers = ['030 12345678', '0171 2345678', '089 1234567', '01 23 45 67 89'].map((value) => ({ value }));
    const alone = guessCountry(numbers);
    assert.equal(alone?.country, 'IT');
    assert.match(alone!.why, /\(DE fits 3 of them too: check\)$/);
    const de = guessCountry(numbers, undefined, { country: 'DE', rows: 3, withEmail: 4 });
    assert.equal(de?.country, 'DE');
    assert.match(de!.why, /^a guess: 3 of the 4 sampled email addresses end in \.de, and 3 of the 4 sampled numbers .* are valid DE numbers \(IT fits 4 of them\)$/);
    // Addresses are not enough where the numbers are written the way another country writes them.
    const us = ['(415) 555-2671', '212-555-0143', '3125550176'].map((value) => ({ value }));
    assert.equal(guessCountry(us, undefined, { country: 'DE', rows: 3, withEmail: 3 })?.country, 'US');
    // End to end: a German export with .de addresses.
    const d = await draftOf('german-one-french-number.csv', 'Vorname,Nachname,Telefon,E-Mail\nHans,Müller,030 12345678,hans@example.de\n'
      + 'Anna,Schmidt,0171 2345678,anna@beispiel.de\nKarl,Weber,089 1234567,karl@firma.de\nMarie,Dubois,01 23 45 67 89,marie@exemple.fr\n');
    assert.equal(d.mapping.phone.defaultCountry, 'DE');
  });

  test('email evidence: the country most rows\' addresses name, when it is most of them; generic domains say nothing', () => {
    const ev = (emails: string[]) => emailEvidence({ info: { headers: ['Email'] } as never, rows: emails.map((e) => [e]) }, ['Email']);
    assert.deepEqual(ev(['a@x.de', 'b@y.de', 'c@z.com', 'd@w.fr']), { country: 'DE', rows: 2, withEmail: 4 });
    assert.deepEqual(ev(['a@x.co.uk', 'b@y.co.uk; b2@y.fr', 'c@z.uk']), { country: 'GB', rows: 3, withEmail: 3 }, '.uk is GB; one vote a row');
    assert.equal(ev(['a@x.de', 'b@y.de', 'c@z.com', 'd@w.com', 'e@v.com', 'f@u.com', 'g@t.com']), undefined, 'two .de among seven: too few');
    assert.equal(ev(['a@x.io', 'b@y.io', 'c@z.co', 'd@w.co']), undefined, '.io and .co are used everywhere');
    assert.equal(ev(['a@x.de']), undefined, 'one address is not evidence');
    assert.equal(emailCountry('x@example.ch'), 'CH');
    assert.equal(emailCountry('x@example.eu'), undefined);
  });

  test('only +country numbers: the most common one, said to be a guess', () => {
    const g = guessCountry(['+44 20 7946 0958', '+44 7911 123456', '+1 415 555 2671'].map((value) => ({ value })));
    assert.equal(g?.country, 'GB');
    assert.match(g!.why, /^a guess: every sampled number has its \+country code/);
  });
  test('no phone numbers: no guess, and the draft says so', async () => {
    assert.equal(guessCountry([]), undefined);
    const d = await draftOf('emails-only.csv', 'Full Name,Email\nAva Thompson,ava@northwind.example\n');
    assert.equal(d.mapping.phone.defaultCountry, undefined);
    assert.match(d.text, /# phones: no column holds phone numbers in the sample/);
  });
});

describe('writing the draft', () => {
  test('without --out the mapping goes to stdout, and it validates', async () => {
    const r = await runCli(['init', 'samples/hubspot.csv']);
    assert.equal(r.code, 0, r.stderr);
    const m = parseMapping(r.stdout, 'stdout');
    assert.equal(m.fields.id, 'Record ID');
    assert.deepEqual(m.dedupe.keys, ['id', 'phone', 'email']);
  });

  test('an existing file is never overwritten without --force', async () => {
    const path = join(tmp.path, 'exists.yaml');
    writeFileSync(path, '# mine\n');
    const refused = await runCli(['init', 'samples/outlook.csv', '--out', path]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /^error: USAGE: .*exists\.yaml already exists; pass --force to overwrite it/m);
    assert.doesNotMatch(refused.stderr, /at .+\(.+:\d+:\d+\)/, 'no stack trace');
    assert.equal(readFileSync(path, 'utf8'), '# mine\n', 'the file is untouched');

    const forced = await runCli(['init', 'samples/outlook.csv', '--out', path, '--force']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(parseMapping(readFileSync(path, 'utf8'), path).fields.company, 'Company');
  });

  test('--target spoke says which required fields are missing, and the draft still validates', async () => {
    const r = await runCli(['init', 'samples/salesforce.csv', '--target', 'spoke']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /# --target spoke needs owner on every contact and no column was found for it/);
    parseMapping(r.stdout, 'stdout');
    const s = await runCli(['init', 'samples/hubspot.csv', '--target', 'samespace']);
    assert.equal(parseMapping(s.stdout, 'stdout').targets.samespace?.module, 'Contacts');
  });

  test('a file with no column init can map is a usage error naming its columns and the header row, not a bug', async () => {
    const file = join(tmp.path, 'notes-only.csv');
    writeFileSync(file, 'Notizen,Foo\nnichts,bar\n');
    const r = await runCli(['init', file]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^error: NO_CONTACT_COLUMNS: .*notes-only\.csv: no column looks like a name, phone, email, company or id \(the header row is row 1: "Notizen", "Foo"\)$/m);
    assert.match(r.stderr, /^hint: .*--header-row N/m);
    assert.doesNotMatch(r.stderr, /bug|internal/i);
    assert.equal(r.stdout, '', 'no draft is printed');
  });

  test('a workbook whose first sheet with data is not the contacts: the draft reads the first sheet that maps, names it and says why', async () => {
    const book = join(ROOT, 'test/fixtures/spreadsheets/contacts-after-notes-sheet.xlsx');
    const r = await runCli(['init', book]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^# Note: sheet "Contacts" is the first whose columns look like contacts \(nothing in "Read me" does\)$/m);
    const m = parseMapping(r.stdout, 'stdout');
    assert.equal(m.source.sheet, 'Contacts');
    assert.equal(m.fields.name, 'Name');
    assert.equal(m.fields.emails, 'Email');
    // check reads the sheet the draft names, without edits.
    const out = await checkWith(book, r.stdout, 'after-notes');
    assert.equal(assertInvariant(out).counts.success, 2);

    // A sheet the user names is the one they meant: no other sheet is tried.
    const named = await runCli(['init', book, '--sheet', 'Read me']);
    assert.equal(named.code, 2);
    assert.match(named.stderr, /NO_CONTACT_COLUMNS: sheet "Read me" of .*contacts-after-notes-sheet\.xlsx: no column looks like/);
  });

  test('a workbook where no sheet maps: one usage error listing every sheet tried', async () => {
    const r = await runCli(['init', join(ROOT, 'test/fixtures/spreadsheets/no-contact-columns.xlsx')]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /NO_CONTACT_COLUMNS: .*no-contact-columns\.xlsx: no sheet has a column that looks like a name, phone, email, company or id \(sheets "Read me", "Empty" \(empty\), "Totals"\)$/m);
  });

  test('a missing file is a usage error naming it', async () => {
    const r = await runCli(['init', 'samples/nope.csv']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /FILE_NOT_FOUND: .*samples\/nope\.csv/);
  });

  test('column names that need quoting in YAML round-trip', () => {
    for (const h of ['E-mail 1 - Value', 'Name: first', '#id', 'a, b', '{x}', 'Téléphone', 'Mailing Zip/Postal Code', "Manager's Name", ' padded ', 'yes', '123']) {
      const doc = YAML.parse(`k: ${yamlScalar(h)}\nf: { column: ${yamlScalar(h)} }`);
      assert.equal(doc.k, h, h);
      assert.equal(doc.f.column, h, h);
    }
  });

  test('init --help shows examples', async () => {
    const r = await runCli(['init', '--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /Examples:/);
    assert.match(r.stdout, /--force/);
  });
});
