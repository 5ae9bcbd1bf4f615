// The setup surface: the link's token is in the URL's fragment, which the
// browser never sends anywhere; it is read once, removed from the address
// bar, and sent only in request bodies to this origin.
'use strict';

const token = decodeURIComponent(window.location.hash.slice(1));
history.replaceState(null, '', window.location.pathname);

const el = (id) => document.getElementById(id);
const kinds = { openai: 'OpenAI', azure_openai: 'Azure OpenAI', anthropic: 'Anthropic' };

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
  el('status').textContent = 'Enter the key this link was made for.';
  show('connection', answer.connection_name);
  show('kind', kinds[answer.kind] || answer.kind);
  show('endpoint', answer.base_url);
  show('owner', answer.tenant_id ? `tenant ${answer.tenant_id}` : 'the platform (pooled)');
  show('purpose', answer.purpose === 'rotation' ? 'a new key replacing the current one' : 'the first key');
  show('expires', new Date(answer.expires_at).toLocaleString());
  el('facts').hidden = false;
  if (answer.note) show('note', answer.note);
  el('entry').hidden = false;
}

el('entry').addEventListener('submit', async (event) => {
  event.preventDefault();
  const input = el('key');
  const button = event.target.querySelector('button');
  button.disabled = true;
  result('Checking the key with the provider…', true);
  const { ok, answer } = await post('/setup/api/redeem', { token, key: input.value });
  button.disabled = false;
  if (ok) {
    input.value = '';
    el('entry').hidden = true;
    result(`Stored: ${answer.connection_name} uses key version ${answer.version} (the provider listed ${answer.models} models). You can close this page.`, true);
  } else {
    result(answer.detail || 'The key was not stored.', false);
    if (['link_used', 'link_expired', 'link_revoked'].includes(answer.code)) {
      input.value = '';
      el('entry').hidden = true;
    }
  }
});

describe();
