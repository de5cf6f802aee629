// acr_values and the acr claim as OpenID Connect Core says (3.1.2.1, 5.5.1.1): a list of
// acceptable classes, one of which the sign-in must satisfy; the ID token's acr is the best one
// satisfied; a second factor is asked for only when no listed class can be met without it; an
// essential acr claim is enforced. The "Two-step verification needed" page names the real cause,
// and turning back answers the app access_denied with a truthful description. openid-client
// and the protocol agent; Chromium for the pages people see. SQLite and PostgreSQL + Redis.
import { test as nodeTest, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import type { Browser } from 'playwright-core';
import { deployedApp, freePort, startTestServer, type Backend, type TestServer } from '../helpers/server.ts';
import { Agent, text } from '../helpers/agent.ts';
import { rpConfig, codeFlow } from '../helpers/rp.ts';
import { startTestRp } from '../helpers/test-rp.ts';
import { enrollTotp, totpCode } from '../helpers/totp.ts';
import { fillSignIn, haveChromium, launch } from '../helpers/browser.ts';

const PWD = 'urn:gatehouse:loa:pwd';
const MFA = 'urn:gatehouse:loa:mfa';
const FED = 'urn:gatehouse:loa:fed';
const FED_MFA = 'urn:gatehouse:loa:fed-mfa';
const essential = (...values: string[]) => JSON.stringify({ id_token: { acr: { essential: true, values } } });

export function acrSuite(backend: Backend) {
  const noBrowser = backend.skip || (haveChromium() ? false : 'Chromium is not installed (apt-get install -y chromium)');
  const test = (name: string, fn: () => Promise<void>, skip: string | false = backend.skip) => nodeTest(`${backend.name}: ${name}`, { skip }, fn);
  let gh: TestServer;
  let issuer: string;
  const RP = 'https://rp.example.test/callback';
  const alice = { email: 'alice@example.test', password: 'alice-password-1' };
  const pat = { email: 'pat@example.test', password: 'pat-password-1' };
  let web: { clientId: string; clientSecret: string };
  let secure: { clientId: string; clientSecret: string };
  let rp: Awaited<ReturnType<typeof startTestRp>>;

  const createApp = (body: Record<string, unknown>) => deployedApp(gh, body);

  before(async () => {
    if (backend.skip) return;
    gh = await startTestServer({}, { backend });
    issuer = `${gh.base}/t/default`;
    for (const u of [alice, pat]) assert.equal((await gh.api('POST', '/tenants/default/users', { ...u, givenName: 'Test' })).status, 201);
    web = await createApp({ name: 'crm', displayName: 'Customer CRM', type: 'web', redirectUris: [RP] });
    secure = await createApp({ name: 'vault', displayName: 'Vault', type: 'web', redirectUris: [RP], requireMfa: true });
    const port = await freePort();
    const browserApp = await createApp({ name: 'wiki', displayName: 'Team Wiki', type: 'web', redirectUris: [`http://127.0.0.1:${port}/callback`] });
    rp = await startTestRp({ issuer, clientId: browserApp.clientId, clientSecret: browserApp.clientSecret, port });
    // Pat's policy requires two-step verification everywhere.
    const p = await gh.api('POST', '/tenants/default/policies', {
      name: 'Pat needs MFA',
      priority: 1,
      targets: [{ type: 'user', ref: pat.email }],
      settings: { mfa: { required: 'always' } },
    });
    assert.equal(p.status, 201, JSON.stringify(p.body));
  });
  after(async () => {
    await rp?.close();
    await gh?.close();
  });

  const authUrl = async (app: { clientId: string; clientSecret: string }, extra: Record<string, string>) => {
    const config = await rpConfig(issuer, app.clientId, app.clientSecret);
    return oidc.buildAuthorizationUrl(config, {
      redirect_uri: RP,
      scope: 'openid email',
      state: 'st',
      code_challenge: await oidc.calculatePKCECodeChallenge('v'.repeat(43)),
      code_challenge_method: 'S256',
      ...extra,
    }).href;
  };

  /** Sign in on the agent; the sign-in stops at a refusal page, whose "Return to the application" is followed: the app's answer. */
  async function refusedThenReturn(agent: Agent, url: string, who: { email: string; password: string }) {
    await assert.rejects(agent.signIn(url, RP, who.email, who.password), /did not complete/);
    const page = { status: agent.lastStatus, text: text(agent.lastBody) };
    const f = agent.form();
    const back = await agent.follow(f.action, RP, { form: f.fields });
    assert.ok(back, `returning did not reach the app: ${text(agent.lastBody).slice(0, 200)}`);
    const q = new URL(back).searchParams;
    return { page, error: q.get('error'), description: q.get('error_description') ?? '' };
  }

  test("acr_values listing every supported class (as the conformance suite does): a password user signs in, and the ID token's acr is the password class", async () => {
    const config = await rpConfig(issuer, web.clientId, web.clientSecret);
    assert.deepEqual(config.serverMetadata().acr_values_supported, [PWD, MFA, FED, FED_MFA]);
    const { tokens } = await codeFlow(config, new Agent(), { redirectUri: RP, ...alice, extra: { acr_values: [PWD, MFA, FED, FED_MFA].join(' ') } });
    assert.equal(tokens.claims()!.acr, PWD);
    // Listed in another order: the same answer (the best class this sign-in satisfies).
    const again = await codeFlow(config, new Agent(), { redirectUri: RP, ...alice, extra: { acr_values: [MFA, PWD].join(' ') } });
    assert.equal(again.tokens.claims()!.acr, PWD);
    // Voluntary classes this sign-in cannot reach do not refuse it (acr_values are not essential).
    const fed = await codeFlow(config, new Agent(), { redirectUri: RP, ...alice, extra: { acr_values: FED } });
    assert.equal(fed.tokens.claims()!.acr, PWD);
  });

  test('acr_values=urn:gatehouse:loa:mfa alone asks for the second factor: the page says the app asked for it, and turning back tells the app so', async () => {
    const r = await refusedThenReturn(new Agent(), await authUrl(web, { acr_values: MFA }), alice);
    assert.equal(r.page.status, 403);
    assert.match(r.page.text, /Two-step verification needed/);
    assert.match(r.page.text, /Customer CRM asked for two-step verification for this sign-in \(acr_values urn:gatehouse:loa:mfa\)/);
    assert.doesNotMatch(r.page.text, /policy/);
    assert.equal(r.error, 'access_denied');
    assert.match(r.description, /acr_values \(urn:gatehouse:loa:mfa\)/);
    assert.doesNotMatch(r.description, /not allowed to use this application/);

    // The reason travels signed with the form: a forged one is not repeated to the app.
    const agent = new Agent();
    await assert.rejects(agent.signIn(await authUrl(web, { acr_values: MFA }), RP, alice.email, alice.password));
    const f = agent.form();
    const forged = new URL(f.action);
    forged.searchParams.set('reason', 'account_disabled');
    const q = new URL((await agent.follow(forged.href, RP, { form: f.fields }))!).searchParams;
    assert.equal(q.get('error'), 'access_denied');
    assert.doesNotMatch(q.get('error_description') ?? '', /disabled/);
  });

  test('an essential acr claim (claims parameter) is enforced: two-step asked for the mfa class; a class no sign-in here can reach fails the authorization with the reason', async () => {
    const r = await refusedThenReturn(new Agent(), await authUrl(web, { claims: essential(MFA) }), alice);
    assert.match(r.page.text, /an essential acr claim: urn:gatehouse:loa:mfa/);
    assert.equal(r.error, 'access_denied');
    assert.match(r.description, /essential acr claim \(urn:gatehouse:loa:mfa\)/);

    // Only an upstream directory's class: a local password sign-in cannot meet it.
    const agent = new Agent();
    const back = await agent.signIn(await authUrl(web, { claims: essential(FED) }), RP, alice.email, alice.password);
    const q = new URL(back).searchParams;
    assert.equal(q.get('error'), 'access_denied', back);
    assert.equal(q.get('code'), null);
    assert.match(q.get('error_description') ?? '', /requires a sign-in of class urn:gatehouse:loa:fed \(an essential acr claim\)/);

    // A malformed acr request is refused, not ignored.
    const bad = await new Agent().follow(await authUrl(web, { claims: JSON.stringify({ id_token: { acr: { essential: true, values: MFA } } }) }), RP);
    assert.equal(new URL(bad!).searchParams.get('error'), 'invalid_request');
    assert.match(new URL(bad!).searchParams.get('error_description') ?? '', /acr\.values must be an array/);

    // An essential class the sign-in meets: signed in, acr as asked.
    const config = await rpConfig(issuer, web.clientId, web.clientSecret);
    const ok = await codeFlow(config, new Agent(), { redirectUri: RP, ...alice, extra: { claims: essential(FED, PWD) } });
    assert.equal(ok.tokens.claims()!.acr, PWD);
  });

  test("the page names the app's setting or the user's policy as the cause, and so does the answer to the app", async () => {
    const app = await refusedThenReturn(new Agent(), await authUrl(secure, {}), alice);
    assert.match(app.page.text, /Vault requires two-step verification: your organization set this for the application/);
    assert.doesNotMatch(app.page.text, /acr_values|policy/);
    assert.match(app.description, /the application's profile in Gatehouse requires it/);

    const policy = await refusedThenReturn(new Agent(), await authUrl(web, {}), pat);
    assert.match(policy.page.text, /Your organization's policy requires two-step verification for your account/);
    assert.doesNotMatch(policy.page.text, /Customer CRM requires|acr_values/);
    assert.equal(policy.error, 'access_denied');
    assert.match(policy.description, /the user's policy requires it/);
  });

  test(
    'browser: with two-step verification done, an app asking for the password class as essential is answered with it (no prompt); a password-only session asked for mfa shows the cause and returns access_denied',
    async () => {
      const browser: Browser = await launch();
      try {
        const mia = { email: 'mia@example.test', password: 'mia-password-1' };
        await gh.api('POST', '/tenants/default/users', { ...mia, givenName: 'Mia' });
        const page = await (await browser.newContext()).newPage();
        const secret = await enrollTotp(page, issuer, mia);
        const fresh = await (await browser.newContext()).newPage();
        await fresh.goto(`${rp.base}/login`);
        await fillSignIn(fresh, mia);
        // The enrolment used this step's code: the next step's (within the drift window) signs in.
        await fresh.getByLabel('Code from your authenticator app').fill(totpCode(secret, Date.now() + 30_000));
        await fresh.getByRole('button', { name: 'Verify' }).click();
        assert.equal(await fresh.locator('#user').textContent(), `Signed in as ${mia.email}`);
        assert.equal(rp.idTokenClaims().acr, MFA);
        await fresh.goto(`${rp.base}/login?claims=${encodeURIComponent(essential(PWD))}`);
        assert.equal(await fresh.locator('#user').textContent(), `Signed in as ${mia.email}`, 'silent: the MFA sign-in satisfies the password class');
        assert.equal(rp.idTokenClaims().acr, PWD, 'the listed class, as an essential claim requires');

        const other = await (await browser.newContext()).newPage();
        await other.goto(`${rp.base}/login?acr_values=${encodeURIComponent(MFA)}`);
        await fillSignIn(other, alice);
        assert.equal(await other.locator('h1').textContent(), 'Two-step verification needed');
        assert.match((await other.locator('main').textContent()) ?? '', /Team Wiki asked for two-step verification for this sign-in/);
        await other.getByRole('button', { name: 'Return to the application' }).click();
        assert.equal(await other.locator('#error').textContent(), 'access_denied');
      } finally {
        await browser.close();
      }
    },
    noBrowser,
  );
}
