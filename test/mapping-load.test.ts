import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';
import { ImportError } from '../pipeline/errors.js';
import { formatPath, loadMapping, parseMapping, type MappingProblem } from '../pipeline/mapping/load.js';
import { didYouMean } from '../pipeline/mapping/did-you-mean.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const FILE = 'mappings/crm.yaml';

/** Parses `text` expecting an ImportError; returns it. */
function fails(text: string, code = 'MAPPING_INVALID'): ImportError {
  let err: unknown;
  try { parseMapping(text, FILE); } catch (e) { err = e; }
  assert.ok(err instanceof ImportError, `expected an ImportError, got ${String(err)}`);
  assert.equal(err.code, code, err.message);
  assert.equal(err.kind, 'usage');
  assert.equal(err.where.file, FILE);
  assert.ok(err.message.includes(FILE), `the message names the mapping file: ${err.message}`);
  return err;
}
const problemsOf = (e: ImportError) => e.detail as MappingProblem[];
const only = (e: ImportError): MappingProblem => {
  const p = problemsOf(e);
  assert.equal(p.length, 1, JSON.stringify(p));
  return p[0];
};

describe('mapping load: YAML syntax', () => {
  test('an unclosed quote is a MAPPING_YAML error with the file and a line number', () => {
    const e = fails('fields:\n  name: "Full Name\n', 'MAPPING_YAML');
    assert.equal(typeof e.where.line, 'number');
    assert.ok(e.where.line! >= 2, `line ${e.where.line}`);
    assert.match(e.message, new RegExp(`^${FILE}:${e.where.line}: YAML syntax error: `));
    assert.doesNotMatch(e.message, /:\s*$/, 'no dangling colon from the pretty error');
    assert.doesNotMatch(e.message, /\n/, 'one line');
  });

  test('a tab used as indentation names its line', () => {
    const e = fails('description: x\nfields:\n\tname: A\n', 'MAPPING_YAML');
    assert.equal(e.where.line, 3);
    assert.match(e.message, /mappings\/crm\.yaml:3: .*[Tt]ab/);
  });

  test('a key given twice is refused at the second one', () => {
    const e = fails('fields:\n  name: A\n  company: C\n  name: B\n', 'MAPPING_YAML');
    assert.equal(e.where.line, 4);
    assert.match(e.message, /unique/i);
  });

  test('bad indentation in a nested map names the line', () => {
    const e = fails('fields:\n  name: A\n   company: B\n', 'MAPPING_YAML');
    assert.equal(e.where.line, 2);
  });

  test('an empty file, a list and a scalar at the top level are refused with what was expected', () => {
    assert.match(fails('').message, /empty.*fields:/);
    assert.match(fails('# only a comment\n').message, /empty/);
    assert.match(fails('- a\n- b\n').message, /got a list/);
    assert.match(fails('hello\n').message, /got the string "hello"/);
  });
});

