// The seed's demo, entirely through the admin console, as a platform
// administrator would give it: register a tenant, publish a playbook, import the
// Finance Domain Pack after validating it (and an invalid one, whose problems
// show at their JSON pointers), import the tenant's Tenant Pack, activate
// both through the confirm dialog, link the playbook, classify a ticket in Ops;
// then import and activate the next Finance version and classify the same
// ticket again. Prints what it saw as JSON; a screenshot of each step goes to
// SHOTS_DIR. Exits non-zero, with the reason, when a step does not happen.
//
//   node demo.mjs GATEWAY_URL EXAMPLES_DIR SHOTS_DIR
//
// Environment: PLINTH_CHROMIUM (the browser; /usr/bin/chromium; session.mjs).
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { launch, signInAtProvider } from './session.mjs';

const [gateway, examples, shots] = process.argv.slice(2);
if (!gateway || !examples || !shots) {
  console.error('usage: node demo.mjs GATEWAY_URL EXAMPLES_DIR SHOTS_DIR');
  process.exit(2);
}
await mkdir(shots, { recursive: true });

const browser = await launch();
const seen = {};
const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
try {
  page.setDefaultTimeout(20_000);
  const failures = [];
  page.on('pageerror', (e) => failures.push(`script error: ${e.message}`));
  let shot = 0;
  const snap = async (name) => {
    shot += 1;
    await page.screenshot({ path: `${shots}/${String(shot).padStart(2, '0')}-${name}.png`, fullPage: true });
  };
  const file = async (name) => ({
    name,
    mimeType: 'application/json',
    buffer: await readFile(path.join(examples, name)),
  });
  const confirmIn = async (dialogName) => {
    const dialog = page.getByRole('dialog', { name: dialogName });
    await dialog.waitFor();
    await snap('confirm');
    await dialog.getByRole('button').last().click();
    await dialog.waitFor({ state: 'hidden' });
  };

  await page.goto(`${gateway}/auth/login?return_to=/`);
  await signInAtProvider(page, 'msp-admin');
  await page.waitForURL(`${gateway}/`);

  // 1. Create a new tenant from the UI.
  await page.goto(`${gateway}/tenants/new`);
  await page.getByLabel('Display name').fill('Acme Finance');
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByLabel('Name').fill('Ana Acme');
  await page.getByLabel('E-mail').fill('ana@acme.example');
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByRole('button', { name: 'Register tenant' }).click();
  await page.getByRole('heading', { name: 'Acme Finance' }).waitFor();
  const tenantUrl = page.url();
  seen.tenant_id = tenantUrl.split('/').pop();
  await snap('tenant-created');

  // The playbook the Finance pack names, published by the platform first.
  await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Playbooks' }).click();
  await page.getByLabel('Playbook file (JSON)').setInputFiles(await file('playbook-invoice-dispute-triage-1.0.0.json'));
  await page.getByRole('button', { name: 'Publish' }).click();
  await page.getByRole('status').filter({ hasText: 'Published' }).waitFor();
  await snap('playbook-published');

  // 2–3. Import the Finance Domain Pack, validating it first; an invalid one
  // shows each problem at its pointer.
  await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Packs' }).click();
  await page.getByRole('heading', { name: 'Packs' }).waitFor();
  const broken = JSON.parse(await readFile(path.join(examples, 'invalid/10-unknown-field.json'), 'utf8'));
  await page.getByLabel('Domain Pack file (JSON)').setInputFiles({
    name: 'finance-broken.json',
    mimeType: 'application/json',
    buffer: Buffer.from(JSON.stringify(broken.pack)),
  });
  await page.getByRole('button', { name: 'Validate' }).click();
  const problems = page.getByRole('table', { name: 'Problems of finance-broken.json' });
  await problems.waitFor();
  seen.invalid = await problems.locator('tbody tr').evaluateAll((rows) =>
    rows.map((r) => [...r.querySelectorAll('td')].slice(0, 2).map((td) => td.textContent)),
  );
  await snap('validation-problems');
  await page.getByLabel('Domain Pack file (JSON)').setInputFiles(await file('finance-3.2.0.json'));
  await page.getByRole('button', { name: 'Validate' }).click();
  seen.valid = await page.getByRole('status').textContent();
  await page.getByRole('button', { name: 'Import' }).click();
  await page.getByRole('status').filter({ hasText: 'Imported' }).waitFor();
  seen.imported = await page.getByRole('status').textContent();
  await page.getByRole('table', { name: 'Domain finance' }).waitFor();
  await snap('domain-pack-imported');

  // 4. Import the tenant's Tenant Pack, in the tenant's context.
  await page.goto(`${tenantUrl}/packs`);
  await page.getByRole('heading', { name: 'Packs of Acme Finance' }).waitFor();
  await page.getByLabel('Tenant Pack file (JSON)').setInputFiles(await file('acme-finance-1.4.0.json'));
  await page.getByRole('button', { name: 'Validate' }).click();
  await page.getByRole('status').filter({ hasText: 'valid' }).waitFor();
  await page.getByRole('button', { name: 'Import' }).click();
  await page.getByRole('table', { name: 'Tenant Pack versions' }).getByRole('cell', { name: '1.4.0', exact: true }).waitFor();
  await snap('tenant-pack-imported');

  // 5. Activate both, through the confirm dialog.
  const activate = async (domainVersion) => {
    await page.getByLabel('Domain Pack version', { exact: true }).selectOption(`finance ${domainVersion}`);
    await page.getByLabel('Tenant Pack version', { exact: true }).selectOption('1.4.0');
    await page.getByRole('button', { name: 'Activate', exact: true }).click();
    await confirmIn(`Activate finance ${domainVersion} + 1.4.0 for Acme Finance?`);
    await page.getByRole('status').filter({ hasText: 'Active now' }).waitFor();
  };
  await activate('3.2.0');
  seen.active = await page.getByLabel('What the tenant runs').locator('dd').allTextContents();
  await snap('activated');

  // 6. Link a playbook.
  await page.getByLabel('Playbook version', { exact: true }).selectOption('invoice-dispute-triage 1.0.0');
  await page.getByRole('button', { name: 'Link playbook' }).click();
  await page.getByRole('table', { name: 'Linked playbooks' }).waitFor();
  seen.linked = await page.getByRole('table', { name: 'Linked playbooks' }).locator('tbody td').first().textContent();
  await snap('playbook-linked');

  // 7. Ops: the live behaviour of the active configuration.
  const classify = async () => {
    await page.getByRole('navigation', { name: 'Tenant' }).getByRole('link', { name: 'Ops' }).click();
    await page.getByRole('button', { name: 'Classify' }).click();
    const result = page.getByLabel('Classification', { exact: true });
    await result.waitFor();
    return result.locator('dd').allTextContents();
  };
  seen.before = await classify();
  await snap('ops-before');

  // Then the next Domain Pack version, activated: the same ticket, the new
  // behaviour, and no service restarted.
  await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Packs' }).click();
  await page.getByLabel('Domain Pack file (JSON)').setInputFiles(await file('finance-3.3.0.json'));
  await page.getByRole('button', { name: 'Import' }).click();
  await page.getByRole('status').filter({ hasText: 'Imported' }).waitFor();
  const finance = page.getByRole('table', { name: 'Domain finance' });
  await finance.getByRole('cell', { name: '3.3.0', exact: true }).waitFor();
  await snap('next-version-imported');
  seen.versions = await finance
    .locator('tbody tr')
    .evaluateAll((rows) => rows.map((r) => [r.cells[0].textContent, r.cells[2].textContent]));
  await page.goto(`${tenantUrl}/packs`);
  await activate('3.3.0');
  await snap('next-version-activated');
  seen.after = await classify();
  await snap('ops-after');

  if (failures.length) throw new Error(failures.join('; '));
  console.log(JSON.stringify(seen));
} catch (e) {
  // The page as it was when the step did not happen, beside the others.
  await page.screenshot({ path: `${shots}/failed.png`, fullPage: true }).catch(() => undefined);
  console.error(`${e.message}\nseen so far: ${JSON.stringify(seen)}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
