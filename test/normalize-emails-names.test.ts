import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { parseMapping } from '../pipeline/mapping/load.js';
import { compileMapping, type MappedRow } from '../pipeline/transforms/map.js';
import { createNormalizer, isAllCaps, normalizeEmail, splitEmailCell, splitFullName } from '../pipeline/transforms/normalize.js';
import { createValidator } from '../pipeline/transforms/validate.js';
import { emptyContact } from '../pipeline/contact.js';

const mappingOf = (extra = '') => parseMapping(`fields:\n  name: Name\n  emails: Email\n${extra}`, 'm.yaml');

function row(r: Partial<MappedRow>): MappedRow {
  return { scalars: {}, phones: [], emails: [], websites: [], custom: {}, ...r };
}
const emailsRow = (...cells: string[]) => row({ emails: cells.map((value) => ({ value, column: 'Email' })) });

/** Full chain: mapping YAML + header + one row of cells -> normalize result and validation problems. */
function through(yaml: string, headers: string[], cells: string[], target?: { name: string; fields: string[] }) {
  const mapping = parseMapping(yaml, 'm.yaml');
  const compiled = compileMapping(mapping, headers, 'in.csv');
  const n = createNormalizer(mapping)(compiled.map(cells));
  const v = createValidator(mapping.required, target, compiled.columnsOf)(n.contact);
  return { ...n, required: v };
}

