import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ImportError } from '../pipeline/errors.js';
import { parseMapping } from '../pipeline/mapping/load.js';
import fc from 'fast-check';
import { collapseSpaces, compileMapping, titleCase } from '../pipeline/transforms/map.js';

const MAPPING_FILE = 'mappings/test.yaml';
const compile = (yaml: string, headers: string[], mappingFile?: string) =>
  compileMapping(parseMapping(yaml, MAPPING_FILE), headers, 'input.csv', mappingFile);

/** Compiles `yaml` against `headers` and maps one row given as {header: value}. */
function mapRow(yaml: string, headers: string[], row: Record<string, string>) {
  return compile(yaml, headers).map(headers.map((h) => row[h] ?? ''));
}

function missing(yaml: string, headers: string[], mappingFile?: string): ImportError {
  let err: unknown;
  try { compile(yaml, headers, mappingFile); } catch (e) { err = e; }
  assert.ok(err instanceof ImportError, `expected an ImportError, got ${String(err)}`);
  assert.equal(err.code, 'MAPPING_COLUMN_MISSING');
  assert.equal(err.kind, 'usage');
  assert.equal(err.where.file, 'input.csv');
  return err;
}

describe('map: field sources', () => {
  test('one column, trimmed; an empty cell leaves the field out', () => {
    const h = ['Company', 'Name'];
    assert.deepEqual(mapRow('fields:\n  company: Company\n', h, { Company: '  ACME Corp  ' }).scalars, { company: 'ACME Corp' });
    assert.deepEqual(mapRow('fields:\n  company: Company\n', h, { Company: '   ' }).scalars, {});
    assert.deepEqual(mapRow('fields:\n  company: { column: Company }\n', h, { Company: 'X' }).scalars, { company: 'X' });
  });

  test('columns: the first non-empty, in order of preference', () => {
    const y = 'fields:\n  name: { columns: [Display Name, Full Name, Nick] }\n';
    const h = ['Full Name', 'Nick', 'Display Name'];
    assert.equal(mapRow(y, h, { 'Display Name': 'Dee', 'Full Name': 'Dana Scully' }).scalars.name, 'Dee');
    assert.equal(mapRow(y, h, { 'Display Name': ' ', 'Full Name': 'Dana Scully', Nick: 'D' }).scalars.name, 'Dana Scully');
    assert.equal(mapRow(y, h, { Nick: 'D' }).scalars.name, 'D');
    assert.equal(mapRow(y, h, {}).scalars.name, undefined);
  });

  test('columns + join: several joined, empty ones skipped', () => {
    const y = 'fields:\n  address: { columns: [Street, City, Zip], join: ", " }\n';
    const h = ['Street', 'City', 'Zip'];
    assert.equal(mapRow(y, h, { Street: '1 Main St', City: 'Springfield', Zip: '12345' }).scalars.address, '1 Main St, Springfield, 12345');
    assert.equal(mapRow(y, h, { Street: '1 Main St', City: '', Zip: '12345' }).scalars.address, '1 Main St, 12345');
    assert.equal(mapRow(y, h, {}).scalars.address, undefined);
    assert.equal(mapRow('fields:\n  address: { columns: [Street, City], join: "" }\n', h, { Street: 'a', City: 'b' }).scalars.address, 'ab');
  });

  test('template over column names; spaces from empty parts collapse', () => {
    const y = 'fields:\n  name: { template: "{First Name} {Last Name}" }\n';
    const h = ['First Name', 'Last Name'];
    assert.equal(mapRow(y, h, { 'First Name': 'Ada', 'Last Name': 'Lovelace' }).scalars.name, 'Ada Lovelace');
    assert.equal(mapRow(y, h, { 'First Name': '', 'Last Name': 'Lovelace' }).scalars.name, 'Lovelace');
    assert.equal(mapRow(y, h, {}).scalars.name, undefined);
    const y2 = 'fields:\n  title: { template: "{Role} at {Org} (since {Year})" }\n';
    assert.equal(mapRow(y2, ['Role', 'Org', 'Year'], { Role: 'CTO', Org: 'ACME', Year: '2020' }).scalars.title, 'CTO at ACME (since 2020)');
  });

  test('value: a constant for every row', () => {
    const m = compile('fields:\n  name: N\n  owner: { value: sales@ourco.example }\n', ['N']);
    assert.equal(m.map(['a']).scalars.owner, 'sales@ourco.example');
    assert.equal(m.map(['']).scalars.owner, 'sales@ourco.example');
  });

  test('transforms apply in order', () => {
    const h = ['X'];
    const t = (list: string, v: string) => mapRow(`fields:\n  title: { column: X, transform: [${list}] }\n`, h, { X: v }).scalars.title;
    assert.equal(t('collapseSpaces', 'a   b \t c'), 'a b c');
    assert.equal(t('lower', 'MiXeD'), 'mixed');
    assert.equal(t('upper', 'MiXeD'), 'MIXED');
    assert.equal(t('title', "o'brien-smith jean-luc"), "O'Brien-Smith Jean-Luc");
    assert.equal(t('firstWord', 'Ada  King Lovelace'), 'Ada');
    assert.equal(t('afterFirstWord', 'Ada  King Lovelace'), 'King Lovelace');
    assert.equal(t('digits', '+1 (415) 555-2671'), '14155552671');
    assert.equal(t('digits, lower', 'ab'), undefined, 'a transform can empty a value');
    assert.equal(t('lower, title', 'JOHN SMITH'), 'John Smith');
    assert.equal(t('title, upper', 'john'), 'JOHN');
  });

  test('default: used when the result is empty, after transforms', () => {
    const y = 'fields:\n  company: { column: C, transform: [digits], default: Unknown }\n';
    assert.equal(mapRow(y, ['C'], { C: '' }).scalars.company, 'Unknown');
    assert.equal(mapRow(y, ['C'], { C: 'abc' }).scalars.company, 'Unknown');
    assert.equal(mapRow(y, ['C'], { C: 'a1' }).scalars.company, '1');
    assert.equal(mapRow('fields:\n  company: { columns: [A, B], default: none }\n', ['A', 'B'], {}).scalars.company, 'none');
  });

  test('lists: every non-empty source adds an item, in order, with label and column', () => {
    const y = `fields:
  name: N
  phones:
    - { column: Mobile, label: mobile }
    - { column: Office, label: work }
    - Home
  emails: [Email, Email 2]
  websites: Web
`;
    const h = ['N', 'Mobile', 'Office', 'Home', 'Email', 'Email 2', 'Web'];
    const r = mapRow(y, h, { Mobile: '415 555 2671', Office: '', Home: '415 555 2672', Email: 'a@x.example', 'Email 2': 'b@x.example', Web: 'x.example' });
    assert.deepEqual(r.phones, [
      { value: '415 555 2671', label: 'mobile', column: 'Mobile' },
      { value: '415 555 2672', label: undefined, column: 'Home' },
    ]);
    assert.deepEqual(r.emails.map((e) => e.value), ['a@x.example', 'b@x.example']);
    assert.deepEqual(r.websites, [{ value: 'x.example', label: undefined, column: 'Web' }]);
    const single = mapRow('fields:\n  phones: { column: M, label: mobile }\n', ['M'], { M: '1' });
    assert.deepEqual(single.phones, [{ value: '1', label: 'mobile', column: 'M' }]);
  });

  test('custom properties, the country column and the date column', () => {
    const y = `fields:
  name: N
  custom:
    industry: Industry
    tier: { value: gold }
    empty: Notes
phone:
  countryColumn: Country
dedupe:
  keys: [phone]
  rules: { company: newest }
  dateColumn: Created
`;
    const h = ['N', 'Industry', 'Notes', 'Country', 'Created'];
    const r = mapRow(y, h, { N: 'x', Industry: 'Retail', Country: ' gb ', Created: '2024-01-02' });
    assert.deepEqual(r.custom, { industry: 'Retail', tier: 'gold' });
    assert.equal(r.country, 'gb');
    assert.equal(r.date, '2024-01-02');
    const r2 = mapRow(y, h, { N: 'x' });
    assert.equal(r2.country, undefined);
    assert.equal(r2.date, undefined);
  });

  test('a short (ragged) row reads missing cells as empty', () => {
    const m = compile('fields:\n  name: A\n  company: C\n', ['A', 'B', 'C']);
    assert.deepEqual(m.map(['Ada']).scalars, { name: 'Ada' });
    assert.deepEqual(m.map([]).scalars, {});
  });

  test('columnsOf names the columns feeding each field (as the file spells them)', () => {
    const m = compile(`fields:
  name: { template: "{first name} {Last Name}" }
  company: { columns: [Company, Employer] }
  phones: [Mobile, Office]
  emails: EMAIL
  owner: { value: x@y.example }
`, ['First Name', 'Last Name', 'Company', 'Employer', 'Mobile', 'Office', 'Email']);
    assert.deepEqual(m.columnsOf.name, ['First Name', 'Last Name']);
    assert.deepEqual(m.columnsOf.company, ['Company', 'Employer']);
    assert.deepEqual(m.columnsOf.phones, ['Mobile', 'Office']);
    assert.deepEqual(m.columnsOf.emails, ['Email']);
    assert.equal(m.columnsOf.owner, undefined);
  });
});

