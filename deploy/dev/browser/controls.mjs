// Signs in to the admin console as USER and lists, screen by screen, every
// control that would change something: the buttons and button-styled links of
// the page's main content (not the console's navigation, the tenant selector or
// signing out), but not those of a form marked `data-asks-only`, which only
// asks a question (trying a policy decision). Prints {screen: [control names]}
// as JSON; exits non-zero, with the reason, when a screen does not load.
//
//   node controls.mjs GATEWAY_URL USER TENANT_ID CONNECTION_ID CONNECTOR_ID
//
// Environment: PLINTH_CHROMIUM (the browser; /usr/bin/chromium; session.mjs).
import { launch, signInAtProvider } from './session.mjs';

const [gateway, user, tenant, connection, connector] = process.argv.slice(2);
if (!gateway || !user || !tenant || !connection || !connector) {
  console.error('usage: node controls.mjs GATEWAY_URL USER TENANT_ID CONNECTION_ID CONNECTOR_ID');
  process.exit(2);
}

const browser = await launch();
const seen = {};
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(20_000);
  const failures = [];
  page.on('pageerror', (e) => failures.push(`script error: ${e.message}`));
  await page.goto(`${gateway}/auth/login?return_to=/`);
  await signInAtProvider(page, user);
  await page.waitForURL(`${gateway}/`);

  // Each screen, with what shows it has loaded (its data, not only its frame).
  const screens = [
    ['tenants', '/tenants', () => page.locator('table tbody tr').first().waitFor()],
    ['tenant', `/tenants/${tenant}`, () => page.getByRole('table', { name: 'Readiness checklist' }).waitFor()],
    ['workspaces', `/tenants/${tenant}/workspaces`, () => page.locator('table tbody tr').first().waitFor()],
    ['access', `/tenants/${tenant}/access`, () => page.locator('table tbody tr').first().waitFor()],
    ['domain-packs', '/packs', () => page.getByRole('table', { name: 'Domain finance' }).waitFor()],
    ['playbooks', '/playbooks', () => page.getByRole('table', { name: 'Published playbooks' }).waitFor()],
    ['tenant-packs', `/tenants/${tenant}/packs`, () => page.getByRole('table', { name: 'Linked playbooks' }).waitFor()],
    ['ops', `/tenants/${tenant}/ops`, () => page.getByRole('heading', { name: 'Recent classifications' }).waitFor()],
    [
      'workflows',
      `/tenants/${tenant}/workflows`,
      () =>
        page
          .getByText('No workflow is published in this workspace yet.')
          .or(page.getByRole('table', { name: 'Published workflows' }))
          .waitFor(),
    ],
    [
      'runs',
      `/tenants/${tenant}/runs`,
      () => page.getByText('No run yet.').or(page.getByRole('table', { name: 'Runs' })).waitFor(),
    ],
    [
      'approvals',
      `/tenants/${tenant}/approvals`,
      () =>
        page
          .getByText('No request is waiting.')
          .or(page.getByRole('list', { name: 'Waiting for a decision' }))
          .waitFor(),
    ],
    ['modules', '/modules', () => page.getByRole('table', { name: 'Module itsm-triage-agent' }).waitFor()],
    [
      'module-release',
      '/modules/itsm-triage-agent/1.1.0',
      () => page.getByRole('table', { name: /^Trust review/ }).waitFor(),
    ],
    [
      'module-deployments',
      '/modules/deployments',
      () => page.getByRole('table', { name: 'Approved and deployed' }).waitFor(),
    ],
    [
      'tenant-modules',
      `/tenants/${tenant}/modules`,
      async () => {
        await page.getByLabel('Approved release').selectOption({ label: 'ITSM triage agent 1.1.0' });
        await page.getByRole('table', { name: 'Readiness checks' }).waitFor();
      },
    ],
    ['providers', `/tenants/${tenant}/providers`, () => page.getByRole('table', { name: 'Provider connections' }).waitFor()],
    [
      'connection',
      `/tenants/${tenant}/providers/${connection}`,
      () => page.getByRole('table', { name: 'Setup requests' }).waitFor(),
    ],
    ['connectors', `/tenants/${tenant}/connectors`, () => page.getByRole('table', { name: 'Installed connectors' }).waitFor()],
    [
      'connector',
      `/tenants/${tenant}/connectors/${connector}`,
      () => page.getByRole('table', { name: 'Setup requests' }).waitFor(),
    ],
    [
      'policies',
      '/policies',
      () => page.getByRole('table', { name: 'Platform and module policy records' }).waitFor(),
    ],
    [
      'policy-record',
      '/policies',
      async () => {
        await page.getByRole('link', { name: 'Platform baseline' }).click();
        await page.getByRole('table', { name: 'Versions' }).waitFor();
      },
    ],
    ['tenant-policy', `/tenants/${tenant}/policy`, () => page.getByRole('table', { name: 'Policy in force' }).waitFor()],
    [
      'tenant-policy-record',
      `/tenants/${tenant}/policy`,
      async () => {
        await page.getByRole('link', { name: 'Acme: tighter budget' }).click();
        await page.getByRole('table', { name: 'Versions' }).waitFor();
      },
    ],
  ];
  for (const [name, path, loaded] of screens) {
    await page.goto(`${gateway}${path}`);
    await loaded();
    // Permissions come with the page's first answers: every query settled, no
    // request in flight.
    await page.waitForLoadState('networkidle');
    await page.waitForFunction(() => !document.body.textContent.includes('Loading'));
    seen[name] = await page
      .locator('main button, main a.button, main input[type="submit"]')
      .evaluateAll((controls) =>
        controls
          .filter((c) => !c.closest('dialog') && !c.closest('[data-asks-only]'))
          .map((c) => (c.textContent || c.value || '').trim())
          .sort(),
      );
  }
  if (failures.length) throw new Error(failures.join('; '));
  console.log(JSON.stringify(seen));
} catch (e) {
  console.error(`${user}: ${e.message}\nseen so far: ${JSON.stringify(seen)}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