describe('emails', () => {
  test('normalizeEmail: trim, wrappers removed, domain lowercased, local part kept', () => {
    assert.equal(normalizeEmail('  Jane.Doe@Example.COM  '), 'Jane.Doe@example.com');
    assert.equal(normalizeEmail('mailto:Jane@X.Example'), 'Jane@x.example');
    assert.equal(normalizeEmail('MAILTO:jane@x.example'), 'jane@x.example');
    assert.equal(normalizeEmail('mary@x.example'), 'mary@x.example'); // starts with "m", no "mailto:"
    assert.equal(normalizeEmail('mailto:'), undefined);
    assert.equal(normalizeEmail('jane<@x.example'), undefined); // a "<" without the angle form
    assert.equal(normalizeEmail('MAILTO:jane@x.example'), 'jane@x.example');
    assert.equal(normalizeEmail('Jane Doe <Jane@X.Example>'), 'Jane@x.example');
    assert.equal(normalizeEmail('"Doe, Jane" <jane@x.example>'), 'jane@x.example');
    assert.equal(normalizeEmail('first.last+tag@sub.domain.example'), 'first.last+tag@sub.domain.example');
    assert.equal(normalizeEmail("o'brien@x-y.example"), "o'brien@x-y.example");
  });

  test('normalizeEmail: invalid addresses', () => {
    for (const bad of ['', 'jane', 'jane@', '@x.example', 'jane@x', 'jane@@x.example', 'ja ne@x.example', 'jane@x..example',
      'jane@-x.example', 'jane@x.example.', 'jane@x.c', 'jane@x_y.example', '.jane@x.example', 'jane.@x.example', 'a@b@c.example']) {
      assert.equal(normalizeEmail(bad), undefined, JSON.stringify(bad));
    }
  });

  test('splitEmailCell: several per cell, separated by ; , spaces or " ::: "; display names removed', () => {
    assert.deepEqual(splitEmailCell('a@x.example; b@x.example,c@x.example  d@x.example'), ['a@x.example', 'b@x.example', 'c@x.example', 'd@x.example']);
    assert.deepEqual(splitEmailCell('Jane Doe <jane@x.example>, Bob <bob@y.example>'), ['jane@x.example', 'bob@y.example']);
    assert.deepEqual(splitEmailCell('"Doe, Jane" <jane@x.example>; bob@y.example'), ['jane@x.example', 'bob@y.example']);
    assert.deepEqual(splitEmailCell(' ; ,'), []);
    // Google Contacts: several values of one kind in one cell, separated by " ::: ".
    assert.deepEqual(splitEmailCell('a@x.example ::: b@x.example:::c@x.example'), ['a@x.example', 'b@x.example', 'c@x.example']);
    assert.deepEqual(splitEmailCell('a@x.example\nb@x.example'), ['a@x.example', 'b@x.example']);
  });

  test('an address with a space inside is refused whole, not split into a word and someone else\'s valid address', () => {
    assert.deepEqual(splitEmailCell('olivia chen@blueyonder.example'), ['olivia chen@blueyonder.example']);
    assert.deepEqual(splitEmailCell('olivia chen@blueyonder.example; bob@y.example'), ['olivia chen@blueyonder.example', 'bob@y.example']);
    const r = createNormalizer(mappingOf())(emailsRow('olivia chen@blueyonder.example'));
    assert.deepEqual(r.contact.emails, []);
    assert.equal(r.problems.length, 1);
    assert.match(r.problems[0].message, /got "olivia chen@blueyonder\.example"/);
  });

  test('a cell with several addresses gives several emails, in order, without repeats', () => {
    const n = createNormalizer(mappingOf());
    const r = n(emailsRow('Ada@Example.COM; mailto:ada2@X.example', 'Ada L <ada3@Y.Example>', 'ada@example.com'));
    assert.deepEqual(r.problems, []);
    assert.deepEqual(r.contact.emails, ['Ada@example.com', 'ada2@x.example', 'ada3@y.example']);
  });

  test('"Name <address>" in a cell is one address, not three bad ones', () => {
    const r = createNormalizer(mappingOf())(emailsRow('Jane Q. Public <jane@x.example>'));
    assert.deepEqual(r.problems, []);
    assert.deepEqual(r.contact.emails, ['jane@x.example']);
  });

  test('an invalid address fails the row with EMAIL_INVALID naming the value and its column', () => {
    const r = createNormalizer(mappingOf())(emailsRow('good@x.example; not-an-email'));
    assert.deepEqual(r.contact.emails, ['good@x.example']);
    assert.equal(r.problems.length, 1);
    assert.equal(r.problems[0].code, 'EMAIL_INVALID');
    assert.equal(r.problems[0].column, 'Email');
    assert.match(r.problems[0].message, /"not-an-email"/);
  });

  test('owner: an email, lowercased whole; a bad owner is FIELD_INVALID', () => {
    const n = createNormalizer(mappingOf());
    assert.equal(n(row({ scalars: { owner: ' Sales.Team@OurCo.Example ' } })).contact.owner, 'sales.team@ourco.example');
    assert.equal(n(row({ scalars: { owner: 'Sales <Sales@OurCo.Example>' } })).contact.owner, 'sales@ourco.example');
    const bad = n(row({ scalars: { owner: 'sales team' } }));
    assert.equal(bad.contact.owner, undefined);
    assert.equal(bad.problems[0].code, 'FIELD_INVALID');
    assert.match(bad.problems[0].message, /owner.*"sales team"/);
  });

  test('owner: a cell seen again (each distinct one is checked once) gives the same answer, good or bad', () => {
    const n = createNormalizer(mappingOf());
    for (let i = 0; i < 3; i++) {
      assert.equal(n(row({ scalars: { owner: 'Sales <Sales@OurCo.Example>' } })).contact.owner, 'sales@ourco.example');
      const bad = n(row({ scalars: { owner: 'sales team' } }));
      assert.equal(bad.contact.owner, undefined);
      assert.deepEqual(bad.problems.map((p) => p.code), ['FIELD_INVALID']);
    }
  });
});

