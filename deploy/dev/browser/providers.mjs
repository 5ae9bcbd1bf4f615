// Provider setup through the admin console and the delegated setup surface, in
// two browser contexts: the tenant's integration administrator creates a setup
// request, mints its link, revokes it and mints another; whoever holds the link
// opens it in a browser of their own (no session, no cookie), sees what it is
// for, has a wrong key refused by the provider and a good one stored. Back in
// the console the connection is active, checked now, a health result is
// submitted through the platform's gate, and the runtime's selection names it.
// Then a connector is installed in a workspace and its credentials entered the
// same way; a workspace administrator sees no install control, and the gate
// refuses the health result they submit. Prints what it saw as JSON; a
// screenshot of each step goes to SHOTS_DIR. Exits non-zero, with the reason,
// when a step does not happen.
//
//   node providers.mjs GATEWAY_URL TENANT_ID OPENAI_URL WORKSPACE_NAME SHOTS_DIR
//
// Environment: PLINTH_CHROMIUM (the browser; /usr/bin/chromium; session.mjs).
import { mkdir } from 'node:fs/promises';
import { launch, signInAtProvider } from './session.mjs';

const [gateway, tenant, openai, workspaceName, shots] = process.argv.slice(2);
if (!gateway || !tenant || !openai || !workspaceName || !shots) {
  console.error('usage: node providers.mjs GATEWAY_URL TENANT_ID OPENAI_URL WORKSPACE_NAME SHOTS_DIR');
  process.exit(2);
}
await mkdir(shots, { recursive: true });

