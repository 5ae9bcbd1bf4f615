// From a ticket to a completed run, in the admin console, with the reference
// runtime running beside it: the tenant's operator submits a ticket in Ops;
// the runtime runs the playbook its category links, and the run, in Runs,
// comes to wait at its L2 step — the operator has no control to decide it.
// Another tenant's approver finds nothing of it. The tenant's approver, in a
// session of their own, approves it from the inbox with a reason; the
// operator's page of the run, left open, then shows the run completed.
// Prints what it saw as JSON; a screenshot of each step goes to SHOTS_DIR.
// Exits non-zero, with the reason, when a step does not happen.
//
//   node ops-run.mjs GATEWAY_URL TENANT_ID OTHER_TENANT_ID SHOTS_DIR
//
// Environment: PLINTH_CHROMIUM (the browser; /usr/bin/chromium; session.mjs).
import { mkdir } from 'node:fs/promises';
import { launch, screenshots, signedIn } from './session.mjs';

const [gateway, tenant, other, shots] = process.argv.slice(2);
if (!gateway || !tenant || !other || !shots) {
  console.error('usage: node ops-run.mjs GATEWAY_URL TENANT_ID OTHER_TENANT_ID SHOTS_DIR');
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
  const credit = (page) => page.getByRole('listitem', { name: 'Step 3: credit' });

  // The operator submits the sample ticket (an invoice dispute) in Ops.
  const operator = await session('acme-operator');
  await operator.goto(`${gateway}/tenants/${tenant}/ops`);
  await operator.getByRole('button', { name: 'Classify' }).click();
  const classification = operator.getByLabel('Classification', { exact: true });
  await classification.waitFor();
  seen.classification = await text(classification);
  await snap(operator, 'ops-classified');

  // The runtime takes it: the run shows up in Runs, waiting at its credit.
  await operator.goto(`${gateway}/tenants/${tenant}/runs`);
  const row = operator.getByRole('table', { name: 'Runs' }).getByRole('row').filter({ hasText: 'WAITING_APPROVAL' });
  await row.waitFor({ timeout: 60_000 });
  seen.run_row = await text(row);
  await row.getByRole('link').click();
  await credit(operator).locator('.badge', { hasText: 'WAITING_APPROVAL' }).waitFor();
  seen.steps_waiting = await text(operator.getByRole('list', { name: 'Steps' }));
  seen.operator_decide_buttons = await operator.getByRole('button', { name: /^(Approve|Reject)$/ }).count();
  seen.run_url = operator.url();
  await snap(operator, 'run-waiting');

  // Another tenant's approver: an empty inbox, and not this tenant's run.
  const stranger = await session('globex-approver');
  await stranger.goto(`${gateway}/tenants/${other}/approvals`);
  await stranger.getByText('No request is waiting.').waitFor();
  seen.stranger_inbox = await text(stranger.getByRole('main'));
  await stranger.goto(seen.run_url);
  await stranger.getByRole('alert').first().waitFor();
  seen.stranger_run_steps = await stranger.getByRole('list', { name: 'Steps' }).count();
  await snap(stranger, 'stranger');

  // The approver approves from the inbox, with a reason.
  const approver = await session('acme-approver');
  await approver.goto(`${gateway}/tenants/${tenant}/approvals`);
  const card = approver.getByRole('listitem', { name: 'invoice-dispute-triage: credit' });
  await card.waitFor();
  seen.approver_card = await text(card);
  await card.getByRole('button', { name: 'Approve', exact: true }).click();
  const dialog = approver.getByRole('dialog', { name: 'Approve this step' });
  await dialog.getByLabel('Reason').fill('Billed twice for March: the credit is due');
  await dialog.getByRole('button', { name: 'Approve', exact: true }).click();
  await approver.getByText('No request is waiting.').waitFor();
  await snap(approver, 'approved');

  // The operator's page, left open, follows the run to its end.
  await operator.getByRole('heading', { name: /Run of invoice-dispute-triage/ })
    .locator('.badge', { hasText: 'SUCCEEDED' }).waitFor({ timeout: 60_000 });
  seen.run_heading = await text(operator.getByRole('heading', { name: /Run of/ }));
  seen.credit_done = await text(credit(operator));
  await snap(operator, 'run-succeeded');

  if (failures.length) throw new Error(failures.join('; '));
  console.log(JSON.stringify(seen));
} catch (e) {
  console.error(`${e.message}\nseen so far: ${JSON.stringify(seen)}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