describe('mapping load: unknown keys and "did you mean"', () => {
  test('fields.phnoes -> did you mean "phones", with the line of the key', () => {
    const e = fails('description: CRM\nfields:\n  name: Full Name\n  phnoes: Phone\n');
    const p = only(e);
    assert.equal(p.path, 'fields.phnoes');
    assert.equal(p.line, 4);
    assert.match(p.message, /unknown key "phnoes", did you mean "phones"\?/);
    assert.match(p.message, /expected one of: .*phones.*emails/);
    assert.equal(e.where.mappingPath, 'fields.phnoes');
    assert.equal(e.where.line, 4);
    assert.ok(e.message.includes(`${FILE}:4 fields.phnoes: unknown key "phnoes", did you mean "phones"?`), e.message);
  });

  test('phone.defualtCountry -> did you mean "defaultCountry"', () => {
    const p = only(fails('fields:\n  name: N\nphone:\n  defualtCountry: US\n'));
    assert.equal(p.path, 'phone.defualtCountry');
    assert.equal(p.line, 4);
    assert.match(p.message, /did you mean "defaultCountry"\?/);
  });

  test('a typo at the top level is named, and the section it replaced is reported missing', () => {
    const e = fails('feilds:\n  name: A\n');
    const ps = problemsOf(e);
    const typo = ps.find((p) => p.path === 'feilds');
    assert.ok(typo, JSON.stringify(ps));
    assert.match(typo.message, /did you mean "fields"\?/);
    assert.equal(typo.line, 1);
    const missing = ps.find((p) => p.path === 'fields');
    assert.ok(missing);
    assert.match(missing.message, /"fields" is missing/);
    assert.doesNotMatch(missing.message, /received undefined/);
  });

  test('unknown keys inside a field object, a list item and a target block', () => {
    let p = only(fails('fields:\n  name: { columns: [A], colum: B }\n'));
    assert.equal(p.path, 'fields.name.colum');
    assert.match(p.message, /did you mean "column"\?/);

    p = only(fails('fields:\n  name: A\n  phones:\n    - { column: M, lable: mobile }\n'));
    assert.equal(p.path, 'fields.phones[0].lable');
    assert.equal(p.line, 4);
    assert.match(p.message, /did you mean "label"\?/);

    p = only(fails('fields:\n  name: A\ntargets:\n  samespace:\n    chunksize: 10\n'));
    assert.equal(p.path, 'targets.samespace.chunksize');
    assert.equal(p.line, 5);
    assert.match(p.message, /did you mean "chunkSize"\?/);

    p = only(fails('fields:\n  name: A\ntargets:\n  spok: {}\n'));
    assert.match(p.message, /did you mean "spoke"\?/);
  });

  test('a word far from every key gets no guess, only the list of keys', () => {
    const p = only(fails('fields:\n  name: A\n  xyzzyplugh: B\n'));
    assert.doesNotMatch(p.message, /did you mean/);
    assert.match(p.message, /expected one of: id, name/);
  });

  test('enum values get a guess too: encoding utf8, dedupe key phones, required nmae', () => {
    let p = only(fails('fields:\n  name: N\nsource:\n  encoding: utf8\n'));
    assert.equal(p.path, 'source.encoding');
    assert.equal(p.line, 4);
    assert.match(p.message, /got "utf8"; did you mean "utf-8"\?/);

    p = only(fails('fields:\n  name: A\ndedupe:\n  keys: [phones]\n'));
    assert.equal(p.path, 'dedupe.keys[0]');
    assert.match(p.message, /did you mean "phone"\?/);

    p = only(fails('fields:\n  name: A\nrequired: [nmae]\n'));
    assert.equal(p.path, 'required[0]');
    assert.match(p.message, /did you mean "name"\?/);
  });

  test('didYouMean and formatPath', () => {
    assert.equal(didYouMean('phnoes', ['phones', 'emails']), 'phones');
    assert.equal(didYouMean('defualtCountry', ['defaultCountry', 'countryColumn', 'optional']), 'defaultCountry');
    assert.equal(didYouMean('zzzzzz', ['phones', 'emails']), undefined);
    assert.equal(didYouMean('x', []), undefined);
    assert.equal(formatPath(['fields', 'phones', 0, 'label']), 'fields.phones[0].label');
    assert.equal(formatPath([]), '(top level)');
  });
});

