// The module catalog through the admin console, as the platform team and a
// tenant's administrator use it: trust the release pipeline's key, import a
// release signed with it (and see the composed manifest checked live), approve
// it through the confirm dialog, see it deployed without drift, then in the
// tenant's context check its readiness, enable it acknowledging what cannot be
// checked yet, disable it and follow its cleanup checklist through. Then each
// read-only person opens the same screens: what write controls they see.
// Prints what it saw as JSON; a screenshot of each step goes to SHOTS_DIR. Exits
// non-zero, with the reason, when a step does not happen.
//
//   node modules.mjs GATEWAY_URL EXAMPLES_DIR TENANT_ID SHOTS_DIR READ_ONLY_USER…
//
// Environment: PLINTH_CHROMIUM (the browser; /usr/bin/chromium; session.mjs).
import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { launch, signInAtProvider } from './session.mjs';

const [gateway, examples, tenant, shots, ...readOnly] = process.argv.slice(2);
if (!gateway || !examples || !tenant || !shots) {
  console.error('usage: node modules.mjs GATEWAY_URL EXAMPLES_DIR TENANT_ID SHOTS_DIR READ_ONLY_USER…');
  process.exit(2);
}
await mkdir(shots, { recursive: true });

const MANIFEST_TYPE = 'application/vnd.plinth.module-manifest+json';

/** `body` in a DSSE envelope signed by `key`: the signature is over the
 * pre-authentication encoding of the payload type and the body. */
function envelope(body, keyId, key) {
  const pae = Buffer.concat([
    Buffer.from(`DSSEv1 ${Buffer.byteLength(MANIFEST_TYPE)} ${MANIFEST_TYPE} ${body.length} `),
    body,
  ]);
  return {
    payloadType: MANIFEST_TYPE,
    payload: body.toString('base64'),
    signatures: [{ keyid: keyId, sig: sign(null, pae, key).toString('base64') }],
  };
}

