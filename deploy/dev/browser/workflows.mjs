// Workflows through the admin console: the tenant's workspace administrator
// publishes a workflow version into a workspace from a JSON file (the
// playbooks' format) and sees it listed; the tenant's auditor reads the list
// with no control to publish; another tenant's administrator finds nothing of
// it. Prints what it saw as JSON; a screenshot of each step goes to SHOTS_DIR.
// Exits non-zero, with the reason, when a step does not happen.
//
//   node workflows.mjs GATEWAY_URL TENANT_ID WORKFLOW_FILE SHOTS_DIR
//
// Environment: PLINTH_CHROMIUM (the browser; /usr/bin/chromium; session.mjs).
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { launch, screenshots, signedIn } from './session.mjs';

const [gateway, tenant, workflowFile, shots] = process.argv.slice(2);
if (!gateway || !tenant || !workflowFile || !shots) {
  console.error('usage: node workflows.mjs GATEWAY_URL TENANT_ID WORKFLOW_FILE SHOTS_DIR');
  process.exit(2);
}
await mkdir(shots, { recursive: true });

const browser = await launch();
const seen = {};
try {
  const failures = [];
  const session = (user) => signedIn(browser, gateway, user, failures);
  const snap = screenshots(shots);
  const text = async (locator) => (await locator.innerText()).replace(/\s+/g, ' ').trim();
  const table = (page) => page.getByRole('table', { name: 'Published workflows' });

  const admin = await session('acme-admin');
  await admin.goto(`${gateway}/tenants/${tenant}/workflows`);
  await admin.getByText('No workflow is published in this workspace yet.').waitFor();
  await admin.getByLabel('Workflow file (JSON)').setInputFiles({
    name: path.basename(workflowFile),
    mimeType: 'application/json',
    buffer: await readFile(workflowFile),
  });
  await admin.getByRole('button', { name: 'Publish', exact: true }).click();
  seen.published = await text(admin.getByRole('status').filter({ hasText: 'Published' }));
  await table(admin).getByRole('row').nth(1).waitFor();
  seen.admin_rows = await table(admin).getByRole('row').allInnerTexts();
  await snap(admin, 'published');

  const auditor = await session('acme-auditor');
  await auditor.goto(`${gateway}/tenants/${tenant}/workflows`);
  await table(auditor).getByRole('row').nth(1).waitFor();
  seen.auditor_rows = await table(auditor).getByRole('row').allInnerTexts();
  seen.auditor_publish_buttons = await auditor.getByRole('button', { name: 'Publish' }).count();
  await snap(auditor, 'auditor');

  const stranger = await session('globex-admin');
  await stranger.goto(`${gateway}/tenants/${tenant}/workflows`);
  await stranger.getByRole('alert').first().waitFor();
  seen.stranger_tables = await table(stranger).count();
  await snap(stranger, 'stranger');

  if (failures.length) throw new Error(failures.join('; '));
  console.log(JSON.stringify(seen));
} catch (e) {
  console.error(`${e.message}\nseen so far: ${JSON.stringify(seen)}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