describe('names', () => {
  const n = (extra = '') => createNormalizer(mappingOf(extra));

  test('ALL-CAPS names are fixed when fixAllCaps is on; mixed case is left alone', () => {
    const fix = n('names:\n  fixAllCaps: true\n');
    assert.equal(fix(row({ scalars: { name: 'JOHN SMITH' } })).contact.name, 'John Smith');
    assert.equal(fix(row({ scalars: { name: "MARY O'NEILL-JONES" } })).contact.name, "Mary O'Neill-Jones");
    assert.equal(fix(row({ scalars: { name: 'ÉLODIE ÅSTRÖM' } })).contact.name, 'Élodie Åström');
    assert.equal(fix(row({ scalars: { name: 'Ronald McDONALD' } })).contact.name, 'Ronald McDONALD');
    assert.equal(fix(row({ scalars: { name: 'van der BERG' } })).contact.name, 'van der BERG');
    assert.equal(fix(row({ scalars: { name: '山田 太郎' } })).contact.name, '山田 太郎');
    const c = fix(row({ scalars: { firstName: 'JANE', lastName: 'DOE' } })).contact;
    assert.deepEqual([c.name, c.firstName, c.lastName], ['Jane Doe', 'Jane', 'Doe']);
    assert.equal(fix(row({ scalars: { company: 'ACME INC' } })).contact.company, 'ACME INC', 'only names are fixed');
    assert.equal(n()(row({ scalars: { name: 'JOHN SMITH' } })).contact.name, 'JOHN SMITH', 'off by default');
  });

  test('isAllCaps agrees with Unicode (an Lu letter and no Ll letter) next to every BMP character', () => {
    const byUnicode = (s: string) => /\p{Lu}/u.test(s) && !/\p{Ll}/u.test(s);
    let checked = 0;
    for (let c = 0; c < 0x10000; c++) {
      const ch = String.fromCharCode(c);
      for (const s of [ch, `A${ch}`, `${ch}A`, `a${ch}`, `AB${ch}z`, `${ch}É`, `é${ch}`, ` ${ch} `]) {
        if (isAllCaps(s) !== byUnicode(s)) assert.fail(`isAllCaps(${JSON.stringify(s)}) = ${isAllCaps(s)}, Unicode says ${byUnicode(s)}`);
        checked++;
      }
    }
    assert.equal(checked, 8 * 0x10000);
    for (const s of ['', 'JOHN', "O'NEILL-JONES", 'John', 'McDONALD', '123', 'ÅSTRÖM', 'Åström', '𝐀𝐁', 'JOHN 𝐚']) assert.equal(isAllCaps(s), byUnicode(s), s);
  });

  test('first + last are joined into name when name is empty', () => {
    const c = n()(row({ scalars: { firstName: ' Ada ', lastName: 'King  Lovelace' } })).contact;
    assert.deepEqual([c.name, c.firstName, c.lastName], ['Ada King Lovelace', 'Ada', 'King Lovelace']);
    assert.equal(n()(row({ scalars: { lastName: 'Lovelace' } })).contact.name, 'Lovelace');
    assert.equal(n()(row({ scalars: { name: 'Countess', firstName: 'Ada' } })).contact.name, 'Countess', 'a given name wins');
    assert.equal(n('names:\n  joinFirstLast: false\n')(row({ scalars: { firstName: 'Ada', lastName: 'L' } })).contact.name, undefined);
  });

  test('name is split into first / last when those are empty', () => {
    const c = n()(row({ scalars: { name: '  Ada   King Lovelace ' } })).contact;
    assert.deepEqual([c.name, c.firstName, c.lastName], ['Ada King Lovelace', 'Ada', 'King Lovelace']);
    const one = n()(row({ scalars: { name: 'Cher' } })).contact;
    assert.deepEqual([one.firstName, one.lastName], ['Cher', undefined]);
    const kept = n()(row({ scalars: { name: 'Ada Lovelace', lastName: 'Byron' } })).contact;
    assert.deepEqual([kept.firstName, kept.lastName], [undefined, 'Byron'], 'a mapped part is not overwritten');
    const off = n('names:\n  splitName: false\n')(row({ scalars: { name: 'Ada Lovelace' } })).contact;
    assert.deepEqual([off.firstName, off.lastName], [undefined, undefined]);
  });

  test('"Last, First" is split the right way round, and titles in front are not a first name; name stays as written', () => {
    const split = (name: string) => { const c = n()(row({ scalars: { name } })).contact; return [c.name, c.firstName, c.lastName]; };
    assert.deepEqual(split('Müller, Hans'), ['Müller, Hans', 'Hans', 'Müller']);
    assert.deepEqual(split('Lovelace,  Ada King'), ['Lovelace, Ada King', 'Ada King', 'Lovelace']);
    assert.deepEqual(split('van der Berg, Jan'), ['van der Berg, Jan', 'Jan', 'van der Berg']);
    assert.deepEqual(split('Jansen, Ab'), ['Jansen, Ab', 'Ab', 'Jansen'], 'a short given name is not a company form (AB)');
    assert.deepEqual(split('Müller, Dr. Hans'), ['Müller, Dr. Hans', 'Hans', 'Müller']);
    assert.deepEqual(split('Müller, Dr.'), ['Müller, Dr.', undefined, 'Müller']);
    assert.deepEqual(split('Dr. Hans Müller'), ['Dr. Hans Müller', 'Hans', 'Müller']);
    assert.deepEqual(split('Prof. Dr. Eva Maria Schmidt'), ['Prof. Dr. Eva Maria Schmidt', 'Eva', 'Maria Schmidt']);
    assert.deepEqual(split('Mme Durand'), ['Mme Durand', undefined, 'Durand']);
    assert.deepEqual(split('M. Pierre Dupont'), ['M. Pierre Dupont', 'Pierre', 'Dupont']);
    assert.deepEqual(split('Sra. Lucía García'), ['Sra. Lucía García', 'Lucía', 'García']);
    // Not "Last, First": a suffix or a company form after the comma, two commas, or a bare "M" (an initial).
    assert.deepEqual(split('John Smith, Jr.'), ['John Smith, Jr.', 'John', 'Smith, Jr.']);
    assert.deepEqual(split('M Smith'), ['M Smith', 'M', 'Smith']);
    assert.deepEqual(split('Dr.'), ['Dr.', 'Dr.', undefined]);
    assert.notEqual(splitFullName('Acme, Inc.').first, 'Inc.');
    assert.notEqual(splitFullName('Smith, John, Jr.').first, 'John, Jr.');
  });

  test('scalars have their spaces collapsed; twitter loses its @; custom passes through', () => {
    const c = n()(row({ scalars: { company: ' ACME\n Corp ', title: 'CTO', twitter: '@ada' }, custom: { tier: 'gold' } })).contact;
    assert.equal(c.company, 'ACME Corp');
    assert.equal(c.twitter, 'ada');
    assert.deepEqual(c.custom, { tier: 'gold' });
  });

  test('websites: split and without repeats', () => {
    const c = n()(row({ websites: [{ value: 'a.example; b.example' }, { value: 'a.example' }] })).contact;
    assert.deepEqual(c.websites, ['a.example', 'b.example']);
    const g = n()(row({ websites: [{ value: 'https://a.example ::: https://b.example/x:8080' }] })).contact;
    assert.deepEqual(g.websites, ['https://a.example', 'https://b.example/x:8080']);
  });
});

