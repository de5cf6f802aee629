// RFC 6238 TOTP computed here with node:crypto (an implementation independent of the server's
// library): HMAC-SHA1 over the 30-second step counter, dynamic truncation, 6 digits.
import crypto from 'node:crypto';

function base32(s: string): Buffer {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of s.replace(/=+$/, '').toUpperCase()) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  return Buffer.from((bits.match(/.{8}/g) ?? []).map((b) => parseInt(b, 2)));
}

export function totpCode(secretBase32: string, timestampMs = Date.now()): string {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(timestampMs / 1000 / 30)));
  const mac = crypto.createHmac('sha1', base32(secretBase32)).update(counter).digest();
  const offset = mac[mac.length - 1]! & 0x0f;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

/** Add an authenticator app on the account page in this browser (signing in first if asked); returns its key. */
export async function enrollTotp(page: import('playwright-core').Page, issuer: string, who: { email: string; password: string }): Promise<string> {
  const { fillSignIn } = await import('./browser.ts');
  await page.goto(`${issuer}/account`);
  if (await page.getByLabel('Email').count()) await fillSignIn(page, who);
  await page.getByRole('link', { name: 'Add an authenticator app' }).click();
  const s = (await page.locator('#totp-secret').textContent())!.replace(/\s+/g, '');
  await page.getByLabel('Code from the app').fill(totpCode(s));
  await page.getByRole('button', { name: 'Turn on two-step verification' }).click();
  if ((await page.locator('#recovery-codes code').count()) !== 10) throw new Error(`enrollment did not finish: ${await page.locator('main').textContent()}`);
  return s;
}