describe('mapping load: wrong types and values', () => {
  test('every problem is reported at once, each with its path and line', () => {
    const e = fails('fields:\n  name: N\nphone:\n  optional: "yes"\nsource:\n  headerRow: 0\n');
    const ps = problemsOf(e);
    assert.equal(ps.length, 2);
    const opt = ps.find((p) => p.path === 'phone.optional')!;
    assert.equal(opt.line, 4);
    assert.match(opt.message, /expected boolean.*got "yes"/);
    const hr = ps.find((p) => p.path === 'source.headerRow')!;
    assert.equal(hr.line, 6);
    assert.match(hr.message, />=\s*1.*got 0/);
    assert.match(e.message, /2 problems/);
  });

  test('a field that is a number, an empty object, or two sources at once', () => {
    let p = only(fails('fields:\n  name: 123\n'));
    assert.equal(p.path, 'fields.name');
    assert.match(p.message, /expected a column name/);

    p = only(fails('fields:\n  name: {}\n'));
    assert.match(p.message, /expected one of column, columns, template or value/);

    p = only(fails('fields:\n  name: { column: A, value: B }\n'));
    assert.match(p.message, /only one of .* got column and value/);

    p = only(fails('fields:\n  name: { column: A, join: " " }\n'));
    assert.equal(p.path, 'fields.name.join');
    assert.match(p.message, /`join` goes with `columns`/);
  });

  test('a key named "__proto__" (which zod would drop silently) is refused with its path and line, in every map of user-named keys', () => {
    for (const [text, path, line] of [
      ['fields:\n  name: A\n  custom:\n    cf_region: R\n    __proto__: P\n', 'fields.custom.__proto__', 5],
      ['fields:\n  name: A\ndedupe:\n  keys: [phone]\n  rules:\n    __proto__: longest\n', 'dedupe.rules.__proto__', 6],
      ['fields:\n  name: A\ntargets:\n  samespace:\n    properties:\n      __proto__: cf_x\n', 'targets.samespace.properties.__proto__', 6],
      ['fields:\n  name: A\ntargets:\n  samespace:\n    propertyTypes:\n      __proto__: TEXT\n', 'targets.samespace.propertyTypes.__proto__', 6],
    ] as const) {
      const p = only(fails(text));
      assert.equal(p.path, path);
      assert.equal(p.line, line);
      assert.match(p.message, /cannot be "__proto__".*rename it/);
    }
    // Other keys still go through.
    const m = parseMapping('fields:\n  name: A\n  custom:\n    cf_region: R\n    constructor: C\n', FILE);
    assert.deepEqual(m.fields.custom, { cf_region: 'R', constructor: 'C' });
  });

  test('an unknown transform, an empty list, an empty column name', () => {
    let p = only(fails('fields:\n  name: { column: A, transform: [titel] }\n'));
    assert.match(p.path + p.message, /transform/);
    assert.match(p.message, /"title"/);

    p = only(fails('fields:\n  name: A\n  phones: []\n'));
    assert.equal(p.path, 'fields.phones');

    p = only(fails('fields:\n  name: ""\n'));
    assert.equal(p.path, 'fields.name');
  });

  test('defaultCountry: not two letters, or unknown to libphonenumber; lower case is accepted', () => {
    let p = only(fails('fields:\n  name: A\nphone:\n  defaultCountry: USA\n'));
    assert.equal(p.path, 'phone.defaultCountry');
    assert.match(p.message, /two-letter ISO country code/);
    p = only(fails('fields:\n  name: A\nphone:\n  defaultCountry: XX\n'));
    assert.match(p.message, /"XX" is not a country code/);
    assert.equal(p.line, 4);
    assert.equal(parseMapping('fields:\n  name: A\nphone:\n  defaultCountry: gb\n', FILE).phone.defaultCountry, 'GB');
  });

  test('semantic checks: nothing mapped, required but unmapped, dedupe rules', () => {
    assert.match(only(fails('fields: {}\n')).message, /maps nothing/);
    let ps = problemsOf(fails('fields:\n  name: A\nrequired: [phones, company]\n'));
    assert.deepEqual(ps.map((p) => p.message), [
      '"phones" is required but fields.phones is not mapped',
      '"company" is required but fields.company is not mapped',
    ]);
    assert.match(only(fails('fields:\n  name: A\nrequired: [phoneOrEmail]\n')).message, /neither phones nor emails/);
    let p = only(fails('fields:\n  name: A\ndedupe:\n  rules:\n    compnay: longest\n'));
    assert.equal(p.path, 'dedupe.rules.compnay');
    assert.equal(p.line, 5);
    assert.match(p.message, /did you mean "company"\?/);
    p = only(fails('fields:\n  name: A\ndedupe:\n  rules:\n    company: newest\n'));
    assert.equal(p.path, 'dedupe.dateColumn');
    p = only(fails('fields:\n  name: A\ndedupe:\n  scope: owner\n'));
    assert.match(p.message, /needs fields.owner/);
    ps = problemsOf(fails('fields:\n  name: A\ndedupe:\n  rules:\n    phones: longest\n'));
    assert.match(ps[0].message, /phones and emails are always unioned/);
    p = only(fails('fields:\n  name: A\ndedupe:\n  rules:\n    lastName: longest\n'));
    assert.equal(p.path, 'dedupe.rules.lastName');
    assert.equal(p.line, 5);
    assert.match(p.message, /name, firstName and lastName are kept together, from the row that rules\.name picks: set dedupe\.rules\.name instead/);
  });

  test('name required is satisfied by firstName/lastName, and firstName by name', () => {
    assert.deepEqual(parseMapping('fields:\n  firstName: F\nrequired: [name]\n', FILE).required, ['name']);
    assert.deepEqual(parseMapping('fields:\n  name: N\nrequired: [firstName, lastName]\n', FILE).required, ['firstName', 'lastName']);
  });
});

