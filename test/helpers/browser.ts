// Real Chromium (Debian's package) driven by playwright-core.
import { chromium, type Browser, type Page } from 'playwright-core';
import fs from 'node:fs';
import { GENEROUS_MS } from './wait.ts';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const haveChromium = () => fs.existsSync(CHROMIUM);

export async function launch(extraArgs: string[] = []): Promise<Browser> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      ...extraArgs,
    ],
  });
  // Every wait on a page (click, waitFor, goto) is for a condition; its deadline is generous,
  // not Playwright's 30 s, so that a busy shared machine slows the suite down without failing it.
  const newContext = browser.newContext.bind(browser);
  browser.newContext = async (...args) => {
    const context = await newContext(...args);
    context.setDefaultTimeout(GENEROUS_MS);
    context.setDefaultNavigationTimeout(GENEROUS_MS);
    return context;
  };
  return browser;
}

/** Servers here listen on 127.0.0.1 only: make "localhost" mean that address (WebAuthn needs a host name). */
export const LOCALHOST_IS_IPV4 = '--host-resolver-rules=MAP localhost 127.0.0.1';

/** On Gatehouse's sign-in page: email, Next, password, Sign in (what a person does). */
export async function fillSignIn(page: Page, who: { email: string; password: string }): Promise<void> {
  await page.getByLabel('Email').fill(who.email);
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByLabel('Password').fill(who.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}
