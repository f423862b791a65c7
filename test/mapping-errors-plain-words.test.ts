/**
 * Mapping mistakes a new user makes, and what they are told: a template brace never
 * closed (which used to load "Ava {Last Name" into every contact), values zod refuses
 * (said in plain words with the value, what is allowed and a guess, never zod's own
 * wording), a country name where an ISO code goes, and a missing column far enough off
 * that a plain edit distance found nothing.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ImportError } from '../pipeline/errors.js';
import { parseMapping, type MappingProblem } from '../pipeline/mapping/load.js';
import { didYouMean } from '../pipeline/mapping/did-you-mean.js';
import { compileMapping } from '../pipeline/transforms/map.js';
import { ROOT } from './helpers/cli.js';

const FILE = 'mappings/crm.yaml';

function problems(text: string): { error: ImportError; list: MappingProblem[] } {
  let err: unknown;
  try { parseMapping(text, FILE); } catch (e) { err = e; }
  assert.ok(err instanceof ImportError, `expected an ImportError, got ${String(err)}`);
  assert.equal(err.code, 'MAPPING_INVALID', err.message);
  return { error: err, list: err.detail as MappingProblem[] };
}
const only = (text: string): MappingProblem => {
  const { list } = problems(text);
  assert.equal(list.length, 1, JSON.stringify(list));
  return list[0];
};

/** zod's own wording, which names neither the value nor the key the user meant. */
const LIBRARY_WORDS = /Invalid input|Invalid option|Invalid string|Too small|Too big|received|Unrecognized key/;

describe('a template whose braces do not pair up is refused, not loaded as text', () => {
  test('a "{" never closed: MAPPING_INVALID naming the file, line and fields.name.template, saying the brace is not closed', () => {
    const { error, list } = problems('description: x\nfields:\n  name: { template: "{First Name} {Last Name" }\n');
    assert.equal(list.length, 1, JSON.stringify(list));
    assert.equal(list[0].path, 'fields.name.template');
    assert.equal(list[0].line, 3);
    assert.match(list[0].message, /the "\{" at character 14 is not closed/);
    assert.ok(error.message.includes(`${FILE}:3 fields.name.template: the "{" at character 14 is not closed in "{First Name} {Last Name": add a "}" after "Last Name"`), error.message);
    assert.equal(error.where.mappingPath, 'fields.name.template');
    assert.equal(error.where.line, 3);
  });

  test('a stray "}", "{{", "{}" and a template naming no column are refused with the position', () => {
    assert.match(only('fields:\n  name: { template: "{First} Last}" }\n').message, /the "\}" at character 13 has no "\{" before it in "\{First\} Last\}"/);
    assert.match(only('fields:\n  name: { template: "{{First}}" }\n').message, /not closed before the next "\{" at character 2.*no escape for a literal brace/);
    assert.match(only('fields:\n  name: { template: "{} {First}" }\n').message, /"\{\}" at character 1 names no column/);
    assert.match(only('fields:\n  name: { template: "First Last" }\n').message, /names no column: write columns as \{Column Name\}, or use `value:`/);
    const p = only('fields:\n  phones:\n    - Mobile\n    - { template: "+1 {Phone" }\n');
    assert.equal(p.path, 'fields.phones[1].template');
    assert.equal(p.line, 4);
  });

  test('the documented templates still load and map', () => {
    const m = parseMapping('fields:\n  name: { template: "{First Name} {Last Name}" }\n  title: { template: "{Role} at {Org} (since {Year})" }\n', FILE);
    const c = compileMapping(m, ['First Name', 'Last Name', 'Role', 'Org', 'Year'], 'in.csv');
    assert.deepEqual(c.map(['Ava', 'Thompson', 'CTO', 'Acme', '2019']).scalars, { name: 'Ava Thompson', title: 'CTO at Acme (since 2019)' });
  });
});

