// Accessibility of every screen of the admin console, checked by axe-core
// (WCAG 2.1 A and AA rules) as a platform administrator sees them — with their
// data, and with a confirm dialog open — and every dialog used by keyboard
// alone. Prints {screens: {screen: [violations serious or critical]}, keyboard}
// as JSON; exits non-zero, with the reason, when a screen does not load.
//
// The delegated setup surface (not the console) is checked too, opened from a
// live link.
//
//   node a11y.mjs GATEWAY_URL TENANT_ID CONNECTION_ID CONNECTOR_ID SETUP_LINK
//
// Environment: PLINTH_CHROMIUM (the browser; /usr/bin/chromium; session.mjs).
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { launch, signInAtProvider } from './session.mjs';

const [gateway, tenant, connection, connector, setupLink] = process.argv.slice(2);
if (!gateway || !tenant || !connection || !connector || !setupLink) {
  console.error('usage: node a11y.mjs GATEWAY_URL TENANT_ID CONNECTION_ID CONNECTOR_ID SETUP_LINK');
  process.exit(2);
}
const axeSource = await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

const browser = await launch();
const seen = { screens: {}, keyboard: {} };
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(20_000);
  const failures = [];
  page.on('pageerror', (e) => failures.push(`script error: ${e.message}`));
  await page.goto(`${gateway}/auth/login?return_to=/`);
  await signInAtProvider(page, 'msp-admin');
  await page.waitForURL(`${gateway}/`);

  /** The serious and critical violations on the page as it is now. */
  const check = async (name, on = page) => {
    // Evaluated through the browser's debugging protocol, which the page's
    // content security policy does not apply to.
    await on.evaluate(axeSource);
    const found = await on.evaluate(async () => {
      const result = await window.axe.run(document, {
        runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
      });
      return result.violations
        .filter((v) => v.impact === 'serious' || v.impact === 'critical')
        .map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(' ')) }));
    });
    seen.screens[name] = found;
  };
  const settled = async () => {
    await page.waitForLoadState('networkidle');
    await page.waitForFunction(() => !document.body.textContent.includes('Loading'));
  };

  const screens = [
    ['overview', '/'],
    ['tenants', '/tenants'],
    ['register', '/tenants/new'],
    ['tenant', `/tenants/${tenant}`],
    ['workspaces', `/tenants/${tenant}/workspaces`],
    ['access', `/tenants/${tenant}/access`],
    ['tenant-packs', `/tenants/${tenant}/packs`],
    ['ops', `/tenants/${tenant}/ops`],
    ['tenant-audit', `/tenants/${tenant}/audit`],
    ['domain-packs', '/packs'],
    ['tenant-packs-tab', '/packs/tenant'],
    ['playbooks', '/playbooks'],
    ['platform-audit', '/audit'],
    ['modules', '/modules'],
    ['module-release', '/modules/itsm-triage-agent/1.1.0'],
    ['module-import', '/modules/import'],
    ['module-deployments', '/modules/deployments'],
    ['module-signers', '/modules/signers'],
    ['tenant-modules', `/tenants/${tenant}/modules`],
    ['providers', `/tenants/${tenant}/providers`],
    ['connection', `/tenants/${tenant}/providers/${connection}`],
    ['connectors', `/tenants/${tenant}/connectors`],
    ['connector', `/tenants/${tenant}/connectors/${connector}`],
    ['policies', '/policies'],
    ['tenant-policy', `/tenants/${tenant}/policy`],
    ['workflows', `/tenants/${tenant}/workflows`],
    ['runs', `/tenants/${tenant}/runs`],
    ['approvals', `/tenants/${tenant}/approvals`],
  ];
  for (const [name, path] of screens) {
    await page.goto(`${gateway}${path}`);
    await page.getByRole('heading', { level: 1 }).first().waitFor();
    await settled();
    await check(name);
  }

  // The setup surface, as a link's holder sees it: what the link is for and
  // the key's field.
  const holder = await browser.newPage();
  holder.on('pageerror', (e) => failures.push(`setup surface: script error: ${e.message}`));
  await holder.goto(setupLink);
  await holder.locator('#entry').waitFor();
  await check('setup-surface', holder);
  await holder.close();

  // The register flow's later steps, with a problem shown inline.
  await page.goto(`${gateway}/tenants/new`);
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByRole('alert').first().waitFor();
  await check('register-problems');

  // A manifest composed with the guided fields, its problems shown live; the
  // advanced editor; a tenant's readiness of a release.
  await page.goto(`${gateway}/modules/import`);
  await page.getByLabel('Compose a manifest').check();
  await page.getByLabel('Module id').fill('Not An Id');
  await page.getByRole('table', { name: 'Manifest problems' }).waitFor();
  await check('module-compose');
  await page.getByRole('button', { name: 'Advanced editor' }).click();
  await check('module-advanced-editor');
  await page.goto(`${gateway}/tenants/${tenant}/modules`);
  await settled();
  await page.getByLabel('Approved release').selectOption({ index: 1 });
  await page.getByRole('table', { name: 'Readiness checks' }).waitFor();
  await check('module-readiness');

  // A platform record with its next version's editor; a tenant's draft with
  // its publish dialog open, asking for the reason; a record refused with its
  // problems; a decision tried.
  await page.goto(`${gateway}/policies`);
  await page.getByRole('link', { name: 'Platform baseline' }).click();
  await page.getByRole('table', { name: 'Versions' }).waitFor();
  await settled();
  await check('policy-record');
  await page.goto(`${gateway}/tenants/${tenant}/policy`);
  await settled();
  await page.getByRole('link', { name: 'Acme: tighter budget' }).click();
  await page.getByRole('table', { name: 'Versions' }).waitFor();
  await settled();
  await page.getByRole('button', { name: 'Publish version 1' }).click();
  await page.getByRole('dialog').getByLabel('Reason').waitFor();
  await check('policy-publish-dialog');
  await page.keyboard.press('Escape');
  await page.goto(`${gateway}/tenants/${tenant}/policy`);
  await settled();
  const newRecord = page.getByRole('region', { name: 'New policy record' });
  await newRecord.getByLabel('Record name').fill('Refused');
  await newRecord.getByLabel('Models denied').fill('not a model!');
  await newRecord.getByRole('button', { name: 'Create draft' }).click();
  await newRecord.getByRole('table', { name: "The record's problems" }).waitFor();
  await check('policy-problems');
  await page.getByRole('region', { name: 'Try a decision' }).getByRole('button', { name: 'Decide' }).click();
  await page.getByRole('table', { name: 'Reasons' }).waitFor();
  await check('policy-decision');

  // A confirm dialog, open, and used by keyboard alone: focus moves into it,
  // Tab stays within it, Escape closes it and gives focus back.
  await page.goto(`${gateway}/tenants/${tenant}/access`);
  await settled();
  const opener = page.getByRole('button', { name: /^Remove / }).first();
  await opener.focus();
  await page.keyboard.press('Enter');
  const dialog = page.getByRole('dialog');
  await dialog.waitFor();
  await check('dialog');
  const inDialog = () => page.evaluate(() => document.activeElement?.closest('dialog') !== null);
  seen.keyboard.focus_in_dialog = await inDialog();
  const visited = [];
  for (let i = 0; i < 4; i++) {
    await page.keyboard.press('Tab');
    visited.push(await inDialog());
  }
  seen.keyboard.tab_stays_in_dialog = visited.every(Boolean);
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'hidden' });
  seen.keyboard.focus_back_on_opener = await opener.evaluate((el) => el === document.activeElement);

  if (failures.length) throw new Error(failures.join('; '));
  console.log(JSON.stringify(seen));
} catch (e) {
  console.error(`${e.message}\nseen so far: ${JSON.stringify(seen)}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