const browser = await launch();
const seen = {};
try {
  const failures = [];
  let shot = 0;
  const watch = (page, who) => page.on('pageerror', (e) => failures.push(`${who}: script error: ${e.message}`));
  const session = async (user) => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(20_000);
    watch(page, user);
    await page.goto(`${gateway}/auth/login?return_to=/`);
    await signInAtProvider(page, user);
    await page.waitForURL(`${gateway}/`);
    return page;
  };
  const snap = async (page, name) => {
    shot += 1;
    await page.screenshot({ path: `${shots}/${String(shot).padStart(2, '0')}-${name}.png`, fullPage: true });
  };
  const confirmIn = async (page, dialogName) => {
    const dialog = page.getByRole('dialog', { name: dialogName });
    await dialog.waitFor();
    await dialog.getByRole('button').last().click();
    await dialog.waitFor({ state: 'hidden' });
  };
  const mint = async (page) => {
    await page.getByRole('button', { name: /^Mint (a new )?setup link$/ }).click();
    const minted = page.getByRole('region', { name: 'New setup link' });
    await minted.waitFor();
    return minted.getByLabel('Setup link').inputValue();
  };
  // The holder: a browser context of their own, never signed in, opening
  // each link in a new tab.
  const holderContext = await browser.newContext();
  let holder;
  const open = async (url) => {
    holder = await holderContext.newPage();
    holder.setDefaultTimeout(20_000);
    watch(holder, 'holder');
    await holder.goto(url);
    await holder.locator('#status').filter({ hasNotText: 'Reading the link' }).waitFor();
    return (await holder.locator('#status').innerText()).trim();
  };

  // 1. The integration administrator creates the setup request: no key here.
  const page = await session('acme-integrations');
  await page.goto(`${gateway}/tenants/${tenant}/providers`);
  await page.getByRole('heading', { name: /^AI providers of/ }).waitFor();
  await page.getByRole('status').filter({ hasText: 'No connection is ready for the runtime' }).waitFor();
  seen.selection_before = (await page.getByRole('region', { name: 'Runtime selection' }).innerText()).trim();
  await page.getByLabel('Connection name').fill('acme-openai');
  await page.getByLabel('Provider', { exact: true }).selectOption({ label: 'OpenAI' });
  await page.getByLabel(/^API base URL/).fill(openai);
  await page.getByLabel('Default model').fill('gpt-4o-mini');
  await page.getByLabel('Note for whoever enters the key').fill('The service desk key');
  seen.key_inputs_in_console = await page.locator('input[type="password"]').count();
  await page.getByRole('button', { name: 'Create setup request' }).click();
  await page.getByRole('status').filter({ hasText: 'Setup request created for acme-openai' }).waitFor();
  await page.getByRole('link', { name: 'Open it to mint its setup link' }).click();
  await page.getByRole('heading', { name: /^acme-openai/ }).waitFor();
  seen.pending = await page.getByRole('heading', { name: /^acme-openai/ }).innerText();
  await snap(page, 'request');

  // 2. A link minted and revoked; another minted, shown once.
  const revokedUrl = await mint(page);
  await page.getByRole('button', { name: 'Revoke link' }).click();
  await confirmIn(page, 'Revoke the setup link?');
  await page.getByRole('table', { name: 'Setup requests' }).locator('.badge', { hasText: 'revoked' }).waitFor();
  const url = await mint(page);
  seen.links_differ = url !== revokedUrl;
  seen.link_shape = url.replace(/#pst_[A-Za-z0-9_-]{43}$/, '#pst_…');
  await snap(page, 'minted');

  // 3. The holder opens the revoked link, then the live one.
  seen.revoked_link = await open(revokedUrl);
  seen.holder_status = await open(url);
  seen.fragment_kept_in_address_bar = holder.url().includes('#');
  seen.facts = (await holder.locator('#facts').innerText()).trim();
  await holder.getByLabel('API key').fill('sk-wrong-console-key');
  await holder.getByRole('button', { name: 'Check and store the key' }).click();
  await holder.locator('#result.error').waitFor();
  seen.refused = (await holder.locator('#result').innerText()).trim();
  await holder.getByLabel('API key').fill('sk-test-good-console-key');
  await holder.getByRole('button', { name: 'Check and store the key' }).click();
  await holder.locator('#result.ok', { hasText: 'Stored:' }).waitFor();
  seen.stored = (await holder.locator('#result').innerText()).trim();
  await snap(holder, 'key-stored');

  // 4. Active, and checked now.
  await page.reload();
  await page.getByRole('heading', { name: /^acme-openai/ }).locator('.badge', { hasText: 'ACTIVE' }).waitFor();
  seen.key_versions = await page.getByRole('table', { name: 'Key versions' }).locator('tbody tr').allInnerTexts();
  seen.validations = await page.getByRole('table', { name: 'Validations' }).locator('tbody tr').allInnerTexts();
  await page.getByRole('button', { name: 'Check now' }).click();
  seen.checked = (await page.getByRole('status').filter({ hasText: 'Checked:' }).innerText()).trim();
  const selection = async (expected) => {
    await page.getByRole('link', { name: 'All provider connections' }).click();
    const panel = page.getByRole('region', { name: 'Runtime selection' });
    await panel.getByRole('status').filter({ hasText: expected }).waitFor();
    return (await panel.innerText()).trim();
  };
  // 5. The runtime's selection names it; a rate-limited result submitted
  // through the gate takes it out of selection.
  seen.selection = await selection('The runtime uses');
  // The list is a query of its own: read it once it shows the health checked.
  const connections = page.getByRole('table', { name: 'Provider connections' }).locator('tbody tr');
  await connections.filter({ hasText: 'ready' }).waitFor();
  seen.connections = await connections.allInnerTexts();
  await snap(page, 'selection');
  await page.getByRole('link', { name: 'acme-openai' }).click();
  await page.getByLabel('Observed status').selectOption('rate_limited');
  await page.getByLabel('Latency (ms)').fill('180');
  await page.getByLabel('Error class (optional)').fill('quota_exceeded');
  await page.getByRole('button', { name: 'Submit health result' }).click();
  seen.submitted = (await page.getByRole('status').filter({ hasText: 'Recorded:' }).innerText()).trim();
  const health = page.getByRole('table', { name: 'Health results' });
  await health.locator('tbody tr', { hasText: 'quota_exceeded' }).waitFor();
  seen.health = await health.locator('tbody tr').allInnerTexts();
  await snap(page, 'health');
  seen.selection_rate_limited = await selection('No connection is ready');

  // 6. A connector in a workspace, its credentials through a link too.
  await page.getByRole('navigation', { name: 'Tenant' }).getByRole('link', { name: 'Connectors' }).click();
  await page.getByRole('heading', { name: /^Connectors of/ }).waitFor();
  await page.getByLabel('In workspace').selectOption({ label: workspaceName });
  await page.getByLabel('Connector', { exact: true }).selectOption({ label: 'HaloPSA' });
  await page.getByLabel('Name', { exact: true }).fill('acme-halo');
  await page.getByLabel(/^API base URL/).fill('https://acme.halopsa.com/api');
  await page.getByLabel('Client id').fill('service-desk');
  seen.connector_asks = (await page.getByText('Its setup link will ask for').innerText()).trim();
  await page.getByRole('button', { name: 'Install connector' }).click();
  await page.getByRole('status').filter({ hasText: 'Installed acme-halo' }).waitFor();
  await page.getByRole('link', { name: 'Open it to mint its setup link' }).click();
  await page.getByRole('heading', { name: /^acme-halo/ }).waitFor();
  const connectorUrl = await mint(page);
  seen.connector_holder_status = await open(connectorUrl);
  seen.connector_title = (await holder.getByRole('heading', { level: 1 }).innerText()).trim();
  await holder.getByLabel('Client secret').fill('halo-console-secret-7f3a');
  await holder.getByRole('button', { name: 'Store the credentials' }).click();
  await holder.locator('#result.ok', { hasText: 'Stored:' }).waitFor();
  seen.connector_stored = (await holder.locator('#result').innerText()).trim();
  await page.reload();
  await page.getByRole('heading', { name: /^acme-halo/ }).locator('.badge', { hasText: 'ACTIVE' }).waitFor();
  seen.connector_versions = await page
    .getByRole('table', { name: 'Credential versions' })
    .locator('tbody tr')
    .allInnerTexts();
  await page.getByRole('link', { name: 'All connectors' }).click();
  await page.getByRole('table', { name: 'Installed connectors' }).locator('tbody tr', { hasText: 'ACTIVE' }).waitFor();
  seen.connectors = await page.getByRole('table', { name: 'Installed connectors' }).locator('tbody tr').allInnerTexts();
  await snap(page, 'connector');

  // 7. A workspace administrator: no install control; the gate refuses the
  // health result they submit.
  const admin = await session('acme-admin');
  await admin.goto(`${gateway}/tenants/${tenant}/connectors`);
  await admin.getByRole('table', { name: 'Installed connectors' }).waitFor();
  await admin.waitForLoadState('networkidle');
  seen.workspace_admin_can_install = (await admin.getByRole('button', { name: 'Install connector' }).count()) > 0;
  await admin.goto(`${gateway}/tenants/${tenant}/providers`);
  await admin.getByRole('link', { name: 'acme-openai' }).click();
  await admin.getByLabel('Latency (ms)').fill('90');
  await admin.getByRole('button', { name: 'Submit health result' }).click();
  await admin.getByRole('alert').waitFor();
  seen.gate_refusal = (await admin.getByRole('alert').innerText()).trim();
  await snap(admin, 'gate-refusal');

  if (failures.length) throw new Error(failures.join('; '));
  console.log(JSON.stringify(seen));
} catch (e) {
  console.error(`${e.message}\nseen so far: ${JSON.stringify(seen)}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
