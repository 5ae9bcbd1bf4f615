// Drives the distribution's Chromium (headless) through the admin console as a
// person would: signed out it offers the sign-in; signed in at the identity
// provider, the overview shows the tenants by status and every service's
// readiness, and the tenants screen lists them; then it registers a tenant
// through the guided flow (a bad slug first), requests its activation through
// the confirm dialog by keyboard, confirms a manual checklist item, and maps a
// group to a role, checks the audit trail, and signs out. Prints what it saw as JSON; exits non-zero, with the reason,
// when a step does not happen. A screenshot of each step goes to SHOTS_DIR.
//
//   node console.mjs GATEWAY_URL USER [SHOTS_DIR]
//
// Environment: PLINTH_CHROMIUM (the browser; /usr/bin/chromium; session.mjs).
import { mkdir, readFile } from 'node:fs/promises';
import { launch, signInAtProvider } from './session.mjs';

const [gateway, user, shots] = process.argv.slice(2);
if (!gateway || !user) {
  console.error('usage: node console.mjs GATEWAY_URL USER');
  process.exit(2);
}
const STEP_MS = 20_000;

const browser = await launch();
const seen = {};
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(STEP_MS);
  const failures = [];
  page.on('pageerror', (e) => failures.push(`script error: ${e.message}`));
  let shot = 0;
  const snap = async (name) => {
    if (!shots) return;
    await mkdir(shots, { recursive: true });
    shot += 1;
    await page.screenshot({ path: `${shots}/${String(shot).padStart(2, '0')}-${name}.png`, fullPage: true });
  };

  // Signed out: the console offers the sign-in, which comes back to it.
  await page.goto(`${gateway}/`);
  await page.getByRole('link', { name: 'Sign in' }).click();
  await signInAtProvider(page, user);
  await page.waitForURL(`${gateway}/`);

  // The overview.
  await page.getByRole('heading', { name: 'Platform overview' }).waitFor();
  seen.who = await page.getByLabel('Signed in as').textContent();
  await page.getByRole('table').waitFor();
  seen.tenant_counts = await page.locator('table tbody tr').evaluateAll((rows) =>
    rows.map((r) => [r.querySelector('th').textContent, Number(r.querySelector('td').textContent)]),
  );
  await page.getByRole('list', { name: 'Readiness' }).waitFor();
  seen.readiness = await page.getByRole('list', { name: 'Readiness' }).locator('li').allTextContents();
  await snap('overview');

  // The tenants, on a screen of their own (the browser's own navigation).
  await page.getByRole('link', { name: 'Tenants' }).click();
  await page.getByRole('heading', { name: 'Configured tenants' }).waitFor();
  await page.locator('table tbody tr').first().waitFor();
  seen.tenants = await page.locator('table tbody tr td:first-child code').allTextContents();
  seen.url = page.url();

  await snap('tenants');

  // A deep link opens the same screen.
  await page.goto(`${gateway}/tenants`);
  await page.getByRole('heading', { name: 'Configured tenants' }).waitFor();

  // Register tenant workspace, step by step; a bad slug is refused inline.
  await page.getByRole('link', { name: 'Register tenant workspace' }).click();
  await page.getByRole('heading', { name: 'Register tenant workspace' }).waitFor();
  await page.getByLabel('Display name').fill('Initech Europe');
  seen.suggested_slug = await page.getByLabel(/^Slug/).inputValue();
  await page.getByLabel(/^Slug/).fill('In');
  await page.getByRole('button', { name: 'Next' }).click();
  seen.slug_problem = await page.getByRole('alert').first().textContent();
  await snap('register-bad-slug');
  await page.getByLabel(/^Slug/).fill('initech');
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByLabel('Deployment model').selectOption('hybrid');
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByLabel('Name').fill('Ivy Initech');
  await page.getByLabel('E-mail').fill('ivy@initech.example');
  await page.getByRole('button', { name: 'Next' }).click();
  seen.review = await page.getByRole('definition').allTextContents();
  await snap('register-review');
  await page.getByRole('button', { name: 'Register tenant' }).click();

  // The new tenant, selected.
  await page.getByRole('heading', { name: 'Initech Europe' }).waitFor();
  seen.selected = await page.getByRole('region', { name: 'Selected tenant' }).locator('span').first().textContent();
  seen.tenant_url = page.url();
  await page.getByText('Activation has not been requested.').waitFor();
  await snap('tenant-registered');

  // Request activation through the confirm dialog, by keyboard: Escape closes
  // it and nothing happens; Tab from Cancel reaches the confirming button.
  const open = page.getByRole('button', { name: 'Request activation' });
  await open.focus();
  await page.keyboard.press('Enter');
  const dialog = page.getByRole('dialog', { name: "Request Initech Europe's activation?" });
  await dialog.waitFor();
  seen.dialog_focus = await page.evaluate(() => document.activeElement?.textContent);
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'hidden' });
  seen.focus_after_escape = await page.evaluate(() => document.activeElement?.textContent);
  await page.keyboard.press('Enter');
  await dialog.waitFor();
  await snap('request-activation-dialog');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Enter');
  const checklist = page.getByRole('table', { name: 'Readiness checklist' });
  await checklist.waitFor();
  const items = async () =>
    checklist.locator('tbody tr').evaluateAll((rows) =>
      rows.map((r) => [
        r.querySelector('td strong').textContent,
        r.querySelectorAll('td')[1].textContent,
        r.querySelector('.badge').textContent,
      ]),
    );
  seen.checklist = await items();
  await snap('onboarding-checklist');

  // An operator confirms a manual item.
  await page.getByRole('button', { name: 'Confirm owner_contact_confirmed' }).click();
  await checklist
    .locator('tr', { hasText: 'owner_contact_confirmed' })
    .locator('.badge', { hasText: 'satisfied' })
    .waitFor();
  seen.confirmed = (await items()).find(([key]) => key === 'owner_contact_confirmed');

  // Access: the identity provider's group mapped to a role.
  await page.getByRole('navigation', { name: 'Tenant' }).getByRole('link', { name: 'Access' }).click();
  await page.getByRole('heading', { name: 'Access to Initech Europe' }).waitFor();
  const mappings = page.getByRole('form', { name: 'Add to group mappings' });
  await mappings.getByLabel('Identity provider group').fill('initech-operators');
  await mappings.getByLabel('Role').selectOption('Operator');
  await mappings.getByRole('button', { name: 'Add' }).click();
  await page.getByRole('cell', { name: 'initech-operators', exact: true }).waitFor();
  seen.mapping = await page.getByRole('cell', { name: 'initech-operators', exact: true }).locator('xpath=..').locator('td').allTextContents();
  await snap('access');

  // A workspace: created, then its approval tier changed; content cannot be
  // chosen in a metadata-only tenant.
  await page.getByRole('navigation', { name: 'Tenant' }).getByRole('link', { name: 'Workspaces' }).click();
  await page.getByText('No workspace yet.').waitFor();
  await page.getByLabel('Name').fill('Service desk');
  seen.content_disabled = await page.getByLabel('Data mode').locator('option[value="content"]').isDisabled();
  await page.getByLabel('Retention (days)').fill('30');
  await page.getByRole('button', { name: 'Create workspace' }).click();
  await page.getByRole('cell', { name: 'Service desk', exact: true }).waitFor();
  await page.getByRole('button', { name: 'Edit Service desk' }).click();
  await page.getByLabel('Approval tier').selectOption('L3');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('cell', { name: 'L3', exact: true }).waitFor();
  seen.workspace = await page
    .getByRole('cell', { name: 'Service desk', exact: true })
    .locator('xpath=..')
    .locator('td')
    .allTextContents();
  await snap('workspaces');

  // The tenant's audit trail: an entry's inclusion proof checked in the
  // browser, the chain verified by the service, both exports downloaded.
  await page.getByRole('navigation', { name: 'Tenant' }).getByRole('link', { name: 'Audit' }).click();
  await page.getByRole('heading', { name: 'Audit trail of Initech Europe' }).waitFor();
  await page.getByRole('button', { name: 'Entry 0', exact: true }).click();
  const proved = page.getByRole('region', { name: 'Entry 0' }).getByRole('status');
  await proved.waitFor();
  seen.entry_check = await proved.textContent();
  seen.entry_leaf = await page.getByLabel('Proof').locator('dd').first().textContent();
  await snap('audit-entry');
  await page.getByRole('button', { name: 'Verify the chain' }).click();
  const verdict = page.getByRole('status').filter({ hasText: 'The chain' });
  await verdict.waitFor();
  seen.verdict = await verdict.textContent();
  const download = async (name) => {
    const [file] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name }).click()]);
    return readFile(await file.path(), 'utf8');
  };
  seen.jsonl_lines = (await download('Export JSON Lines')).trim().split('\n').length;
  seen.oscal_keys = Object.keys(JSON.parse(await download('Export OSCAL')));
  seen.actions = await page
    .getByRole('table', { name: 'Entries' })
    .locator('tbody tr td:nth-child(4)')
    .allTextContents();
  await page.getByLabel('Action').fill('tenant.create');
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.waitForFunction(() => {
    const actions = [...document.querySelectorAll('table[aria-label="Entries"] tbody tr td:nth-child(4)')];
    return actions.length > 0 && actions.every((td) => td.textContent === 'tenant.create');
  });
  seen.filtered = await page
    .getByRole('table', { name: 'Entries' })
    .locator('tbody tr td:nth-child(4)')
    .allTextContents();
  await snap('audit');

  // The tenants, filtered: only the one onboarding.
  await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Tenants' }).click();
  await page.getByLabel('Status').selectOption('ONBOARDING');
  await page.waitForFunction(() => {
    const rows = [...document.querySelectorAll('table tbody tr')];
    return rows.length === 1 && rows[0].textContent.includes('ONBOARDING');
  });
  seen.onboarding_tenants = await page.locator('table tbody tr td:first-child code').allTextContents();
  await page.getByLabel('Deployment model').selectOption('self_hosted_enterprise');
  await page.getByText('No tenant matches.').waitFor();
  await snap('tenants-filtered');

  // A tenant of the other region: its data stays there, and so does its screen.
  await page.goto(`${gateway}/tenants/ten_eu_0123456789abcdef0123456789abcdef`);
  seen.elsewhere = await page.getByRole('heading', { level: 1 }).textContent();
  seen.elsewhere_link = await page.getByRole('link', { name: 'Open it in the EU console' }).getAttribute('href');

  // Signing out ends the session (and, at the identity provider, the login):
  // back at the console, it offers the sign-in again.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL((url) => !url.toString().startsWith(gateway));
  await page.goto(`${gateway}/`);
  await page.getByRole('link', { name: 'Sign in' }).waitFor();
  const after = await page.evaluate(async () => (await fetch('/auth/me')).status);
  seen.signed_out = after === 401;

  if (failures.length) throw new Error(failures.join('; '));
  console.log(JSON.stringify(seen));
} catch (e) {
  console.error(`${e.message}\nseen so far: ${JSON.stringify(seen)}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
