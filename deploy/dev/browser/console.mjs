// Drives the distribution's Chromium (headless) through the admin console as a
// person would: signed out it offers the sign-in; signed in at the identity
// provider, the overview shows the tenants by status and every service's
// readiness, and the tenants screen lists them. Prints what it saw as JSON;
// exits non-zero, with the reason, when a step does not happen.
//
//   node console.mjs GATEWAY_URL USER
//
// Environment: PLINTH_CHROMIUM (the browser; /usr/bin/chromium; session.mjs).
import { launch, signInAtProvider } from './session.mjs';

const [gateway, user] = process.argv.slice(2);
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

  // Signed out: the console offers the sign-in, which comes back to it.
  await page.goto(`${gateway}/console/`);
  await page.getByRole('link', { name: 'Sign in' }).click();
  await signInAtProvider(page, user);
  await page.waitForURL(`${gateway}/console/`);

  // The overview.
  await page.getByRole('heading', { name: 'Platform overview' }).waitFor();
  seen.who = await page.getByLabel('Signed in as').textContent();
  await page.getByRole('table').waitFor();
  seen.tenant_counts = await page.locator('table tbody tr').evaluateAll((rows) =>
    rows.map((r) => [r.querySelector('th').textContent, Number(r.querySelector('td').textContent)]),
  );
  await page.getByRole('list', { name: 'Readiness' }).waitFor();
  seen.readiness = await page.getByRole('list', { name: 'Readiness' }).locator('li').allTextContents();

  // The tenants, on a screen of their own (the browser's own navigation).
  await page.getByRole('link', { name: 'Tenants' }).click();
  await page.getByRole('heading', { name: 'Configured tenants' }).waitFor();
  await page.locator('table tbody tr').first().waitFor();
  seen.tenants = await page.locator('table tbody tr td:first-child code').allTextContents();
  seen.url = page.url();

  // A deep link opens the same screen.
  await page.goto(`${gateway}/console/tenants`);
  await page.getByRole('heading', { name: 'Configured tenants' }).waitFor();

  if (failures.length) throw new Error(failures.join('; '));
  console.log(JSON.stringify(seen));
} catch (e) {
  console.error(`${e.message}\nseen so far: ${JSON.stringify(seen)}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