describe('phones in the normalize stage', () => {
  const H = ['Name', 'Mobile', 'Office', 'Email', 'Country'];
  const Y = 'fields:\n  name: Name\n  phones:\n    - { column: Mobile, label: mobile }\n    - { column: Office, label: work }\n  emails: Email\nphone:\n  defaultCountry: US\n';

  test('numbers become E.164 with their label; repeats are dropped', () => {
    const r = through(Y, H, ['Ada', '(415) 555-2671', '+1 415 555 2671', '', '']);
    assert.deepEqual(r.problems, []);
    assert.deepEqual(r.contact.phones, [{ e164: '+14155552671', label: 'mobile' }]);
  });

  test('a bad number fails the row, naming its column', () => {
    const r = through(Y, H, ['Ada', '12', '', '', '']);
    assert.deepEqual(r.problems.map((p) => [p.code, p.column]), [['PHONE_TOO_SHORT', 'Mobile']]);
  });

  test('phone.optional: the bad number becomes a note, the good one loads', () => {
    const r = through(Y + '  optional: true\n', H, ['Ada', '12', '415 555 2672', '', '']);
    assert.deepEqual(r.problems, []);
    assert.deepEqual(r.contact.phones.map((p) => p.e164), ['+14155552672']);
    assert.equal(r.notes.length, 1);
    assert.match(r.notes[0], /phone "12" \(column "Mobile"\) not loaded: PHONE_TOO_SHORT/);
  });

  test('the row country is used, and an unknown one is COUNTRY_UNKNOWN', () => {
    const y = Y + '  countryColumn: Country\n';
    assert.deepEqual(through(y, H, ['A', '020 7946 0958', '', '', 'United Kingdom']).contact.phones.map((p) => p.e164), ['+442079460958']);
    const r = through(y, H, ['A', '020 7946 0958', '', '', 'Atlantis']);
    assert.ok(r.problems.some((p) => p.code === 'COUNTRY_UNKNOWN' && p.column === 'Country'), JSON.stringify(r.problems));
    assert.deepEqual(through(y, H, ['A', '+44 20 7946 0958', '', '', 'Atlantis']).problems, [], 'not needed when every number has +country');
  });
});

