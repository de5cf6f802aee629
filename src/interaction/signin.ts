// Sign-in rules: password check with throttling per account and per IP, and no user
// enumeration (an unknown email takes the same steps, time and wording as a wrong password).
import type { Context } from '../context.ts';
import type { Tenant } from '../storage/tenants.ts';
import type { UserWithSecret } from '../storage/directory.ts';
import { verifyPassword, MAX_PASSWORD_LENGTH } from '../directory/passwords.ts';
import { waitWords } from '../ops/ratelimit.ts';

export type SignInResult =
  | { ok: true; user: UserWithSecret }
  | { ok: false; reason: 'throttled' | 'bad_credentials' | 'disabled'; message: string; user?: UserWithSecret };

export const BAD_CREDENTIALS = 'The email or password is incorrect. Check them and try again.';

export async function passwordSignIn(app: Context, tenant: Tenant, email: string, password: string, ip: string): Promise<SignInResult> {
  const accountKey = `acct:${tenant.id}:${email.toLowerCase()}`;
  const ipKey = `ip:${ip}`;
  const wait = Math.max(await app.throttles.account.blockedFor(accountKey), await app.throttles.ip.blockedFor(ipKey));
  if (wait > 0) {
    app.metrics.signIns.inc({ result: 'throttled' });
    await app.audit.record({ tenantId: tenant.id, type: 'signin.throttled', level: 'warn', subject: email, ip, data: { email } });
    return { ok: false, reason: 'throttled', message: `Too many failed sign-in attempts. Try again in ${waitWords(wait)}.` };
  }
  const user = await app.directory.userByEmail(tenant.id, email);
  const ok = password.length <= MAX_PASSWORD_LENGTH && (await verifyPassword(user?.passwordHash, password));
  if (!user || !ok) {
    const blocked = Math.max(await app.throttles.account.fail(accountKey), await app.throttles.ip.fail(ipKey));
    app.metrics.signIns.inc({ result: 'failed' });
    await app.audit.record({ tenantId: tenant.id, type: 'signin.failed', level: 'warn', subject: user?.id ?? email, ip, data: { email, reason: 'bad_credentials' } });
    const message = blocked > 0 ? `${BAD_CREDENTIALS} Too many failed attempts: try again in ${waitWords(blocked)}.` : BAD_CREDENTIALS;
    return { ok: false, reason: 'bad_credentials', message };
  }
  await app.throttles.account.reset(accountKey);
  if (user.status !== 'active') {
    app.metrics.signIns.inc({ result: 'disabled' });
    await app.audit.record({ tenantId: tenant.id, type: 'signin.failed', level: 'warn', subject: user.id, ip, data: { email, reason: 'disabled' } });
    return { ok: false, reason: 'disabled', message: 'Your account is disabled.', user };
  }
  app.metrics.signIns.inc({ result: 'succeeded' });
  await app.audit.record({ tenantId: tenant.id, type: 'signin.succeeded', subject: user.id, ip, data: { email, method: 'pwd' } });
  return { ok: true, user };
}
