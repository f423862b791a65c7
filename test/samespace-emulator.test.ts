/**
 * The Samespace emulator itself, spoken to as the document describes it (raw requests and
 * the document's own payloads), and the client's getContacts / deleteContacts against it.
 * Other tests (chaos, nightly, deletes) rely on these behaviours.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import FormData from 'form-data';
import { HttpClient, type HttpResponse } from '../pipeline/loaders/http.js';
import { SamespaceClient } from '../pipeline/loaders/samespace/client.js';
import { SAMESPACE_NON_VOICE_KEY, SAMESPACE_TEST_API_KEY, startSamespaceEmulator, type SamespaceEmulator } from './emulators/samespace.js';

let emu: SamespaceEmulator;
let http: HttpClient;

before(async () => {
  emu = await startSamespaceEmulator();
  http = new HttpClient({ retry: { attempts: 1 } });
});
after(async () => {
  http.close();
  await emu.close();
});

function gql(query: string, variables: Record<string, unknown>, key = SAMESPACE_TEST_API_KEY): Promise<HttpResponse> {
  return http.request({
    method: 'POST', url: `${emu.url}/crm/api`, headers: { 'x-api-key': key, 'content-type': 'application/json' },
    body: () => JSON.stringify({ query, variables }),
  });
}

/** key '' sends no x-api-key header. */
function upload(form: FormData, key = SAMESPACE_TEST_API_KEY): Promise<HttpResponse> {
  const buf = form.getBuffer();
  return http.request({
    method: 'POST', url: `${emu.url}/manage/api/v3/csv/upload`,
    headers: { ...form.getHeaders(), ...(key ? { 'x-api-key': key } : {}) }, body: () => buf,
  });
}

const csvForm = (field: string, csv: string, filename = 'Samespace - Members.csv') => {
  const f = new FormData();
  f.append(field, Buffer.from(csv), { filename, contentType: 'text/csv' });
  return f;
};

const moduleId = () => emu.state.store.moduleByName('Contacts')!._id;

describe('samespace emulator: upload', () => {
  test('answers {fileUuid, filename, columns, preview} with the columns in lower case, as documented', async () => {
    const res = await upload(csvForm('uploadFile', 'firstName,lastName,email,phoneNumber,cluster\r\nAbhishek,Kambli,ak@example.com,16468107050,Samespace\r\n'));
    assert.equal(res.status, 200);
    const j = res.json as Record<string, unknown>;
    assert.match(j.fileUuid as string, /^[0-9a-f-]{36}$/);
    assert.deepEqual({ ...j, fileUuid: undefined }, {
      fileUuid: undefined,
      filename: 'Samespace - Members.csv',
      columns: ['firstname', 'lastname', 'email', 'phonenumber', 'cluster'],
      preview: { firstname: 'Abhishek', lastname: 'Kambli', email: 'ak@example.com', phonenumber: '16468107050', cluster: 'Samespace' },
    });
  });

  test('refuses another field, a missing file, a non-multipart body and an empty file with 400', async () => {
    const other = await upload(csvForm('file', 'a\r\n1\r\n'));
    assert.equal(other.status, 400);
    assert.match((other.json as { message: string }).message, /Unexpected field "file"/);

    const extra = csvForm('uploadFile', 'a\r\n1\r\n');
    extra.append('note', 'hello');
    assert.equal((await upload(extra)).status, 400);

    const none = new FormData();
    none.append('uploadFile', 'not a file');
    assert.equal((await upload(none)).status, 400);

    const json = await http.request({
      method: 'POST', url: `${emu.url}/manage/api/v3/csv/upload`,
      headers: { 'x-api-key': SAMESPACE_TEST_API_KEY, 'content-type': 'application/json' }, body: () => '{}',
    });
    assert.equal(json.status, 400);
    assert.equal((json.json as { message: string }).message, 'Content-Type must be multipart/form-data');

    assert.equal((await upload(csvForm('uploadFile', ''))).status, 400);
  });

  test('checks x-api-key: missing or wrong 401, a non-Voice key 403', async () => {
    assert.equal((await upload(csvForm('uploadFile', 'a\r\n1\r\n'), '')).status, 401);
    assert.equal((await upload(csvForm('uploadFile', 'a\r\n1\r\n'), 'nope')).status, 401);
    assert.equal((await upload(csvForm('uploadFile', 'a\r\n1\r\n'), SAMESPACE_NON_VOICE_KEY)).status, 403);
    assert.equal((await gql('query { getModules { _id } }', {}, 'nope')).status, 401);
    assert.equal((await gql('query { getModules { _id } }', {}, SAMESPACE_NON_VOICE_KEY)).status, 403);
  });
});

