// Drives the distribution's Chromium (headless) through the gateway's home page as
// a person would: log in at the identity provider, see the tenants, register one,
// open its audit trail, log out. Prints what it saw as JSON; exits non-zero, with
// the reason, when a step does not happen.
//
//   node home.mjs GATEWAY_URL USER SLUG
//
// Environment: PLINTH_CHROMIUM (the browser; /usr/bin/chromium; session.mjs).
import { launch, signInAtProvider } from './session.mjs';

const [gateway, user, slug] = process.argv.slice(2);
if (!gateway || !user || !slug) {
  console.error('usage: node home.mjs GATEWAY_URL USER SLUG');
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

  // Not logged in: the page offers the login, which goes to the identity provider.
  await page.goto(`${gateway}/`);
  await page.locator('#login').click();
  await signInAtProvider(page, user);
  await page.waitForURL(`${gateway}/`);
  seen.who = await page.locator('#who').textContent();

  // The tenants this person sees.
  await page.locator('#tenants tbody tr').first().waitFor().catch(() => {});
  seen.tenants_before = await page.locator('#tenants tbody tr td:first-child').allTextContents();

  // Register a tenant with the form.
  await page.locator('input[name="slug"]').fill(slug);
  await page.locator('input[name="display_name"]').fill(`${slug} (from a browser)`);
  await page.locator('input[name="owner_name"]').fill('Bea Browser');
  await page.locator('input[name="owner_email"]').fill('bea@example.com');
  await page.locator('#register button[type="submit"]').click();
  await page.locator('#register-result', { hasText: 'Registered' }).waitFor();
  seen.registered = await page.locator('#register-result').textContent();
  const row = page.locator('#tenants tbody tr', { hasText: slug });
  await row.waitFor();
  seen.tenants_after = await page.locator('#tenants tbody tr td:first-child').allTextContents();

  // Its audit trail: the registration is on it once the audit service has it.
  // The trail is read when opened: it is opened again until the entry shows,
  // each time waiting (a second at most) for the entry itself.
  const created = page.locator('#audit tbody tr td:nth-child(4)', { hasText: 'tenant.create' });
  const deadline = Date.now() + STEP_MS;
  for (;;) {
    await row.locator('button', { hasText: 'Audit trail' }).click();
    await page.locator('#audit-section').waitFor();
    const shown = await created.first().waitFor({ timeout: 1_000 }).then(() => true, () => false);
    if (shown) {
      seen.audit_actions = await page.locator('#audit tbody tr td:nth-child(4)').allTextContents();
      seen.audit_actors = await page.locator('#audit tbody tr td:nth-child(3)').allTextContents();
      break;
    }
    if (Date.now() > deadline) {
      const actions = await page.locator('#audit tbody tr td:nth-child(4)').allTextContents();
      throw new Error(`the audit trail of ${slug} never showed tenant.create: ${actions}`);
    }
  }

  // Logging out ends the session here and goes to the provider.
  await page.locator('#logout button').click();
  await page.waitForURL((url) => !url.toString().startsWith(gateway));
  seen.after_logout = page.url();
  await page.goto(`${gateway}/`);
  await page.locator('#login').waitFor();
  seen.logged_out = true;

  if (failures.length) {
    throw new Error(failures.join('; '));
  }
  console.log(JSON.stringify(seen));
} catch (e) {
  console.error(`${e.message}\nseen so far: ${JSON.stringify(seen)}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