describe('values the schema refuses are said in plain words, with the value, what is allowed and a guess', () => {
  test('fields: Full Name (a column where the section goes): the section and its keys, and the value found', () => {
    const p = only('fields: Full Name\n');
    assert.equal(p.path, 'fields');
    assert.equal(p.line, 1);
    assert.match(p.message, /expected a section of key: value pairs on the indented lines below it \(keys: id, name, .*phones, emails/);
    assert.match(p.message, /got "Full Name"$/);
  });

  test('an unknown transform: its own path and line, the bad value, the transforms and a guess', () => {
    const p = only('fields:\n  name:\n    column: Full Name\n    transform: [trim, titel]\n');
    assert.equal(p.path, 'fields.name.transform[1]');
    assert.equal(p.line, 4);
    assert.equal(p.message, 'expected one of "trim", "collapseSpaces", "lower", "upper", "title", "firstWord", "afterFirstWord", "digits", got "titel"; did you mean "title"?');
  });

  test('an unknown transform inside a list of phones is found at its path too', () => {
    const p = only('fields:\n  phones:\n    - { column: Mobile, transform: [digit] }\n');
    assert.equal(p.path, 'fields.phones[0].transform[0]');
    assert.match(p.message, /got "digit"; did you mean "digits"\?/);
  });

  test('headerRow: 0, a fraction, a number too large, a word where true/false goes, a column where a list goes', () => {
    assert.equal(only('fields:\n  name: A\nsource:\n  headerRow: 0\n').message, 'expected a number >= 1, got 0');
    assert.equal(only('fields:\n  name: A\nsource:\n  headerRow: 1.5\n').message, 'expected a whole number, got 1.5');
    assert.equal(only('fields:\n  name: A\ntargets:\n  spoke: { batchSize: 5000 }\n').message, 'expected a number <= 1000, got 5000');
    assert.equal(only('fields:\n  name: A\nnames:\n  fixAllCaps: yes\n').message, 'expected boolean (true or false), got "yes"');
    assert.equal(only('fields:\n  name: A\ndedupe:\n  keys: phone\n').message, 'expected a list, got "phone"');
    assert.equal(only('fields:\n  name: A\nsource:\n  sheet: true\n').message, 'expected text or a number, got true');
    assert.equal(only('fields:\n  name: A\n  phones: 12\n').message,
      'expected a column name, or an object with one of column, columns, template or value, or a list of those (see mappings/README.md), got 12');
  });

  test('no message of a broken mapping carries zod\'s own wording', () => {
    const broken = [
      'fields: Full Name\n',
      'fields:\n  name: { column: A, transform: [titel] }\n',
      'fields:\n  name: A\nsource:\n  headerRow: 0\n  delimiter: tab\n  sheet: {}\n',
      'fields:\n  name: A\n  phones: []\n  emails: [A, { column: B, label: 3 }]\n',
      'fields:\n  name: ""\n  custom: [a]\n',
      'fields:\n  name: A\nrequired: name\ndedupe:\n  keys: [phones]\n  rules: { company: biggest }\n',
      'fields:\n  name: A\ntargets:\n  samespace: { chunkSize: 0, propertyTypes: { x: text } }\n',
      'fields:\n  name: A\nphone: GB\n',
    ];
    for (const text of broken) {
      const { error, list } = problems(text);
      assert.ok(list.length > 0);
      assert.doesNotMatch(error.message, LIBRARY_WORDS, text);
      for (const p of list) assert.ok(p.line, `${p.path} has a line: ${text}`);
    }
  });
});

describe('defaultCountry: a country name or alpha-3 code gets the ISO code to use', () => {
  test('UK (which a country column accepts) -> did you mean "GB"', () => {
    const p = only('fields:\n  name: A\nphone:\n  defaultCountry: UK\n');
    assert.equal(p.path, 'phone.defaultCountry');
    assert.equal(p.line, 4);
    assert.match(p.message, /^"UK" is not an ISO country code; did you mean "GB"\?/);
  });

  test('USA -> "US", Germany -> "DE"; XX gets no guess; gb is still accepted', () => {
    assert.match(only('fields:\n  name: A\nphone:\n  defaultCountry: USA\n').message, /two-letter ISO country code.*got "USA"; did you mean "US"\?/);
    assert.match(only('fields:\n  name: A\nphone:\n  defaultCountry: Germany\n').message, /did you mean "DE"\?/);
    assert.doesNotMatch(only('fields:\n  name: A\nphone:\n  defaultCountry: XX\n').message, /did you mean/);
    assert.equal(parseMapping('fields:\n  name: A\nphone:\n  defaultCountry: gb\n', FILE).phone.defaultCountry, 'GB');
  });
});

describe('a missing column gets a suggestion when the header differs in case, spacing, a typo or extra words', () => {
  const CLEAN = ['External ID', 'First Name', 'Last Name', 'Company', 'Job Title', 'Mobile', 'Work Phone', 'Email', 'Owner Email', 'Country'];

  test('"EMail Adress" against a file with "Email" -> did you mean "Email"', () => {
    let err: unknown;
    try { compileMapping(parseMapping('fields:\n  name: First Name\n  emails: EMail Adress\n', FILE), CLEAN, 'clean.csv', FILE); } catch (e) { err = e; }
    assert.ok(err instanceof ImportError && err.code === 'MAPPING_COLUMN_MISSING', String(err));
    assert.match(err.message, /fields\.emails: no column "EMail Adress", did you mean "Email"\?/);
  });

  test('case, spaces, punctuation and typos on the letters that remain', () => {
    assert.equal(didYouMean('EMail Adress', ['Email Address', 'Owner Email']), 'Email Address');
    assert.equal(didYouMean('first_name', ['Last Name', 'First Name']), 'First Name');
    assert.equal(didYouMean('E-Mail', ['Phone', 'Email']), 'Email');
    assert.equal(didYouMean('Emial', CLEAN), 'Email');
    assert.equal(didYouMean('Phone', ['Name', 'Phone Number', 'Email']), 'Phone Number');
  });

  test('nothing absurd: far-off names, two equally good candidates, most of a short word replaced', () => {
    assert.equal(didYouMean('Zzyzx Qwerty', CLEAN), undefined);
    assert.equal(didYouMean('Birthday', CLEAN), undefined);
    assert.equal(didYouMean('Phone', ['Phone Number', 'Phone Type']), undefined, 'ambiguous');
    assert.equal(didYouMean('ab', ['id', 'url']), undefined);
    assert.equal(didYouMean('x', ['id']), undefined);
    assert.equal(didYouMean('--', ['id']), undefined);
  });
});

test('the error example in mappings/README.md is what the loader and the CLI print', () => {
  const readme = readFileSync(join(ROOT, 'mappings', 'README.md'), 'utf8');
  const m = /has a typo\non line (\d+):\n\n```yaml\n([\s\S]*?)```\n[\s\S]*?```\n(error: [\s\S]*?)\n```/.exec(readme);
  assert.ok(m, 'the README shows a mapping and the error it gets');
  const [, line, yaml, shown] = m;
  let err: unknown;
  try { parseMapping(yaml, FILE); } catch (e) { err = e; }
  assert.ok(err instanceof ImportError);
  // As pipeline/cli/main.ts prints an ImportError.
  assert.equal(shown, `error: ${err.code}: ${err.message}\nhint: ${err.hint}`);
  assert.equal(String(err.where.line), line);
});