describe('map: finding columns', () => {
  test('exact name first, then ignoring case and spaces', () => {
    const h = ['email', 'Email', 'Full Name', 'PHONE'];
    const m = compile('fields:\n  emails: Email\n  name: full name\n  phones: Phone\n', h);
    const r = m.map(['lower', 'Exact', 'Ada', '1']);
    assert.equal(r.emails[0].value, 'Exact', 'the exact match wins over a case-insensitive one');
    assert.equal(r.scalars.name, 'Ada');
    assert.equal(r.phones[0].value, '1');
    assert.equal(mapRow('fields:\n  name: "  FULLNAME "\n', ['Full  Name'], { 'Full  Name': 'Ada' }).scalars.name, 'Ada');
    assert.equal(mapRow('fields:\n  name: { template: "{first name}" }\n', ['First Name'], { 'First Name': 'Ada' }).scalars.name, 'Ada');
  });

  test('duplicate headers are told apart by their " (2)" suffix', () => {
    const m = compile('fields:\n  phones: [Phone, Phone (2)]\n', ['Phone', 'Phone (2)']);
    assert.deepEqual(m.map(['1', '2']).phones.map((p) => [p.value, p.column]), [['1', 'Phone'], ['2', 'Phone (2)']]);
  });

  test('a missing column: MAPPING_COLUMN_MISSING with the mapping path, the file\'s headers and a guess', () => {
    const e = missing('fields:\n  name: Full Nmae\n  company: Company\n', ['Full Name', 'Company', 'E-mail']);
    assert.equal(e.where.mappingPath, 'fields.name');
    assert.equal(e.where.column, 'Full Nmae');
    assert.match(e.message, /^input\.csv: /);
    assert.match(e.message, /fields\.name: no column "Full Nmae", did you mean "Full Name"\?/);
    assert.match(e.message, /the file's columns are: "Full Name", "Company", "E-mail"/);
  });

  test('every missing column is listed at once, with its path in the mapping', () => {
    const e = missing(`fields:
  name: { template: "{First} {Surname}" }
  emails: [Email, Mail]
  address: { columns: [Street, Town], join: ", " }
  custom:
    industry: Sector
phone:
  countryColumn: Land
`, ['First', 'Last', 'Email', 'Street', 'City', 'Country']);
    const lines = e.message.split('\n');
    assert.ok(lines.some((l) => l.includes('fields.name.template {Surname}: no column "Surname"')), e.message);
    assert.ok(lines.some((l) => l.includes('fields.emails[1]: no column "Mail"') && l.includes('did you mean "Email"?')), e.message);
    assert.ok(lines.some((l) => l.includes('fields.address.columns[1]: no column "Town"')), e.message);
    assert.ok(lines.some((l) => l.includes('fields.custom.industry: no column "Sector"')), e.message);
    assert.ok(lines.some((l) => l.includes('phone.countryColumn: no column "Land"')), e.message);
    assert.match(e.message, /names columns the file does not have/);
    assert.equal(e.where.mappingPath, 'fields.name.template {Surname}');
  });

  test('no guess when nothing is close', () => {
    const e = missing('fields:\n  name: Zzyzx Qwerty\n', ['Email', 'Phone']);
    assert.doesNotMatch(e.message, /did you mean/);
    assert.match(e.message, /"Email", "Phone"/);
  });

  test('the mapping file is named when the caller passes it', () => {
    const e = missing('fields:\n  name: Nope\n', ['Name 1'], 'mappings/crm.yaml');
    assert.match(e.message, /^input\.csv: the mapping mappings\/crm\.yaml names a column/);
  });

  test('a dedupe date column that is missing is refused too', () => {
    const e = missing('fields:\n  name: N\ndedupe:\n  rules: { company: newest }\n  dateColumn: Updated\n', ['N', 'Created']);
    assert.equal(e.where.mappingPath, 'dedupe.dateColumn');
  });
});

test('titleCase', () => {
  assert.equal(titleCase('JOHN SMITH'), 'John Smith');
  assert.equal(titleCase("MARY O'NEILL-JONES"), "Mary O'Neill-Jones");
  assert.equal(titleCase('ÉLODIE DURAND'), 'Élodie Durand');
  assert.equal(titleCase('dr. j.r.r. tolkien'), 'Dr. J.R.R. Tolkien');
  assert.equal(titleCase(''), '');
});

test('collapseSpaces returns exactly what replacing whitespace runs and trimming returns (tidy text without a copy)', () => {
  const plain = (s: string) => s.replace(/\s+/g, ' ').trim();
  // Every character JavaScript counts as whitespace, a few that it does not, and letters.
  const unit = fc.constantFrom(' ', '  ', '\t', '\n', '\r', '\v', '\f', '\u00a0', '\u1680', '\u2003', '\u2028', '\u2029', '\u202f', '\u205f', '\u3000', '\ufeff',
    '\u200b', '\u180e', 'a', 'B', 'é', '-', '0');
  fc.assert(fc.property(fc.string({ unit, maxLength: 12 }), (s) => collapseSpaces(s) === plain(s)), { numRuns: 3000 });
  for (const s of ['', ' ', 'Ada', 'Ada King', ' Ada', 'Ada ', 'Ada  King', 'Ada\tKing', 'Ada\u00a0King', '575 Rue de Rivoli, New Delhi 110001']) {
    assert.equal(collapseSpaces(s), plain(s), JSON.stringify(s));
  }
});
