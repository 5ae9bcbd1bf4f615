// AI policy through the admin console: the tenant's workspace administrator
// reads the policy in force with the record version behind each rule and the
// month's usage, tries a decision, has a malformed record refused at its
// place, creates a tenant record, publishes it with a reason — the policy in
// force, the budget and the decisions change — and at the end retires it with
// a reason, which brings the platform's decision back. The tenant's auditor and
// the platform's auditor see no control to change a record; the platform's
// administrator can create platform records. Prints what it saw as JSON; a
// screenshot of each step goes to SHOTS_DIR. Exits non-zero, with the reason,
// when a step does not happen.
//
//   node policy.mjs GATEWAY_URL TENANT_ID SHOTS_DIR
//
// Environment: PLINTH_CHROMIUM (the browser; /usr/bin/chromium; session.mjs).
import { mkdir } from 'node:fs/promises';
import { launch, signInAtProvider } from './session.mjs';

const [gateway, tenant, shots] = process.argv.slice(2);
if (!gateway || !tenant || !shots) {
  console.error('usage: node policy.mjs GATEWAY_URL TENANT_ID SHOTS_DIR');
  process.exit(2);
}
await mkdir(shots, { recursive: true });

const RECORD = 'Acme: notifications approved';
const browser = await launch();
const seen = {};
try {
  const failures = [];
  let shot = 0;
  const session = async (user) => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(20_000);
    page.on('pageerror', (e) => failures.push(`${user}: script error: ${e.message}`));
    await page.goto(`${gateway}/auth/login?return_to=/`);
    await signInAtProvider(page, user);
    await page.waitForURL(`${gateway}/`);
    return page;
  };
  const snap = async (page, name) => {
    shot += 1;
    await page.screenshot({ path: `${shots}/${String(shot).padStart(2, '0')}-${name}.png`, fullPage: true });
  };
  // The row of rule `name` in the policy in force, once it shows `expected`
  // (a screen opened again may show what it knew before it has asked again).
  const rule = async (page, name, expected = '') => {
    const row = page
      .getByRole('table', { name: 'Policy in force' })
      .getByRole('row', { name: new RegExp(`^${name}`) })
      .filter({ hasText: expected });
    await row.waitFor();
    return (await row.innerText()).replace(/\s+/g, ' ').trim();
  };
  const policyPage = async (page) => {
    await page.goto(`${gateway}/tenants/${tenant}/policy`);
    await page.getByRole('heading', { name: /^AI policy of/ }).waitFor();
    await page.getByRole('table', { name: 'Policy in force' }).waitFor();
  };
  const usage = async (page, expected = '') => {
    const status = page.getByRole('region', { name: 'Usage and budget' }).getByRole('status').filter({ hasText: expected });
    await status.waitFor();
    return (await status.innerText()).trim();
  };
  // Decides a step with `action` (and the fields given) in the "Try a decision"
  // panel, waiting for the answer `expected` (each answer differs from the one
  // before it on the same page, so a stale answer never passes for it).
  const decide = async (page, action, expected, fields = {}) => {
    const panel = page.getByRole('region', { name: 'Try a decision' });
    await panel.getByLabel('Action class').selectOption(action);
    if (fields.kind) await panel.getByLabel('Provider kind').selectOption(fields.kind);
    if (fields.tokens) await panel.getByLabel('Estimated tokens').fill(fields.tokens);
    await panel.getByRole('button', { name: 'Decide' }).click();
    const status = panel.getByRole('status').filter({ hasText: 'Decision:' });
    await status.filter({ hasText: `Decision: ${expected} ` }).waitFor();
    return {
      decision: (await status.innerText()).trim(),
      reasons: await panel.getByRole('table', { name: 'Reasons' }).locator('tbody tr').allInnerTexts(),
    };
  };
  const confirmWithReason = async (page, button, dialogName, reason) => {
    await page.getByRole('button', { name: button }).click();
    const dialog = page.getByRole('dialog', { name: dialogName });
    await dialog.waitFor();
    await dialog.getByLabel('Reason').fill(reason);
    await dialog.getByRole('button').last().click();
    await dialog.waitFor({ state: 'hidden' });
  };

  // 1. The policy in force and this month's usage, from the platform's baseline.
  const admin = await session('acme-admin');
  await policyPage(admin);
  seen.notify_before = await rule(admin, 'Gate: notify');
  seen.budget_before = await rule(admin, 'Tokens a month');
  seen.usage_before = await usage(admin);
  seen.decision_before = await decide(admin, 'notify', 'allow_and_notify');
  await snap(admin, 'policy-before');

  // 2. A malformed record is refused at its place; then created, as a draft.
  const form = admin.getByRole('region', { name: 'New policy record' });
  await form.getByLabel('Record name').fill(RECORD);
  await form.getByLabel('Provider kinds allowed').fill('open ai');
  await form.getByLabel('Gate: notify').selectOption('L2');
  await form.getByLabel('Monthly token budget').fill('400');
  await form.getByLabel('Over budget').selectOption('deny');
  await form.getByRole('button', { name: 'Create draft' }).click();
  const problems = form.getByRole('table', { name: "The record's problems" });
  await problems.waitFor();
  seen.refused = (await form.getByRole('alert').innerText()).trim();
  seen.problems = await problems.locator('tbody tr').allInnerTexts();
  await snap(admin, 'refused');
  await form.getByLabel('Provider kinds allowed').fill('anthropic, openai');
  await form.getByRole('button', { name: 'Create draft' }).click();
  await admin.getByRole('heading', { name: RECORD }).waitFor();
  seen.drafted = await admin.getByRole('table', { name: 'Versions' }).locator('tbody tr').allInnerTexts();

  // 3. Published with its reason.
  await confirmWithReason(admin, 'Publish version 1', `Publish version 1 of ${RECORD}`, 'Notifications need an approver at Acme');
  await admin.getByRole('status').filter({ hasText: 'Published.' }).waitFor();
  seen.published = await admin.getByRole('table', { name: 'Versions' }).locator('tbody tr').allInnerTexts();
  seen.record_path = new URL(admin.url()).pathname;
  await snap(admin, 'published');

  // 4. In force: the rule, the budget and the decisions follow the record.
  await admin.getByRole('link', { name: 'All policy records' }).click();
  await admin.getByRole('table', { name: 'Policy in force' }).waitFor();
  seen.notify_after = await rule(admin, 'Gate: notify', 'L2');
  seen.budget_after = await rule(admin, 'Tokens a month', '400');
  seen.usage_after = await usage(admin, 'budget 400');
  const tenantRecords = admin.getByRole('table', { name: "The tenant's policy records" }).locator('tbody tr');
  await tenantRecords.filter({ hasText: 'version 1' }).waitFor();
  seen.tenant_records = await tenantRecords.allInnerTexts();
  seen.decision_after = await decide(admin, 'notify', 'require_approval');
  seen.decision_over_budget = await decide(admin, 'read', 'deny', { kind: 'anthropic', tokens: '10' });
  await snap(admin, 'policy-after');

  // 5. Read-only people: no control to change a record.
  const auditor = await session('acme-auditor');
  await policyPage(auditor);
  await auditor.waitForLoadState('networkidle');
  seen.auditor_notify = await rule(auditor, 'Gate: notify', 'L2');
  seen.auditor_can_create = (await auditor.getByRole('region', { name: 'New policy record' }).count()) > 0;
  await auditor.getByRole('link', { name: RECORD }).click();
  await auditor.getByRole('table', { name: 'Versions' }).waitFor();
  await auditor.waitForLoadState('networkidle');
  seen.auditor_record_controls = await auditor
    .getByRole('button', { name: /^(Publish|Retire record|Save draft)/ })
    .count();
  await snap(auditor, 'auditor-record');
  const platformAuditor = await session('msp-auditor');
  await platformAuditor.goto(`${gateway}/policies`);
  await platformAuditor.getByRole('table', { name: 'Platform and module policy records' }).waitFor();
  await platformAuditor.waitForLoadState('networkidle');
  seen.platform_records = await platformAuditor
    .getByRole('table', { name: 'Platform and module policy records' })
    .locator('tbody tr')
    .allInnerTexts();
  seen.platform_auditor_can_create = (await platformAuditor.getByRole('region', { name: 'New policy record' }).count()) > 0;
  const platformAdmin = await session('msp-admin');
  await platformAdmin.goto(`${gateway}/policies`);
  await platformAdmin.getByRole('table', { name: 'Platform and module policy records' }).waitFor();
  await platformAdmin.waitForLoadState('networkidle');
  seen.platform_admin_can_create = (await platformAdmin.getByRole('region', { name: 'New policy record' }).count()) > 0;
  await platformAdmin.getByRole('link', { name: 'Platform baseline' }).click();
  await platformAdmin.getByRole('table', { name: 'Versions' }).waitFor();
  seen.platform_admin_record_controls = await platformAdmin
    .getByRole('button', { name: /^(Publish|Retire record|Save draft)/ })
    .count();

  // 6. Retired with its reason: the platform's decision is back.
  await admin.goto(`${gateway}${seen.record_path}`);
  await admin.getByRole('heading', { name: RECORD }).waitFor();
  await confirmWithReason(admin, 'Retire record', `Retire ${RECORD}`, 'Approvals move to the workflow gates');
  await admin.getByRole('status').filter({ hasText: /^Retired / }).waitFor();
  seen.retired = (await admin.getByRole('status').filter({ hasText: /^Retired / }).innerText()).trim();
  await policyPage(admin);
  seen.notify_retired = await rule(admin, 'Gate: notify', 'L1');
  seen.decision_retired = await decide(admin, 'notify', 'allow_and_notify');
  await snap(admin, 'retired');

  if (failures.length) throw new Error(failures.join('; '));
  console.log(JSON.stringify(seen));
} catch (e) {
  console.error(`${e.message}\nseen so far: ${JSON.stringify(seen)}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