describe('mapping load: field source shapes and defaults', () => {
  test('each documented shape parses to what it says', () => {
    const m = parseMapping(`
fields:
  company: Company                                   # one column
  name: { columns: [Display Name, Full Name] }       # first non-empty
  address: { columns: [Street, City, Zip], join: ", " }
  title: { template: "{Role} at {Company}" }
  owner: { value: sales@ourco.example }
  id: { column: ID, transform: [trim, upper], default: none }
  phones:
    - { column: Mobile, label: mobile }
    - { column: Office, label: work }
  emails: [Email, Email 2]
  websites: Web
  custom:
    industry: Industry
`, FILE);
    assert.equal(m.fields.company, 'Company');
    assert.deepEqual(m.fields.name, { columns: ['Display Name', 'Full Name'] });
    assert.deepEqual(m.fields.address, { columns: ['Street', 'City', 'Zip'], join: ', ' });
    assert.deepEqual(m.fields.title, { template: '{Role} at {Company}' });
    assert.deepEqual(m.fields.owner, { value: 'sales@ourco.example' });
    assert.deepEqual(m.fields.id, { column: 'ID', transform: ['trim', 'upper'], default: 'none' });
    assert.deepEqual(m.fields.phones, [{ column: 'Mobile', label: 'mobile' }, { column: 'Office', label: 'work' }]);
    assert.deepEqual(m.fields.emails, ['Email', 'Email 2']);
    assert.equal(m.fields.websites, 'Web');
    assert.deepEqual(m.fields.custom, { industry: 'Industry' });
  });

  test('defaults of every section', () => {
    const m = parseMapping('fields:\n  name: A\n', FILE);
    assert.deepEqual(m.source, { delimiter: 'auto', encoding: 'auto' });
    assert.deepEqual(m.phone, { optional: false });
    assert.deepEqual(m.names, { fixAllCaps: false, joinFirstLast: true, splitName: true });
    assert.deepEqual(m.required, []);
    assert.deepEqual(m.dedupe, { keys: [], scope: 'global', rules: {}, idFrom: 'first' });
    assert.deepEqual(m.targets, {});
  });

  test('source options: a tab delimiter written as "\\t", a declared encoding', () => {
    const m = parseMapping('source:\n  delimiter: "\\t"\n  encoding: windows-1252\n  headerRow: 3\n  sheet: 2\nfields:\n  name: A\n', FILE);
    assert.deepEqual(m.source, { delimiter: '\t', encoding: 'windows-1252', headerRow: 3, sheet: 2 });
  });
});

describe('mapping load: files', () => {
  test('every mapping in mappings/ parses', async () => {
    const dir = join(ROOT, 'mappings');
    const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
    assert.ok(files.length >= 4, files.join(', '));
    for (const f of files) {
      const loaded = await loadMapping(join(dir, f));
      assert.ok(Object.keys(loaded.mapping.fields).length > 0, f);
      assert.match(loaded.sha256, /^[0-9a-f]{64}$/);
    }
  });

  test('the shipped mappings say what their comments say', async () => {
    const w = (await loadMapping(join(ROOT, 'mappings', 'windows-1252.yaml'))).mapping;
    assert.equal(w.source.encoding, 'windows-1252');
    assert.equal(w.source.delimiter, ';');
    assert.equal(w.phone.defaultCountry, 'FR');
    const messy = (await loadMapping(join(ROOT, 'mappings', 'messy.yaml'))).mapping;
    assert.equal(messy.names.fixAllCaps, true);
    assert.deepEqual(messy.dedupe.keys, ['phone', 'email']);
  });

  test('a missing mapping file is MAPPING_NOT_FOUND naming the path', async () => {
    const path = join(tmpdir(), 'no-such-dir-contact-import', 'm.yaml');
    await assert.rejects(loadMapping(path), (e: unknown) =>
      e instanceof ImportError && e.code === 'MAPPING_NOT_FOUND' && e.message.includes(path) && e.where.file === path);
  });

  test('a file with a BOM loads; errors name the path given; sha256 is of the file text', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mapping-load-'));
    try {
      const good = join(dir, 'good.yaml');
      const text = '\uFEFFfields:\n  name: Full Name\n';
      writeFileSync(good, text);
      const loaded = await loadMapping(good);
      assert.equal(loaded.mapping.fields.name, 'Full Name');
      assert.equal(loaded.path, good);
      assert.equal(loaded.sha256, createHash('sha256').update(text).digest('hex'));

      const bad = join(dir, 'bad.yaml');
      writeFileSync(bad, 'fields:\n  name: Full Name\n  phnoes: Phone\n');
      await assert.rejects(loadMapping(bad), (e: unknown) => {
        assert.ok(e instanceof ImportError);
        assert.equal(e.code, 'MAPPING_INVALID');
        assert.equal(e.where.file, bad);
        assert.ok(e.message.includes(`${bad}:3 fields.phnoes`), e.message);
        return true;
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
