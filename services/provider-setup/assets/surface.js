// The setup surface: the link's token is in the URL's fragment, which the
// browser never sends anywhere; it is read once, removed from the address
// bar, and sent only in request bodies to this origin.
'use strict';

const token = decodeURIComponent(window.location.hash.slice(1));
history.replaceState(null, '', window.location.pathname);

const el = (id) => document.getElementById(id);
const kinds = {
  openai: 'OpenAI',
  azure_openai: 'Azure OpenAI',
  anthropic: 'Anthropic',
  connectwise_manage: 'ConnectWise Manage',
  datto_autotask: 'Datto Autotask',
  halopsa: 'HaloPSA',
  microsoft_graph: 'Microsoft Graph',
};
// The fields the link asks for: a provider's `key`, or a connector's
// credentials (sent together as `credentials`).
let fields = [];
const isKey = () => fields.length === 1 && fields[0].name === 'key';

function addField(field) {
  const id = `field-${field.name}`;
  const label = document.createElement('label');
  label.htmlFor = id;
  label.textContent = field.label;
  const input = document.createElement('input');
  input.id = id;
  input.name = field.name;
  input.type = 'password';
  input.autocomplete = 'off';
  input.spellcheck = false;
  input.required = true;
  el('fields').append(label, input);
}

async function post(path, body) {
  const response = await fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    cache: 'no-store',
    credentials: 'omit',
  });
  const answer = await response.json().catch(() => ({}));
  return { ok: response.ok, answer };
}

function show(id, text) {
  const node = el(id);
  node.textContent = text;
  node.hidden = false;
}

function result(text, ok) {
  const node = el('result');
  node.textContent = text;
  node.className = ok ? 'ok' : 'error';
  node.hidden = false;
}

async function describe() {
  if (!token) {
    el('status').textContent = 'This page opens from a setup link. Ask your administrator for one.';
    return;
  }
  const { ok, answer } = await post('/setup/api/link', { token });
  if (!ok) {
    el('status').textContent = answer.detail || 'This link cannot be used.';
    return;
  }
  fields = answer.fields;
  fields.forEach(addField);
  if (!isKey()) {
    el('title').textContent = 'Enter connector credentials';
    el('kind-term').textContent = 'Connector';
    el('hint').textContent = 'The credentials are checked for their form, then stored encrypted. Nobody can read them back, here or anywhere else.';
    el('submit').textContent = 'Store the credentials';
  }
  el('status').textContent = isKey() ? 'Enter the key this link was made for.' : 'Enter the credentials this link was made for.';
  show('connection', answer.connection_name);
  show('kind', kinds[answer.kind] || answer.kind);
  show('endpoint', answer.base_url);
  const owner = answer.tenant_id ? `tenant ${answer.tenant_id}` : 'the platform (pooled)';
  show('owner', answer.workspace_id ? `${owner}, workspace ${answer.workspace_id}` : owner);
  const what = isKey() ? 'key' : 'credentials';
  show('purpose', answer.purpose === 'rotation' ? `new ${what} replacing the current ones` : `the first ${what}`);
  show('expires', new Date(answer.expires_at).toLocaleString());
  el('facts').hidden = false;
  if (answer.note) show('note', answer.note);
  el('entry').hidden = false;
}

el('entry').addEventListener('submit', async (event) => {
  event.preventDefault();
  const inputs = fields.map((f) => el(`field-${f.name}`));
  const clear = () => inputs.forEach((input) => { input.value = ''; });
  const button = el('submit');
  button.disabled = true;
  result(isKey() ? 'Checking the key with the provider…' : 'Storing the credentials…', true);
  const body = isKey()
    ? { token, key: inputs[0].value }
    : { token, credentials: Object.fromEntries(inputs.map((input) => [input.name, input.value])) };
  const { ok, answer } = await post('/setup/api/redeem', body);
  button.disabled = false;
  if (ok) {
    clear();
    el('entry').hidden = true;
    result(
      isKey()
        ? `Stored: ${answer.connection_name} uses key version ${answer.version} (the provider listed ${answer.models} models). You can close this page.`
        : `Stored: ${answer.connection_name} uses credentials version ${answer.version}. You can close this page.`,
      true,
    );
  } else {
    result(answer.detail || 'Nothing was stored.', false);
    if (['link_used', 'link_expired', 'link_revoked'].includes(answer.code)) {
      clear();
      el('entry').hidden = true;
    }
  }
});

describe();
