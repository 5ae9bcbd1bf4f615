// What every browser check shares: the distribution's Chromium (headless), and
// signing in at the dev identity provider as a person does.
//
// Environment: PLINTH_CHROMIUM (the browser; /usr/bin/chromium).
import { chromium } from 'playwright-core';

/** The browser, launched as the page tests run it. */
export function launch() {
  return chromium.launch({
    executablePath: process.env.PLINTH_CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-background-networking'],
  });
}

/** At the identity provider's login page: signs in as `user` (any password)
 * and grants the consent, back to the gateway's callback. */
export async function signInAtProvider(page, user) {
  await page.locator('input[name="login"]').fill(user);
  await page.locator('input[name="password"]').fill('any');
  await page.locator('button[type="submit"]').click();
  await page.locator('button[type="submit"]').click();
}

/** A page of `browser` signed in to the console at `gateway` as `user`; a
 * script error on it is added to `failures`. */
export async function signedIn(browser, gateway, user, failures) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(20_000);
  page.on('pageerror', (e) => failures.push(`${user}: script error: ${e.message}`));
  await page.goto(`${gateway}/auth/login?return_to=/`);
  await signInAtProvider(page, user);
  await page.waitForURL(`${gateway}/`);
  return page;
}

/** Takes numbered full-page screenshots into `dir`: `snap(page, name)`. */
export function screenshots(dir) {
  let shot = 0;
  return async (page, name) => {
    shot += 1;
    await page.screenshot({ path: `${dir}/${String(shot).padStart(2, '0')}-${name}.png`, fullPage: true });
  };
}