describe('required fields (validate)', () => {
  test('REQUIRED_MISSING names the field and the columns it comes from', () => {
    const y = 'fields:\n  firstName: First Name\n  lastName: Last Name\n  company: Company\n  emails: Email\nrequired: [name, company, phoneOrEmail]\n';
    const h = ['First Name', 'Last Name', 'Company', 'Email'];
    const r = through(y, h, ['', '', '', '']);
    assert.deepEqual(r.required.map((p) => p.code), ['REQUIRED_MISSING', 'REQUIRED_MISSING', 'REQUIRED_MISSING']);
    assert.equal(r.required[0].message, '"name" is required by the mapping but empty (from columns "First Name", "Last Name")');
    assert.equal(r.required[0].column, 'First Name');
    assert.equal(r.required[1].message, '"company" is required by the mapping but empty (from column "Company")');
    assert.equal(r.required[1].column, 'Company');
    assert.match(r.required[2].message, /^a phone or an email is required by the mapping but empty \(from column "Email"\)$/);
    assert.equal(r.required[2].column, 'Email');
    assert.deepEqual(through(y, h, ['Ada', '', 'ACME', 'ada@x.example']).required, []);
  });

  test('firstName required is met by splitting name, and named after the Name column when empty', () => {
    const y = 'fields:\n  name: Full Name\nrequired: [firstName]\n';
    assert.deepEqual(through(y, ['Full Name'], ['Ada Lovelace']).required, []);
    const r = through(y, ['Full Name'], ['']);
    assert.equal(r.required.length, 1);
    assert.match(r.required[0].message, /"firstName" is required by the mapping but empty \(from column "Full Name"\)/);
  });

  test('a target\'s own requirements are added once, saying which target', () => {
    const v = createValidator(['name'], { name: 'spoke', fields: ['id', 'name', 'owner'] }, { name: ['Name'] });
    const out = v({ ...emptyContact(), name: 'Ada' });
    assert.deepEqual(out.map((p) => p.message), [
      '"id" is required by target spoke but empty (not mapped)',
      '"owner" is required by target spoke but empty (not mapped)',
    ]);
    assert.deepEqual(v({ ...emptyContact(), name: 'A', id: '1', owner: 'o@x.example' }), []);
  });

  test('list requirements: phones, emails, websites', () => {
    const v = createValidator(['phones', 'emails', 'websites'], undefined, {});
    assert.equal(v(emptyContact()).length, 3);
    assert.deepEqual(v({ ...emptyContact(), phones: [{ e164: '+14155552671' }], emails: ['a@x.example'], websites: ['x.example'] }), []);
  });
});