/** The write controls of the page's main content, outside dialogs. */
const controls = (page) =>
  page
    .locator('main button, main a.button, main input[type="submit"]')
    .evaluateAll((found) =>
      found.filter((c) => !c.closest('dialog')).map((c) => (c.textContent || c.value || '').trim()).sort(),
    );

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
  const page = await session('msp-admin');
  const snap = async (name) => {
    shot += 1;
    await page.screenshot({ path: `${shots}/${String(shot).padStart(2, '0')}-${name}.png`, fullPage: true });
  };
  const confirmIn = async (dialogName, fill) => {
    const dialog = page.getByRole('dialog', { name: dialogName });
    await dialog.waitFor();
    if (fill) await fill(dialog);
    await snap('confirm');
    await dialog.getByRole('button').last().click();
    await dialog.waitFor({ state: 'hidden' });
  };

  // 1. The platform trusts its release pipeline's key.
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Modules' }).click();
  await page.getByRole('navigation', { name: 'Modules' }).getByRole('link', { name: 'Trusted signers' }).click();
  await page.getByLabel('Identity').fill('Module release pipeline');
  await page.getByLabel('Key id').fill('console-release');
  await page.getByLabel('Public key (PEM, or an Ed25519 key in hex)').fill(publicKey.export({ type: 'spki', format: 'pem' }));
  await page.getByLabel(/^Sources it signs for/).fill('github.com/plinth-modules');
  await page.getByLabel('Valid until').fill('2099-01-01');
  await page.getByRole('button', { name: 'Trust signer' }).click();
  await page.getByRole('status').filter({ hasText: 'Trusted: console-release' }).waitFor();
  seen.signers = await page.getByRole('table', { name: 'Signers' }).locator('tbody tr').allInnerTexts();
  await snap('signer-trusted');

  // 2. A composed manifest is checked as it is typed: a bad id shows at /id.
  await page.getByRole('navigation', { name: 'Modules' }).getByRole('link', { name: 'Import' }).click();
  await page.getByLabel('Compose a manifest').check();
  await page.getByLabel('Module id').fill('Not An Id');
  await page.getByRole('table', { name: 'Manifest problems' }).waitFor();
  seen.composed_problems = await page
    .getByRole('table', { name: 'Manifest problems' })
    .locator('tbody tr td:first-child')
    .allInnerTexts();
  await page.getByRole('button', { name: 'Advanced editor' }).click();
  const manifestText = await readFile(path.join(examples, 'itsm-triage-agent-1.0.0.json'), 'utf8');
  await page.getByLabel('Manifest (JSON)').fill(manifestText);
  await page.getByRole('status').filter({ hasText: 'The manifest matches its schema.' }).waitFor();
  await page.getByRole('button', { name: 'Guided fields' }).click();
  seen.guided_id = await page.getByLabel('Module id').inputValue();
  await snap('composed');

  // 3. The signed release is imported; its review shows every check.
  await page.getByLabel('A signed release (DSSE envelope file)').check();
  const signed = envelope(Buffer.from(manifestText), 'console-release', privateKey);
  await page.getByLabel('Signed release (JSON)').setInputFiles({
    name: 'itsm-triage-agent-1.0.0.dsse.json',
    mimeType: 'application/json',
    buffer: Buffer.from(JSON.stringify(signed)),
  });
  await page.getByRole('button', { name: 'Import release' }).click();
  await page.getByRole('status').filter({ hasText: 'Imported: itsm-triage-agent 1.0.0' }).waitFor();
  const review = page.getByRole('table', { name: 'Trust review passed' });
  await review.waitFor();
  seen.review = await review.locator('tbody tr').evaluateAll((rows) =>
    rows.map((r) => [r.cells[0].textContent.trim(), r.cells[1].textContent.trim()]),
  );
  await snap('imported');

  // 4. Approved with a reason, through the confirm dialog.
  await page.getByRole('link', { name: 'Open the release to decide on it' }).click();
  await page.getByRole('heading', { name: 'ITSM triage agent 1.0.0' }).waitFor();
  seen.decisions_before = await controls(page);
  await page.getByRole('button', { name: 'Approve itsm-triage-agent 1.0.0' }).click();
  await confirmIn('Approve ITSM triage agent 1.0.0?', (dialog) =>
    dialog.getByLabel('Reason').fill('Reviewed for the console demo'),
  );
  await page.locator('main .badge', { hasText: 'APPROVED' }).first().waitFor();
  seen.decisions_after = await controls(page);
  await snap('approved');

  // 5. Approved beside deployed: the digest that runs is the approved one.
  await page.getByRole('navigation', { name: 'Modules' }).getByRole('link', { name: 'Deployments' }).click();
  const deployments = page.getByRole('table', { name: 'Approved and deployed' });
  await deployments.waitFor();
  seen.deployments = await deployments.locator('tbody tr').allInnerTexts();
  await snap('deployments');

  // 6. The tenant's side: readiness, then enablement acknowledging the unknowns.
  await page.goto(`${gateway}/tenants/${tenant}/modules`);
  await page.getByRole('heading', { name: /^Modules of/ }).waitFor();
  await page.getByLabel('Approved release').selectOption({ label: 'ITSM triage agent 1.0.0' });
  const checks = page.getByRole('table', { name: 'Readiness checks' });
  await checks.waitFor();
  seen.readiness = await checks.locator('tbody tr').evaluateAll((rows) =>
    rows.map((r) => [r.cells[0].textContent.trim(), r.cells[1].textContent.trim()]),
  );
  await snap('readiness');
  await page.getByRole('button', { name: 'Enable itsm-triage-agent 1.0.0' }).click();
  const review_dialog = page.getByRole('dialog', { name: 'Review enablement of itsm-triage-agent 1.0.0' });
  await review_dialog.waitFor();
  seen.enable_blocked_until_acknowledged = await review_dialog.getByRole('button', { name: 'Enable' }).isDisabled();
  await confirmIn('Review enablement of itsm-triage-agent 1.0.0', async (dialog) => {
    for (const box of await dialog.getByRole('checkbox').all()) await box.check();
  });
  await page.getByRole('status').filter({ hasText: 'Enabled: itsm-triage-agent 1.0.0' }).waitFor();
  const enabled = page.getByRole('table', { name: 'Enabled modules' });
  await enabled.locator('tbody tr', { hasText: 'ENABLED' }).waitFor();
  seen.enabled = await enabled.locator('tbody tr').allInnerTexts();
  await snap('enabled');

  // 7. Disabled: the state is kept, the cleanup guidance becomes a checklist.
  await page.getByRole('button', { name: 'Disable itsm-triage-agent' }).click();
  const offboarding = page.getByRole('dialog', { name: 'Review offboarding of itsm-triage-agent 1.0.0' });
  await offboarding.getByRole('listitem').first().waitFor();
  seen.offboarding_guidance = await offboarding.getByRole('listitem').allInnerTexts();
  await confirmIn('Review offboarding of itsm-triage-agent 1.0.0');
  const cleanup = page.getByRole('table', { name: 'Cleanup of itsm-triage-agent' });
  await cleanup.waitFor();
  await page.getByRole('button', { name: 'Mark purge-triage-history done' }).click();
  await cleanup.locator('tbody tr', { hasText: 'by msp-admin' }).waitFor();
  seen.cleanup = await cleanup.locator('tbody tr').allInnerTexts();
  seen.enabled_after = await enabled.locator('tbody tr').allInnerTexts();
  await snap('disabled');

  // 8. Read-only people: the same screens, and the write controls they see.
  seen.read_only = {};
  for (const user of readOnly) {
    const their = await session(user);
    const screens = {};
    for (const [name, where, loaded] of [
      ['catalog', '/modules', (p) => p.getByRole('table', { name: 'Module itsm-triage-agent' }).waitFor()],
      ['release', '/modules/itsm-triage-agent/1.0.0', (p) => p.getByRole('table', { name: /^Trust review/ }).waitFor()],
      ['deployments', '/modules/deployments', (p) => p.getByRole('table', { name: 'Approved and deployed' }).waitFor()],
      ['tenant', `/tenants/${tenant}/modules`, (p) => p.getByRole('table', { name: 'Enabled modules' }).waitFor()],
    ]) {
      await their.goto(`${gateway}${where}`);
      await loaded(their);
      await their.waitForLoadState('networkidle');
      screens[name] = await controls(their);
      if (name === 'catalog') {
        screens.tabs = await their.getByRole('navigation', { name: 'Modules' }).getByRole('link').allInnerTexts();
      }
    }
    seen.read_only[user] = screens;
    await their.close();
  }
  if (failures.length) throw new Error(failures.join('; '));
  console.log(JSON.stringify(seen));
} catch (e) {
  console.error(`${e.message}\nseen so far: ${JSON.stringify(seen)}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
