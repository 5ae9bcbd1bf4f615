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
