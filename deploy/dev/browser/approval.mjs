// A change request decided in the admin console by two people in two browser
// sessions: the tenant's administrator (who is also one of its approvers)
// requires approval of activations and asks to activate a pair — the console
// offers them no decision on their own request — and another approver, in
// their own session, approves it; the requester's screen then shows the pair
// active. Prints what each saw as JSON; exits non-zero, with the reason, when a
// step does not happen. A screenshot of each step goes to SHOTS_DIR.
//
//   node approval.mjs GATEWAY_URL TENANT_ID REQUESTER APPROVER SHOTS_DIR
//
// Environment: PLINTH_CHROMIUM (the browser; /usr/bin/chromium; session.mjs).
import { mkdir } from 'node:fs/promises';
import { launch, signInAtProvider } from './session.mjs';

const [gateway, tenant, requester, approver, shots] = process.argv.slice(2);
if (!gateway || !tenant || !requester || !approver || !shots) {
  console.error('usage: node approval.mjs GATEWAY_URL TENANT_ID REQUESTER APPROVER SHOTS_DIR');
  process.exit(2);
}
await mkdir(shots, { recursive: true });

const browser = await launch();
const seen = {};
const failures = [];
let shot = 0;
/** A person's own browser session, signed in, on the tenant's packs. */
async function session(user) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  page.on('pageerror', (e) => failures.push(`${user}: script error: ${e.message}`));
  await page.goto(`${gateway}/auth/login?return_to=/tenants/${tenant}/packs`);
  await signInAtProvider(page, user);
  await page.waitForURL(`${gateway}/tenants/${tenant}/packs`);
  await page.getByRole('heading', { name: /^Packs of / }).waitFor();
  return page;
}
const snap = async (page, name) => {
  shot += 1;
  await page.screenshot({ path: `${shots}/${String(shot).padStart(2, '0')}-${name}.png`, fullPage: true });
};
const decision = (page) =>
  page
    .getByRole('table', { name: 'Change requests' })
    .locator('tbody tr')
    .first()
    .evaluate((row) => ({
      status: row.querySelector('.badge').textContent,
      controls: [...row.querySelectorAll('button')].filter((b) => !b.closest('dialog')).map((b) => b.textContent),
      text: [...row.cells].map((c) => (c.querySelector('dialog') ? '' : c.textContent)).join(' '),
    }));

try {
  const asking = await session(requester);
  // Approval of activations turned on, through its confirm dialog.
  await asking.getByRole('button', { name: 'Require approval of activations' }).click();
  const turnOn = asking.getByRole('dialog', { name: 'Require approval of activations?' });
  await turnOn.getByRole('button', { name: 'Require approval of activations' }).click();
  await asking.getByText('Activations wait for an approver of the tenant').waitFor();
  // The request.
  await asking.getByLabel('Domain Pack version', { exact: true }).selectOption('finance 3.2.0');
  await asking.getByRole('button', { name: 'Activate', exact: true }).click();
  const confirm = asking.getByRole('dialog', { name: /^Activate finance 3.2.0 for / });
  await confirm.getByRole('button', { name: 'Activate' }).click();
  await asking.getByRole('status').filter({ hasText: 'waits for an approver' }).waitFor();
  await asking.getByRole('table', { name: 'Change requests' }).waitFor();
  seen.requester_sees = await decision(asking);
  seen.requester_active_before = await asking.getByText('Nothing is active yet').count();
  await snap(asking, 'requested');

  // The other approver, in a session of their own.
  const deciding = await session(approver);
  await deciding.getByRole('table', { name: 'Change requests' }).waitFor();
  seen.approver_sees = await decision(deciding);
  await snap(deciding, 'approver-sees-request');
  await deciding.getByRole('button', { name: 'Approve finance 3.2.0' }).click();
  const approve = deciding.getByRole('dialog', { name: 'Approve finance 3.2.0?' });
  await approve.getByLabel('Note').fill('Finance 3.2.0 reviewed with the AP team');
  await snap(deciding, 'approve-dialog');
  await approve.getByRole('button', { name: 'Approve', exact: true }).click();
  await deciding
    .getByRole('table', { name: 'Change requests' })
    .locator('.badge', { hasText: 'APPROVED' })
    .waitFor();
  seen.approver_after = await decision(deciding);
  await snap(deciding, 'approved');

  // The requester's screen, asked again, shows the pair running.
  await asking.reload();
  await asking.getByLabel('What the tenant runs').waitFor();
  seen.requester_active_after = await asking
    .getByLabel('What the tenant runs')
    .locator('dd')
    .allTextContents();
  await snap(asking, 'requester-sees-active');

  if (failures.length) throw new Error(failures.join('; '));
  console.log(JSON.stringify(seen));
} catch (e) {
  console.error(`${e.message}\nseen so far: ${JSON.stringify(seen)}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