describe('samespace emulator: GraphQL, with the document\'s payloads', () => {
  test('importContacts with mapAttributes; a second call for the same file answers the same and imports nothing', async () => {
    const up = await upload(csvForm('uploadFile', 'First,Last,Mail,Phone\r\nNeha,Chandanshive,neha@example,16468107050\r\nKris,Merrier,kris@example.com,5555555555\r\nKris,M,KRIS@example.com,\r\n'));
    const { fileUuid } = up.json as { fileUuid: string };
    const q = `mutation ImportContacts($fileUuid: String!, $mapAttributes: [KeyValueInput!]!, $module: ID, $moduleName: String) {
importContacts(fileUuid: $fileUuid, mapAttributes: $mapAttributes, module: $module, moduleName: $moduleName)
}`;
    const vars = {
      module: moduleId(), fileUuid,
      mapAttributes: [
        { value: 'firstName', key: 'first' }, { value: 'lastName', key: 'last' }, { value: 'email', key: 'mail' }, { value: 'phoneNumber', key: 'phone' },
      ],
    };
    const first = await gql(q, vars);
    const expected = {
      data: {
        importContacts: {
          success: 1,
          failed: [{ contact: { firstName: 'Neha', lastName: 'Chandanshive', email: 'neha@example', phoneNumber: '16468107050' }, reason: 'Invalid "Email" input', key: 'email' }],
          merged: 1,
        },
      },
    };
    assert.deepEqual(first.json, expected);
    assert.deepEqual(await gql(q, vars).then((r) => r.json), expected);
    assert.equal(emu.state.store.files.get(fileUuid)!.importCalls, 2);

    const again = await upload(csvForm('uploadFile', 'First\r\nAda\r\n'));
    const unknownColumn = await gql(q, { ...vars, fileUuid: (again.json as { fileUuid: string }).fileUuid, mapAttributes: [{ key: 'First', value: 'firstName' }] });
    assert.match((unknownColumn.json as { errors: { message: string }[] }).errors[0].message, /Column "First" is not in the uploaded file/);
    const bad = await gql(q, { ...vars, fileUuid: 'no-such-file' });
    assert.equal(bad.status, 200);
    assert.deepEqual((bad.json as { errors: { message: string }[] }).errors.map((e) => e.message), ['Invalid fileUuid']);
  });

  test('getContacts, createContact, updateContacts (a single id), deleteContacts', async () => {
    const created = await gql(`mutation CreateContact($properties: [KeyValueInput!]!, $module: ID, $moduleName: String) {
createContact(properties: $properties, module: $module, moduleName: $moduleName) { _id } }`, {
      module: moduleId(), properties: [{ key: 'firstName', value: 'Alan' }, { key: 'lastName', value: 'Wilkins' }, { key: 'email', value: 'alan@example.com' }],
    });
    const id = (created.json as { data: { createContact: { _id: string } } }).data.createContact._id;
    assert.match(id, /^[0-9a-f]{24}$/);

    const upd = await gql(`mutation UpdateContacts($properties: [KeyValueInput!]!, $module: ID, $id: [ID!], $filter: JSON, $all: Boolean, $moduleName: String) {
updateContacts(properties: $properties, module: $module, _id: $id, filter: $filter, all: $all, moduleName: $moduleName) }`, {
      module: moduleId(), id, properties: [{ key: 'phoneNumber', value: '919852234732' }],
    });
    assert.deepEqual(upd.json, { data: { updateContacts: { success: true, message: 'Contact updated' } } });

    const got = await gql(`query GetContacts($module: ID, $moduleName: String, $query: QueryInput) {
getContacts(module: $module, moduleName: $moduleName, query: $query) { _id properties module } }`, {
      module: moduleId(), query: { skip: 0, limit: 50, fields: ['firstName', 'lastName', 'phoneNumber', 'company'], filter: { email: 'alan@example.com' } },
    });
    const [c] = (got.json as { data: { getContacts: { _id: string; module: string; properties: Record<string, { value: unknown; type: string }> }[] } }).data.getContacts;
    assert.equal(c._id, id);
    assert.equal(c.module, moduleId());
    assert.deepEqual(c.properties.phoneNumber, { value: '919852234732', type: 'PHONE' });
    assert.deepEqual(c.properties.owner, { value: emu.state.store.users[0]._id, type: 'REFERENCE' });
    assert.equal(c.properties.createdAt.type, 'DATE_TIME');

    const del = await gql(`mutation DeleteContacts($module: ID, $moduleName: String, $id: [ID!], $filter: JSON, $all: Boolean) {
deleteContacts(module: $module, moduleName: $moduleName, _id: $id, filter: $filter, all: $all) }`, { module: moduleId(), id: [id] });
    assert.deepEqual(del.json, { data: { deleteContacts: { success: true, message: 'Contact deleted' } } });
    assert.equal(emu.state.store.moduleByName('Contacts')!.contacts.has(id), false);
  });

  test('createContact without a required property is a GraphQL error; a query outside the schema is 400', async () => {
    const r = await gql('mutation { createContact(moduleName: "Contacts", properties: [{key: "lastName", value: "Solo"}]) { _id } }', {});
    assert.deepEqual((r.json as { errors: { message: string }[] }).errors.map((e) => e.message), ['"First Name" is required']);
    const v = await gql('query { getWidgets { _id } }', {});
    assert.equal(v.status, 400);
    assert.match((v.json as { errors: { message: string }[] }).errors[0].message, /Cannot query field "getWidgets"/);
  });

  test('createProperty derives the key from the label; updateProperty changes it; getProperties pages', async () => {
    const cp = await gql(`mutation CreateProperty($payload: CreatePropertyInput!, $module: ID, $moduleName: String) {
createProperty(payload: $payload, module: $module, moduleName: $moduleName) { _id label key type addToView required valueType default } }`, {
      module: moduleId(),
      payload: {
        label: 'Notes', type: 'TEXT', description: null, options: null, optionsSortBy: null, optionsType: null,
        required: false, addToView: false, valueType: 'STRING', referenceModule: null,
      },
    });
    const prop = (cp.json as { data: { createProperty: Record<string, unknown> } }).data.createProperty;
    assert.deepEqual({ ...prop, _id: undefined }, {
      _id: undefined, label: 'Notes', key: 'notes', type: 'TEXT', addToView: false, required: false, valueType: 'STRING', default: false,
    });
    const up = await gql(`mutation UpdateProperty($id: ID!, $payload: UpdatePropertyInput!, $module: ID, $moduleName: String) {
updateProperty(_id: $id, payload: $payload, module: $module, moduleName: $moduleName) { _id description key label } }`, {
      module: moduleId(), id: prop._id, payload: { description: 'This property is used to take down notes by the agent' },
    });
    assert.deepEqual((up.json as { data: { updateProperty: Record<string, unknown> } }).data.updateProperty, {
      _id: prop._id, description: 'This property is used to take down notes by the agent', key: 'notes', label: 'Notes',
    });
    const page = await gql(`query GetProperties($module: ID, $moduleName: String, $payload: GetPropertiesInput) {
getProperties(module: $module, moduleName: $moduleName, payload: $payload) { key required } }`, { module: moduleId(), payload: { query: { skip: 0, limit: 2 } } });
    assert.deepEqual((page.json as { data: unknown }).data, { getProperties: [{ key: 'firstName', required: true }, { key: 'lastName', required: false }] });
  });
});

describe('samespace client: getContacts and deleteContacts', () => {
  test('reads contacts page by page and deletes them by id', async () => {
    const client = new SamespaceClient(http, { baseUrl: emu.url, apiKey: SAMESPACE_TEST_API_KEY });
    const mod = emu.state.store.moduleByName('Contacts')!;
    const before = mod.contacts.size;
    for (let i = 0; i < 3; i++) {
      emu.state.store.resolvers().createContact({ module: mod._id, properties: [{ key: 'firstName', value: `Del${i}` }] });
    }
    const all = await client.getContacts(mod._id, { skip: 0, limit: 100 });
    assert.equal(all.length, before + 3);
    const page = await client.getContacts(mod._id, { skip: before + 1, limit: 1 });
    assert.deepEqual(page.map((c) => c.properties.firstName?.value), ['Del1']);
    const ids = all.filter((c) => String(c.properties.firstName?.value).startsWith('Del')).map((c) => c._id);
    assert.deepEqual(await client.deleteContacts(mod._id, ids), { success: true, message: 'Contact deleted' });
    assert.equal(mod.contacts.size, before);
    assert.deepEqual(await client.deleteContacts(mod._id, []), { success: true, message: 'nothing to delete' });
  });
});
