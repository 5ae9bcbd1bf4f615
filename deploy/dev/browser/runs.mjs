// Runs and approvals through the admin console: a run the runtime reported
// waits at an L2 step. The tenant's operator sees it — in the runs list, on
// the run's timeline and in the approvals inbox — with no control to decide
// it. The tenant's approver, in a session of their own, approves it from the
// inbox with a reason in a confirming dialog; the run's timeline then shows
// who approved, when and why. Another tenant's approver finds nothing of it.
// Prints what it saw as JSON; a screenshot of each step goes to SHOTS_DIR.
// Exits non-zero, with the reason, when a step does not happen.
//
//   node runs.mjs GATEWAY_URL TENANT_ID RUN_ID OTHER_TENANT_ID SHOTS_DIR
//
// Environment: PLINTH_CHROMIUM (the browser; /usr/bin/chromium; session.mjs).
import { mkdir } from 'node:fs/promises';
import { launch, screenshots, signedIn } from './session.mjs';

const [gateway, tenant, run, other, shots] = process.argv.slice(2);
if (!gateway || !tenant || !run || !other || !shots) {
  console.error('usage: node runs.mjs GATEWAY_URL TENANT_ID RUN_ID OTHER_TENANT_ID SHOTS_DIR');
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
  const step = (page) => page.getByRole('listitem', { name: 'Step 1: issue_credit' });

  // The operator: the run waits, and nothing here decides it.
  const operator = await session('acme-operator');
  await operator.goto(`${gateway}/tenants/${tenant}/runs`);
  const row = operator.getByRole('table', { name: 'Runs' }).getByRole('row').filter({ hasText: 'WAITING_APPROVAL' });
  await row.waitFor();
  seen.operator_run_row = await text(row);
  await row.getByRole('link').click();
  await step(operator).locator('.badge', { hasText: 'WAITING_APPROVAL' }).waitFor();
  seen.operator_step = await text(step(operator));
  seen.operator_decide_buttons = await operator.getByRole('button', { name: /^(Approve|Reject)$/ }).count();
  await snap(operator, 'operator-run');
  await operator.goto(`${gateway}/tenants/${tenant}/approvals`);
  const card = (page) => page.getByRole('listitem', { name: 'invoice-dispute-triage: issue_credit' });
  await card(operator).waitFor();
  seen.operator_inbox_buttons = await operator.getByRole('button', { name: /^(Approve|Reject)$/ }).count();
  await snap(operator, 'operator-inbox');

  // Another tenant's approver: their inbox is empty, and this tenant is not theirs.
  const stranger = await session('globex-approver');
  await stranger.goto(`${gateway}/tenants/${other}/approvals`);
  await stranger.getByText('No request is waiting.').waitFor();
  seen.stranger_inbox = await text(stranger.getByRole('main'));
  await stranger.goto(`${gateway}/tenants/${tenant}/runs/${run}`);
  await stranger.getByRole('alert').first().waitFor();
  seen.stranger_run_steps = await stranger.getByRole('list', { name: 'Steps' }).count();
  await snap(stranger, 'stranger');

  // The approver approves from the inbox, with a reason.
  const approver = await session('acme-approver');
  await approver.goto(`${gateway}/tenants/${tenant}/approvals`);
  await card(approver).waitFor();
  seen.approver_card = await text(card(approver));
  await card(approver).getByRole('button', { name: 'Approve', exact: true }).click();
  const dialog = approver.getByRole('dialog', { name: 'Approve this step' });
  await dialog.getByLabel('Reason').fill('Billed twice: the credit is due');
  await snap(approver, 'approve-dialog');
  await dialog.getByRole('button', { name: 'Approve', exact: true }).click();
  await approver.getByText('No request is waiting.').waitFor();
  await snap(approver, 'inbox-empty');
  await approver.goto(`${gateway}/tenants/${tenant}/runs/${run}`);
  await step(approver).getByLabel('Approval request').locator('.badge', { hasText: 'APPROVED' }).waitFor();
  seen.approved = await text(step(approver).getByLabel('Approval request'));
  await snap(approver, 'approved');

  if (failures.length) throw new Error(failures.join('; '));
  console.log(JSON.stringify(seen));
} catch (e) {
  console.error(`${e.message}\nseen so far: ${JSON.stringify(seen)}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
