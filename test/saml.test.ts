// The SAML 2.0 identity provider: app profiles of type saml (API, CLI), the IdP metadata,
// SP-initiated sign-in by both bindings sharing the SSO session with OpenID Connect apps,
// deployments, step-up, IdP-initiated sign-in, Single Logout, and the abuse cases of issue
// 18 point 4 (hostile documents get a clear 4xx, never a 5xx). SQLite only: the store part
// runs on both databases in test/stores.test.ts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import fs from 'node:fs';
import os from 'node:os';
import { execFile } from 'node:child_process';
import { startTestServer, deployedApp, ADMIN, LOOPBACK_OUTBOUND, type TestServer } from './helpers/server.ts';
import { Agent, text } from './helpers/agent.ts';
import { rpConfig, backchannelReceiver } from './helpers/rp.ts';
import * as oidc from 'openid-client';
import { fillSignIn, haveChromium, launch } from './helpers/browser.ts';
import { haveMellon, startMellon } from './helpers/mellon.ts';
import { waitFor } from './helpers/wait.ts';
import { totpCode } from './helpers/totp.ts';
import {
  spKeys,
  decryptAssertion,
  authnRequestXml,
  logoutRequestXml,
  signXml,
  redirectBinding,
  metadataCertificates,
  checkResponse,
  first,
  attributes,
  newId,
  type SpKeys,
} from './helpers/saml-sp.ts';

let gh: TestServer;
let issuer: string;
let idpCerts: string[];
let sp: SpKeys;
let otherKeys: SpKeys;
const SP = { entityId: 'https://sp.example.test/metadata', acs: 'https://sp.example.test/acs', slo: 'https://sp.example.test/slo' };
const SIGNED_SP = { entityId: 'https://signed-sp.example.test/metadata', acs: 'https://signed-sp.example.test/acs' };
let app: { clientId: string };
let signedApp: { clientId: string };
const alice = { email: 'alice@example.test', password: 'alice-password-1' };
const bob = { email: 'bob@example.test', password: 'bob-password-1' };
const sso = () => `${issuer}/saml/sso`;

/** Follow a SAML sign-in from `url` (signing in when asked) to the page that POSTs to the SP; its form. */
async function samlSignIn(agent: Agent, url: string, who?: { email: string; password: string }, init?: { form?: Record<string, string> }) {
  const stop = 'https://never.example.test/';
  await agent.follow(url, stop, init);
  for (let i = 0; i < 4 && !agent.lastBody.includes('name="SAMLResponse"'); i++) {
    if (agent.lastStatus !== 200 || !who) return { status: agent.lastStatus, page: text(agent.lastBody) };
    const f = agent.form();
    const fields: Record<string, string> = { ...f.fields, email: who.email };
    if (/name="password"/.test(agent.lastBody)) fields.password = who.password;
    await agent.follow(f.action, stop, { form: fields });
  }
  if (!agent.lastBody.includes('name="SAMLResponse"')) return { status: agent.lastStatus, page: text(agent.lastBody) };
  const f = agent.form();
  return { status: agent.lastStatus, action: f.action, response: f.fields.SAMLResponse!, relayState: f.fields.RelayState };
}

before(async () => {
  [sp, otherKeys] = await Promise.all([spKeys('Test SP'), spKeys('Someone else')]);
  gh = await startTestServer(LOOPBACK_OUTBOUND);
  issuer = `${gh.base}/t/default`;
  for (const u of [alice, bob])
    assert.equal((await gh.api('POST', '/tenants/default/users', { ...u, givenName: u.email.split('@')[0], familyName: 'Example' })).status, 201);
  await gh.api('POST', '/tenants/default/groups', { name: 'Nurses' });
  assert.equal((await gh.api('PUT', `/tenants/default/groups/Nurses/members/${alice.email}`)).status, 204);
});
after(async () => {
  await gh?.close();
});

test('hostile SAML profiles are refused with what to fix; a good one is created and shows the IdP addresses', async () => {
  const base = { name: 'portal', displayName: 'Vendor Portal', type: 'saml' };
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{}, /needs its SP settings/],
    [{ saml: { entityId: SP.entityId } }, /at least one Assertion Consumer Service/],
    [{ saml: { entityId: SP.entityId, acs: [{ url: 'http://sp.example.test/acs' }] } }, /use https/],
    [{ saml: { entityId: SP.entityId, acs: [{ url: SP.acs }], signatureAlgorithm: 'rsa-sha1' } }, /SHA1 signatures are refused/],
    [{ saml: { entityId: SP.entityId, acs: [{ url: SP.acs }], certificates: ['not a certificate'] } }, /SP certificate 1 (is not a PEM|could not be read)/],
    [{ saml: { entityId: SP.entityId, acs: [{ url: SP.acs }], requireSignedRequests: true } }, /add it first/],
    [{ saml: { metadataXml: '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>' } }, /DTD/],
    [{ saml: { metadataXml: '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x"/>' } }, /no SPSSODescriptor/],
    [{ saml: { metadataXml: '<unclosed' } }, /not well-formed/],
    [{ redirectUris: ['https://x.test/cb'], saml: { entityId: SP.entityId, acs: [{ url: SP.acs }] } }, /takes no redirect URIs/],
  ];
  for (const [extra, message] of cases) {
    const r = await gh.api('POST', '/tenants/default/apps', { ...base, ...extra });
    assert.equal(r.status, 400, JSON.stringify(extra));
    assert.match(r.body.error.message, message);
  }
  const web = await gh.api('POST', '/tenants/default/apps', {
    name: 'w',
    displayName: 'W',
    type: 'web',
    redirectUris: ['https://w.test/cb'],
    saml: { entityId: 'x' },
  });
  assert.equal(web.status, 400);
  assert.match(web.body.error.message, /Only SAML apps/);

  const created = await gh.api('POST', '/tenants/default/apps', {
    ...base,
    saml: {
      entityId: SP.entityId,
      acs: [{ url: SP.acs }, { url: `${SP.acs}/2` }],
      slo: { url: SP.slo, binding: 'redirect' },
      certificates: [sp.certPem],
      attributes: [
        { name: 'mail', attribute: 'email', format: 'basic' },
        { name: 'groups', attribute: 'groups' },
        { name: 'site', value: 'St. Mary' },
        { name: 'sn', attribute: 'family_name', friendlyName: 'surname' },
      ],
    },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.equal(created.body.clientSecret, null, 'a SAML app has no client secret');
  assert.equal(created.body.saml.idp.metadataUrl, `${issuer}/saml/metadata`);
  assert.equal(created.body.saml.idp.ssoUrl, sso());
  assert.equal(created.body.saml.sign, 'both');
  assert.ok(created.body.certificateExpiresAt > Date.now(), 'the SP certificate is watched for expiry');
  const dup = await gh.api('POST', '/tenants/default/apps', { ...base, name: 'portal-again', saml: { entityId: SP.entityId, acs: [{ url: SP.acs }] } });
  assert.equal(dup.status, 409);
  assert.match(dup.body.error.message, /already has the SP entity ID/);
  app = created.body;
  assert.equal((await gh.api('PUT', `/tenants/default/apps/${app.clientId}/deployment`, { all: true })).status, 200);

  const signed = await gh.api('POST', '/tenants/default/apps', {
    name: 'signed',
    displayName: 'Signed SP',
    type: 'saml',
    saml: { entityId: SIGNED_SP.entityId, acs: [{ url: SIGNED_SP.acs }], certificates: [sp.certPem], requireSignedRequests: true, nameIdFormat: 'persistent' },
  });
  assert.equal(signed.status, 201, JSON.stringify(signed.body));
  signedApp = signed.body;
  assert.equal((await gh.api('PUT', `/tenants/default/apps/${signedApp.clientId}/deployment`, { all: true })).status, 200);

  // A change keeps what it does not name; SHA-1 only with the opt-in, and then with a warning.
  const sha1 = await gh.api('PATCH', `/tenants/default/apps/${signedApp.clientId}`, { saml: { signatureAlgorithm: 'rsa-sha1', allowSha1: true } });
  assert.equal(sha1.status, 200, JSON.stringify(sha1.body));
  assert.equal(sha1.body.saml.requireSignedRequests, true);
  assert.match(sha1.body.saml.warnings.join(' '), /RSA-SHA1, which is broken/);
  assert.equal(
    (await gh.api('PATCH', `/tenants/default/apps/${signedApp.clientId}`, { saml: { signatureAlgorithm: 'rsa-sha256', allowSha1: false } })).status,
    200,
  );
});

test('IdP metadata: entity ID, SSO and SLO services for both bindings, the active and the next signing certificate', async () => {
  const res = await fetch(`${issuer}/saml/metadata`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type')!, /samlmetadata\+xml/);
  const xml = await res.text();
  assert.match(xml, new RegExp(`entityID="${issuer}/saml/metadata"`));
  for (const b of ['HTTP-Redirect', 'HTTP-POST']) {
    assert.match(xml, new RegExp(`SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:${b}" Location="${sso()}"`));
    assert.match(xml, new RegExp(`SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:${b}" Location="${issuer}/saml/slo"`));
  }
  idpCerts = metadataCertificates(xml);
  assert.equal(idpCerts.length, 2, 'the active key and the next one, announced before it signs');
  assert.doesNotMatch(xml, /PRIVATE/);
});

test('SP-initiated sign-in by HTTP-Redirect: a signed Response at the ACS with NameID, attributes and AuthnContext; the SSO session is reused', async () => {
  const agent = new Agent();
  const req = authnRequestXml({ issuer: SP.entityId, destination: sso(), acsUrl: SP.acs });
  const r = await samlSignIn(agent, redirectBinding(sso(), 'SAMLRequest', req.xml, { relayState: '/after/login?x=1' }), alice);
  assert.equal(r.action, SP.acs, JSON.stringify(r));
  assert.equal(r.relayState, '/after/login?x=1');
  const { doc, responseSigned, assertionSigned } = checkResponse(r.response!, idpCerts[0]!);
  assert.ok(responseSigned && assertionSigned, 'both signed (the default)');
  assert.equal(doc.documentElement.getAttribute('InResponseTo'), req.id);
  assert.equal(doc.documentElement.getAttribute('Destination'), SP.acs);
  assert.equal(first(doc, 'StatusCode', 'urn:oasis:names:tc:SAML:2.0:protocol')!.getAttribute('Value'), 'urn:oasis:names:tc:SAML:2.0:status:Success');
  assert.equal(first(doc, 'NameID')!.textContent, alice.email);
  assert.equal(first(doc, 'Audience')!.textContent, SP.entityId);
  assert.equal(first(doc, 'AuthnContextClassRef')!.textContent, 'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport');
  assert.deepEqual(attributes(doc), { mail: [alice.email], groups: ['Nurses'], site: ['St. Mary'], sn: ['Example'] });
  assert.ok(Date.parse(first(doc, 'Conditions')!.getAttribute('NotOnOrAfter')!) <= Date.now() + 301_000, 'the default lifetime: 5 minutes');

  // The same browser again, the other ACS URL: no prompt.
  const again = authnRequestXml({ issuer: SP.entityId, destination: sso(), acsUrl: `${SP.acs}/2` });
  const r2 = await samlSignIn(agent, redirectBinding(sso(), 'SAMLRequest', again.xml));
  assert.equal(r2.action, `${SP.acs}/2`, 'signed in without a prompt (SSO session)');
  const events = await gh.api('GET', '/tenants/default/audit?type=saml.signed_in');
  assert.ok(events.body.items.length >= 2);
  assert.equal(events.body.items[0].data.clientId, app.clientId);
  const all = JSON.stringify((await gh.api('GET', '/tenants/default/audit?limit=200')).body);
  assert.doesNotMatch(all, /PRIVATE KEY|SAMLResponse/, 'no keys or messages in audit events');
});

test('SP-initiated by HTTP-POST with a signed AuthnRequest, persistent NameID; the SSO session is shared with an OIDC app both ways', async () => {
  const agent = new Agent();
  // Sign in to an OpenID Connect app first.
  const rp = await deployedApp(gh, { name: 'crm', displayName: 'CRM', type: 'web', redirectUris: ['https://crm.example.test/cb'] });
  const config = await rpConfig(issuer, rp.clientId, rp.clientSecret);
  const authUrl = oidc.buildAuthorizationUrl(config, { redirect_uri: 'https://crm.example.test/cb', scope: 'openid', state: 's' }).href;
  assert.ok(await agent.signIn(authUrl, 'https://crm.example.test/cb', alice.email, alice.password));
  // Then the SAML app: no prompt.
  const req = authnRequestXml({ issuer: SIGNED_SP.entityId, destination: sso() });
  const r = await samlSignIn(agent, sso(), undefined, { form: { SAMLRequest: Buffer.from(signXml(req.xml, sp)).toString('base64'), RelayState: 'rs' } });
  assert.equal(r.action, SIGNED_SP.acs, JSON.stringify(r));
  const { doc } = checkResponse(r.response!, idpCerts[0]!);
  const nameId = first(doc, 'NameID')!;
  assert.equal(nameId.getAttribute('Format'), 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent');
  assert.doesNotMatch(nameId.textContent!, /alice|usr_/, 'opaque');
  // Stable for this SP, across sessions.
  const fresh = new Agent();
  const req2 = authnRequestXml({ issuer: SIGNED_SP.entityId, destination: sso() });
  const r2 = await samlSignIn(fresh, redirectBinding(sso(), 'SAMLRequest', req2.xml, { keys: sp }), alice);
  assert.equal(first(checkResponse(r2.response!, idpCerts[0]!).doc, 'NameID')!.textContent, nameId.textContent);
  // The reverse: after the SAML sign-in, the OIDC app signs in without a prompt.
  assert.ok(await fresh.follow(authUrl, 'https://crm.example.test/cb'), 'OIDC app opened without a prompt after a SAML sign-in');

  // Encrypted to the SP's certificate (AES-256-GCM, RSA-OAEP): only the SP's key opens it, and inside is the signed assertion.
  assert.equal((await gh.api('PATCH', `/tenants/default/apps/${signedApp.clientId}`, { saml: { encryptAssertion: true } })).status, 200);
  const req3 = authnRequestXml({ issuer: SIGNED_SP.entityId, destination: sso() });
  const r3 = await samlSignIn(fresh, redirectBinding(sso(), 'SAMLRequest', req3.xml, { keys: sp }));
  const encrypted = checkResponse(r3.response!, idpCerts[0]!);
  assert.ok(encrypted.responseSigned, 'the response signature covers the encrypted form');
  assert.match(
    encrypted.xml,
    /<saml:EncryptedAssertion><xenc:EncryptedData[^>]*>\s*<xenc:EncryptionMethod Algorithm="http:\/\/www.w3.org\/2009\/xmlenc11#aes256-gcm"/,
  );
  assert.doesNotMatch(encrypted.xml, /<saml:NameID|alice/);
  await assert.rejects(decryptAssertion(encrypted.xml, otherKeys), 'another key cannot decrypt it');
  const clear = await decryptAssertion(encrypted.xml, sp);
  // The decrypted assertion alone (the response's signature covers the encrypted form).
  const inner = checkResponse(Buffer.from(/<saml:Assertion[\s\S]*<\/saml:Assertion>/.exec(clear)![0]).toString('base64'), idpCerts[0]!);
  assert.ok(inner.responseSigned, 'the assertion (the root here) is signed');
  assert.equal(first(inner.doc, 'NameID')!.textContent, nameId.textContent);
  assert.equal((await gh.api('PATCH', `/tenants/default/apps/${signedApp.clientId}`, { saml: { encryptAssertion: false } })).status, 200);
});

test('abuse: hostile and replayed requests get a clear 4xx page, never a 5xx, and are audited', async () => {
  const agent = new Agent();
  const refused = async (url: string, message: RegExp, form?: Record<string, string>) => {
    const res = await agent.request(url, form ? { form } : {});
    const body = await res.text();
    assert.ok(res.status >= 400 && res.status < 500, `${res.status} for ${message}: ${text(body).slice(0, 300)}`);
    assert.match(text(body), message);
  };
  const redirect = (o: Parameters<typeof authnRequestXml>[0], keys?: SpKeys) => redirectBinding(sso(), 'SAMLRequest', authnRequestXml(o).xml, { keys });
  await refused(sso(), /No SAMLRequest parameter/);
  await refused(`${sso()}?SAMLRequest=%%%`, /not URL-encoded/);
  await refused(`${sso()}?SAMLRequest=bm90IGRlZmxhdGVk`, /not a deflated/);
  await refused(sso(), /not a base64-encoded SAML message/, { SAMLRequest: 'aGVsbG8=' });
  await refused(redirectBinding(sso(), 'SAMLRequest', '<x'), /not well-formed/);
  // XXE and DTDs.
  await refused(
    redirectBinding(sso(), 'SAMLRequest', `<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>${authnRequestXml({ issuer: SP.entityId }).xml}`),
    /DTD/,
  );
  await refused(redirect({ issuer: 'https://unknown.example.test' }), /not registered with this organization/);
  await refused(redirect({ issuer: SP.entityId, destination: 'https://elsewhere.example.test/sso' }), /addressed to https:\/\/elsewhere/);
  await refused(redirect({ issuer: SP.entityId, issueInstant: Date.now() - 3600_000 }), /expired/);
  await refused(redirect({ issuer: SP.entityId, issueInstant: Date.now() + 3600_000 }), /in the future/);
  // The ACS URL comes from the profile only.
  await refused(redirect({ issuer: SP.entityId, acsUrl: 'https://attacker.example.test/acs' }), /not an Assertion Consumer Service URL registered/);
  // Replay.
  const once = authnRequestXml({ issuer: SP.entityId });
  assert.equal((await agent.request(redirectBinding(sso(), 'SAMLRequest', once.xml))).status, 303);
  await refused(redirectBinding(sso(), 'SAMLRequest', once.xml), /was already used/);
  // Signed requests required: unsigned, signed by another key, tampered, SHA-1, wrapped.
  await refused(redirect({ issuer: SIGNED_SP.entityId }), /not signed, and this service provider's profile requires signed requests/);
  await refused(redirect({ issuer: SIGNED_SP.entityId }, otherKeys), /signature was refused/);
  const good = signXml(authnRequestXml({ issuer: SIGNED_SP.entityId }).xml, sp);
  await refused(sso(), /signature was refused/, {
    SAMLRequest: Buffer.from(good.replace('Version="2.0"', 'Version="2.0" ForceAuthn="false"')).toString('base64'),
  });
  await refused(sso(), /signed with http:\/\/www.w3.org\/2000\/09\/xmldsig#rsa-sha1; Gatehouse accepts RSA-SHA256\./, {
    SAMLRequest: Buffer.from(signXml(authnRequestXml({ issuer: SIGNED_SP.entityId }).xml, sp, 'sha1')).toString('base64'),
  });
  const broken = authnRequestXml({ issuer: SIGNED_SP.entityId }).xml.replace(
    '</saml:Issuer>',
    '</saml:Issuer><ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:Nothing/></ds:Signature>',
  );
  await refused(sso(), /signature (cannot be read|was refused)|signed with/, { SAMLRequest: Buffer.from(broken).toString('base64') });
  // Signature wrapping: a new request (another ID, the attacker's ACS) carrying the signature
  // of a genuine one that is hidden inside it.
  const genuine = signXml(authnRequestXml({ issuer: SIGNED_SP.entityId }).xml, sp);
  const sigXml = /<ds:Signature[\s\S]*<\/ds:Signature>/.exec(genuine)![0];
  const hidden = genuine.replace(sigXml, '');
  const wrapped = `<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${newId()}" Version="2.0" IssueInstant="${new Date().toISOString()}"><saml:Issuer>${SIGNED_SP.entityId}</saml:Issuer>${sigXml}<samlp:Extensions>${hidden}</samlp:Extensions></samlp:AuthnRequest>`;
  await refused(sso(), /signature-wrapping|signature was refused/, { SAMLRequest: Buffer.from(wrapped).toString('base64') });
  // Unsigned message with a signed foreign element inside (here: an SP's signed request in a LogoutRequest).
  const lr = logoutRequestXml({ issuer: SP.entityId, destination: `${issuer}/saml/slo`, nameId: alice.email, sessionIndex: 'x' });
  const withForeign = lr.xml.replace('</samlp:LogoutRequest>', `<samlp:Extensions>${good}</samlp:Extensions></samlp:LogoutRequest>`);
  await refused(`${issuer}/saml/slo`, /LogoutRequest is not signed/, { SAMLRequest: Buffer.from(withForeign).toString('base64') });
  // Comment injection: a NameID cut by a comment is read whole (never as its first text node).
  const lr2 = logoutRequestXml({ issuer: SP.entityId, destination: `${issuer}/saml/slo`, nameId: `${bob.email}<!---->.evil.test`, sessionIndex: 'x' });
  assert.equal(
    (await agent.request(redirectBinding(`${issuer}/saml/slo`, 'SAMLRequest', lr2.xml, { keys: sp }))).status,
    303,
    'a signed LogoutRequest naming no session of ours ends nothing',
  );
  await refused(`${issuer}/saml/launch/nope`, /no SAML application to open/);
  await refused(`${issuer.replace('/default', '/nosuch')}/saml/metadata`, /no organization/);
  const audit = await gh.api('GET', '/tenants/default/audit?type=saml.request_refused&limit=100');
  assert.ok(audit.body.items.length >= 10);
  assert.ok(
    audit.body.items.some((e: { data: { clientId?: string } }) => e.data.clientId === signedApp.clientId),
    'filterable by app',
  );
});

test('deployments, RequestedAuthnContext, IsPassive: the same rules as OIDC apps', async () => {
  // Undeployed for bob: the same refusal page.
  assert.equal((await gh.api('DELETE', `/tenants/default/apps/${app.clientId}/deployment`)).status, 200);
  assert.equal((await gh.api('POST', `/tenants/default/apps/${app.clientId}/deployment/targets`, { type: 'group', ref: 'Nurses' })).status, 200);
  const b = await samlSignIn(new Agent(), redirectBinding(sso(), 'SAMLRequest', authnRequestXml({ issuer: SP.entityId }).xml), bob);
  assert.equal(b.response, undefined);
  assert.match(b.page!, /not (been )?deployed|not available/i);

  // IsPassive without a session: NoPassive to the SP.
  const passive = await samlSignIn(new Agent(), redirectBinding(sso(), 'SAMLRequest', authnRequestXml({ issuer: SP.entityId, isPassive: true }).xml));
  const p = checkResponse(passive.response!, idpCerts[0]!).doc;
  assert.equal(
    first(p, 'StatusCode', 'urn:oasis:names:tc:SAML:2.0:protocol')!
      .getElementsByTagNameNS('urn:oasis:names:tc:SAML:2.0:protocol', 'StatusCode')[0]!
      .getAttribute('Value'),
    'urn:oasis:names:tc:SAML:2.0:status:NoPassive',
  );

  // An unknown authentication context: NoAuthnContext to the SP. MFA asked: a password alone is not enough.
  const unknown = await samlSignIn(
    new Agent(),
    redirectBinding(sso(), 'SAMLRequest', authnRequestXml({ issuer: SP.entityId, classRefs: ['urn:example:smartcard'] }).xml),
  );
  assert.match(checkResponse(unknown.response!, idpCerts[0]!).xml, /status:NoAuthnContext/);
  const mfa = await samlSignIn(
    new Agent(),
    redirectBinding(sso(), 'SAMLRequest', authnRequestXml({ issuer: SP.entityId, classRefs: ['https://refeds.org/profile/mfa'] }).xml),
    alice,
  );
  assert.equal(mfa.response, undefined, 'no assertion after a password alone');
  assert.match(mfa.page!, /two-step|verification|authenticator|second/i);
});

test('IdP-initiated sign-in (the launcher) with RelayState; Single Logout from the SP ends the Gatehouse session and back-channels OIDC apps', async () => {
  const agent = new Agent();
  const r = await samlSignIn(agent, `${issuer}/saml/launch/${app.clientId}?RelayState=${encodeURIComponent('/inbox')}`, alice);
  assert.equal(r.action, SP.acs, JSON.stringify(r));
  assert.equal(r.relayState, '/inbox');
  const { doc } = checkResponse(r.response!, idpCerts[0]!);
  assert.equal(doc.documentElement.getAttribute('InResponseTo'), null, 'unsolicited');
  const sessionIndex = first(doc, 'AuthnStatement')!.getAttribute('SessionIndex')!;

  // The launcher lists the SAML app and opens it the same way, its home URL as the RelayState.
  assert.equal((await gh.api('PATCH', `/tenants/default/apps/${app.clientId}`, { homeUrl: 'https://sp.example.test/home' })).status, 200);
  await agent.follow(`${issuer}/launcher`, 'https://never.example.test/');
  assert.match(agent.lastBody, new RegExp(`/launch/${app.clientId}`));
  const launched = await samlSignIn(agent, `${issuer}/launch/${app.clientId}`);
  assert.equal(launched.action, SP.acs, JSON.stringify(launched));
  assert.equal(launched.relayState, 'https://sp.example.test/home');

  // An OIDC app with back-channel logout, signed in to through the same session.
  const receiver = await backchannelReceiver();
  try {
    const rp = await deployedApp(gh, {
      name: 'ehr',
      displayName: 'EHR',
      type: 'web',
      redirectUris: ['https://ehr.example.test/cb'],
      backchannelLogoutUri: receiver.url,
    });
    const config = await rpConfig(issuer, rp.clientId, rp.clientSecret);
    const authUrl = oidc.buildAuthorizationUrl(config, { redirect_uri: 'https://ehr.example.test/cb', scope: 'openid', state: 's' }).href;
    assert.ok(await agent.follow(authUrl, 'https://ehr.example.test/cb'), 'SSO');

    const lr = logoutRequestXml({ issuer: SP.entityId, destination: `${issuer}/saml/slo`, nameId: alice.email, sessionIndex });
    const res = await agent.request(redirectBinding(`${issuer}/saml/slo`, 'SAMLRequest', lr.xml, { keys: sp, relayState: 'bye' }));
    assert.equal(res.status, 303);
    const back = new URL(res.headers.get('location')!);
    assert.equal(`${back.origin}${back.pathname}`, SP.slo);
    assert.equal(back.searchParams.get('RelayState'), 'bye');
    assert.ok(back.searchParams.get('Signature'), 'the LogoutResponse is signed');
    await receiver.next();
    assert.ok(receiver.received.length >= 1, 'the OIDC app got a back-channel logout token');
    // Signed out: the next sign-in asks again.
    const next = await samlSignIn(agent, redirectBinding(sso(), 'SAMLRequest', authnRequestXml({ issuer: SP.entityId }).xml));
    assert.equal(next.response, undefined, 'the SSO session ended');
    const ended = await gh.api('GET', '/tenants/default/audit?type=saml.logout');
    assert.equal(ended.body.items[0].data.sessionsEnded, 1);
  } finally {
    await receiver.close();
  }
});

test('CLI contract: app create --type saml with --entity-id/--acs-url or --metadata prints the profile with its client_id', async () => {
  const bin = path.resolve(import.meta.dirname, '../bin/gatehouse.js');
  const run = (args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [bin, ...args],
        {
          env: {
            ...process.env,
            GATEHOUSE_ADMIN_TOKEN: '',
            GATEHOUSE_URL: gh.base,
            GATEHOUSE_ADMIN_EMAIL: ADMIN.email,
            GATEHOUSE_ADMIN_PASSWORD: ADMIN.password,
          },
        },
        (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
      );
    });
  const a = await run([
    'app',
    'create',
    '--tenant',
    'default',
    '--type',
    'saml',
    '--name',
    'ehr-saml',
    '--display-name',
    'EHR (SAML)',
    '--entity-id',
    'https://ehr-saml.example.test',
    '--acs-url',
    'https://ehr-saml.example.test/acs',
    '--json',
  ]);
  assert.equal(a.code, 0, a.stderr);
  const created = JSON.parse(a.stdout);
  assert.ok(created.client_id);
  assert.equal(created.saml.idp.ssoUrl, sso());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-saml-'));
  const file = path.join(dir, 'sp.xml');
  const cert = sp.certPem.replace(/-----(BEGIN|END) CERTIFICATE-----|\s+/g, '');
  fs.writeFileSync(
    file,
    `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="https://meta.example.test/sp">
  <md:SPSSODescriptor AuthnRequestsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://meta.example.test/slo"/>
    <md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>
    <md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact" Location="https://meta.example.test/artifact" index="0"/>
    <md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://meta.example.test/acs" index="1"/>
  </md:SPSSODescriptor></md:EntityDescriptor>`,
  );
  const m = await run([
    'app',
    'create',
    '--tenant',
    'default',
    '--type',
    'saml',
    '--name',
    'meta',
    '--display-name',
    'From metadata',
    '--metadata',
    file,
    '--json',
  ]);
  assert.equal(m.code, 0, m.stderr);
  const fromMeta = JSON.parse(m.stdout).saml;
  assert.equal(fromMeta.entityId, 'https://meta.example.test/sp');
  assert.deepEqual(
    fromMeta.acs.map((x: { url: string }) => x.url),
    ['https://meta.example.test/acs'],
  );
  assert.equal(fromMeta.nameIdFormat, 'persistent');
  assert.equal(fromMeta.requireSignedRequests, true);
  assert.deepEqual(fromMeta.slo, { url: 'https://meta.example.test/slo', binding: 'redirect' });
  assert.equal(fromMeta.certificates.length, 1);
  const bad = await run(['app', 'create', '--tenant', 'default', '--type', 'saml', '--name', 'x', '--display-name', 'X', '--json']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /--metadata FILE .* or --entity-id ID and --acs-url URL/);
  fs.rmSync(dir, { recursive: true, force: true });
});

const noMellon = !haveChromium()
  ? 'Chromium is not installed (apt-get install -y chromium)'
  : !haveMellon()
    ? 'Apache mod_auth_mellon is not installed (apt-get install -y apache2 libapache2-mod-auth-mellon)'
    : false;

test('a real SP: Apache mod_auth_mellon configured from the metadata; Chromium signs in, the page sees NameID and attributes; SLO both ways', {
  skip: noMellon,
}, async () => {
  const idpMetadata = await (await fetch(`${issuer}/saml/metadata`)).text();
  const mellon = await startMellon({ keys: await spKeys('mellon'), idpMetadataXml: idpMetadata });
  const browser = await launch();
  try {
    // The profile from the SP's metadata URL (fetched through the outbound rules), attributes added.
    const created = await gh.api('POST', '/tenants/default/apps', {
      name: 'mellon',
      displayName: 'Mellon Intranet',
      type: 'saml',
      saml: {
        metadataUrl: mellon.metadataUrl,
        attributes: [
          { name: 'mail', attribute: 'email' },
          { name: 'site', value: 'St. Mary' },
        ],
      },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.saml.entityId, mellon.entityId);
    assert.equal(created.body.saml.acs[0].url, `${mellon.base}/mellon/postResponse`);
    assert.equal(created.body.saml.sloBackchannelUrl, `${mellon.base}/mellon/logout`);
    assert.equal(created.body.saml.requireSignedRequests, true, 'mellon signs its requests; its metadata says so');
    await gh.api('PUT', `/tenants/default/apps/${created.body.clientId}/deployment`, { all: true });

    const page = await (await browser.newContext()).newPage();
    const signIn = async () => {
      await page.goto(`${mellon.base}/protected/`);
      await page.waitForURL((u) => u.href.startsWith(issuer));
      await fillSignIn(page, alice);
      await page.waitForURL((u) => u.pathname !== '/mellon/postResponse' || true);
      await waitFor(async () => page.url() === `${mellon.base}/protected/` || page.url().includes('/mellon/postResponse'), { what: 'the SP' });
      if (page.url().includes('postResponse'))
        await page.waitForURL(`${mellon.base}/protected/`, { timeout: 5000 }).catch(() => {
          throw new Error(
            `mellon refused the response: ${mellon
              .errorLog()
              .split('\n')
              .filter((l) => !/loaded IdP|reconstruct_url|have_paos/.test(l))
              .slice(-25)
              .join('\n')}`,
          );
        });
    };
    await signIn();
    assert.equal(await page.locator('#mail').textContent(), alice.email, mellon.errorLog().slice(-3000));
    assert.match((await page.locator('#nameid').textContent())!, /^_[0-9a-f]{40}$/, "transient, as mellon's metadata asks");
    assert.equal(await page.locator('#site').textContent(), 'St. Mary');

    // SLO from the SP: mellon's logout ends the Gatehouse session too.
    await page.goto(`${mellon.base}/mellon/logout?ReturnTo=${encodeURIComponent(`${mellon.base}/index.html`)}`);
    await page.waitForURL(`${mellon.base}/index.html`);
    await page.goto(`${issuer}/launcher`);
    await page.getByLabel('Email').waitFor();
    const soapSoFar = (await gh.api('GET', '/tenants/default/audit?type=saml.logout')).body.items.filter(
      (e: { data: { initiatedBy: string; clientId: string } }) => e.data.initiatedBy === 'idp' && e.data.clientId === created.body.clientId,
    );
    assert.deepEqual(soapSoFar, [], 'the SP that asked is answered, not sent a LogoutRequest of its own');
    await page.goto(`${mellon.base}/protected/`);
    await page.waitForURL((u) => u.href.startsWith(issuer));
    await page.getByLabel('Email').waitFor();

    // With the assertion encrypted to mellon's certificate (lasso decrypts AES-256-GCM / RSA-OAEP).
    assert.equal((await gh.api('PATCH', `/tenants/default/apps/${created.body.clientId}`, { saml: { encryptAssertion: true } })).status, 200);
    await fillSignIn(page, alice);
    await page.waitForURL(`${mellon.base}/protected/`);
    assert.equal(await page.locator('#mail').textContent(), alice.email, mellon.errorLog().slice(-3000));

    // SLO from Gatehouse: signing out of Gatehouse logs the user out of mellon (SOAP, server to server).
    await page.goto(`${issuer}/session/end`);
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.getByText('You are signed out').waitFor();
    await waitFor(
      async () =>
        (await gh.api('GET', '/tenants/default/audit?type=saml.logout')).body.items.some(
          (e: { data: { initiatedBy: string; clientId: string } }) => e.data.initiatedBy === 'idp' && e.data.clientId === created.body.clientId,
        ),
      { what: 'the SOAP logout to mellon' },
    );
    const events = (await gh.api('GET', '/tenants/default/audit?type=saml.logout')).body.items;
    const soap = events.find((e: { data: { initiatedBy: string } }) => e.data.initiatedBy === 'idp');
    assert.equal(soap.level, 'info', JSON.stringify(soap) + mellon.errorLog().slice(-3000));
    await page.goto(`${mellon.base}/protected/`);
    await page.waitForURL((u) => u.href.startsWith(issuer));

    // Front-channel SLO from Gatehouse: without its SOAP service, mellon is told through the
    // browser (HTTP-Redirect LogoutRequest), answers back to Gatehouse, and the sign-out ends
    // on the signed-out page.
    const frontOnly = await gh.api('PATCH', `/tenants/default/apps/${created.body.clientId}`, { saml: { sloBackchannelUrl: null } });
    assert.equal(frontOnly.status, 200, JSON.stringify(frontOnly.body));
    assert.deepEqual(frontOnly.body.saml.slo, { url: `${mellon.base}/mellon/logout`, binding: 'redirect' });
    await fillSignIn(page, alice);
    await page.waitForURL(`${mellon.base}/protected/`);
    await page.goto(`${issuer}/session/end`);
    const through: string[] = [];
    page.on('request', (r) => {
      if (r.isNavigationRequest()) through.push(r.url());
    });
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.getByText('You are signed out').waitFor();
    assert.ok(
      through.some((u) => u.startsWith(`${mellon.base}/mellon/logout?SAMLRequest=`)),
      `the browser went through mellon's SLO endpoint: ${through.join(' ')}`,
    );
    assert.ok(
      through.some((u) => u.startsWith(`${issuer}/saml/slo?SAMLResponse=`)),
      'and mellon answered back to Gatehouse',
    );
    const front = (await gh.api('GET', '/tenants/default/audit?type=saml.logout')).body.items.find(
      (e: { data: { binding?: string } }) => e.data.binding === 'redirect',
    );
    assert.ok(front, 'the front-channel logout is audited');
    await page.goto(`${mellon.base}/protected/`);
    await page
      .waitForURL((u) => u.href.startsWith(issuer), { timeout: 5000 })
      .catch(() => {
        throw new Error(`mellon still has a session: ${mellon.errorLog().split('\n').slice(-25).join('\n')}`);
      });
    await page.getByLabel('Email').waitFor();
  } finally {
    await browser.close();
    await mellon.stop();
  }
});

test('console: a superadmin adds a SAML application by its entity ID and ACS URL, with an attribute, and sees the IdP addresses', {
  skip: haveChromium() ? false : 'Chromium is not installed',
}, async () => {
  const browser = await launch();
  try {
    const page = await (await browser.newContext()).newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${gh.base}/console`);
    await fillSignIn(page, ADMIN);
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
    await page.goto(`${gh.base}/t/default/console/apps/new/saml`);
    await page.getByLabel('Profile name').fill('pacs');
    await page.getByLabel('User-friendly name').fill('PACS Viewer');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByText('Give the SP entity ID').waitFor();
    await page.getByLabel('SP entity ID').fill('https://pacs.example.test/sp');
    await page.getByLabel('Assertion Consumer Service URLs (HTTP-POST)').fill('https://pacs.example.test/acs');
    await page.getByRole('button', { name: 'Add an attribute' }).click();
    await page.getByLabel('Attribute name').fill('mail');
    await page.getByLabel('Value from').selectOption('attribute');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'PACS Viewer' }).waitFor();
    await page.getByText(`${issuer}/saml/metadata`).first().waitFor();
    const list = (await gh.api('GET', '/tenants/default/apps?search=pacs')).body.items;
    assert.equal(list.length, 1);
    assert.equal(list[0].saml.entityId, 'https://pacs.example.test/sp');
    assert.deepEqual(list[0].saml.attributes, [{ name: 'mail', attribute: 'email' }]);
    assert.equal(list[0].saml.nameIdFormat, 'email');
    if (process.env.SAML_SCREENSHOT) await page.screenshot({ path: process.env.SAML_SCREENSHOT, fullPage: true });
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test('a second SP implementation (samlify): signed AuthnRequest, persistent NameID, attributes, from its own metadata; encrypted assertions, signed three ways', async () => {
  const samlify = await import('samlify');
  // samlify refuses to parse without an XML schema validator; Gatehouse's answers are checked by its signature and decryption rules here.
  samlify.setSchemaValidator({ validate: async () => 'skipped' });
  const keys = await spKeys('samlify SP');
  const acs = 'https://samlify.example.test/acs';
  const sp2 = samlify.ServiceProvider({
    entityID: 'https://samlify.example.test/metadata',
    authnRequestsSigned: true,
    wantAssertionsSigned: true,
    isAssertionEncrypted: false,
    privateKey: keys.keyPem,
    signingCert: keys.certPem,
    encPrivateKey: keys.keyPem,
    encryptCert: keys.certPem,
    requestSignatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
    nameIDFormat: ['urn:oasis:names:tc:SAML:2.0:nameid-format:persistent'],
    assertionConsumerService: [{ Binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST', Location: acs }],
  });
  const created = await gh.api('POST', '/tenants/default/apps', {
    name: 'samlify',
    displayName: 'samlify SP',
    type: 'saml',
    saml: { metadataXml: sp2.getMetadata(), attributes: [{ name: 'mail', attribute: 'email' }] },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.equal(created.body.saml.nameIdFormat, 'persistent');
  assert.equal(created.body.saml.requireSignedRequests, true);
  await gh.api('PUT', `/tenants/default/apps/${created.body.clientId}/deployment`, { all: true });
  // The tenant's metadata says WantAuthnRequestsSigned="false" (whether requests must be signed is
  // each SP profile's setting); samlify signs only for an IdP that wants it.
  const idp = samlify.IdentityProvider({
    metadata: (await (await fetch(`${issuer}/saml/metadata`)).text()).replace('WantAuthnRequestsSigned="false"', 'WantAuthnRequestsSigned="true"'),
  });

  const { context, id } = sp2.createLoginRequest(idp, 'redirect') as { context: string; id: string };
  assert.match(context, /Signature=/, 'samlify signed its request');
  const r = await samlSignIn(new Agent(), context, alice);
  assert.equal(r.action, acs, JSON.stringify(r));
  const parsed = await sp2.parseLoginResponse(idp, 'post', { body: { SAMLResponse: r.response!, RelayState: r.relayState } });
  const extract = parsed.extract as { nameID: string; attributes: Record<string, string>; response: { inResponseTo: string } };
  assert.equal(extract.response.inResponseTo, id);
  assert.match(extract.nameID, /^[A-Za-z0-9_-]{43}$/, 'persistent and opaque');
  assert.equal(extract.attributes.mail, alice.email);

  // Encrypted: the same SP expecting the assertion encrypted to its certificate.
  const sp2enc = samlify.ServiceProvider({ ...sp2.entitySetting, isAssertionEncrypted: true } as Parameters<typeof samlify.ServiceProvider>[0]);
  // samlify reads whether to decrypt from the IdP object's setting (flow.js: from.entitySetting
  // .isAssertionEncrypted), not the SP's: without it, it looks for a clear Assertion, finds no
  // Issuer and says ERR_UNMATCH_ISSUER (or FAILED_TO_VERIFY_SIGNATURE when only the encrypted
  // assertion is signed) — the errors issue 18 first met, not a fault of the document.
  const idpEnc = samlify.IdentityProvider({
    metadata: (await (await fetch(`${issuer}/saml/metadata`)).text()).replace('WantAuthnRequestsSigned="false"', 'WantAuthnRequestsSigned="true"'),
    isAssertionEncrypted: true,
  });
  for (const sign of ['both', 'response', 'assertion'] as const) {
    assert.equal((await gh.api('PATCH', `/tenants/default/apps/${created.body.clientId}`, { saml: { encryptAssertion: true, sign } })).status, 200);
    const req2 = sp2enc.createLoginRequest(idpEnc, 'redirect') as { context: string; id: string };
    const r2 = await samlSignIn(new Agent(), req2.context, alice);
    assert.match(Buffer.from(r2.response!, 'base64').toString(), /EncryptedAssertion/);
    const p2 = await sp2enc.parseLoginResponse(idpEnc, 'post', { body: { SAMLResponse: r2.response!, RelayState: r2.relayState } });
    const e2 = p2.extract as { nameID: string; attributes: Record<string, string>; response: { inResponseTo: string } };
    assert.equal(e2.response.inResponseTo, req2.id, sign);
    assert.equal(e2.nameID, extract.nameID, sign);
    assert.equal(e2.attributes.mail, alice.email, sign);
  }
});

test("an SP certificate expiring within 90 days raises the same overview alert as OIDC apps' registered certificates", async () => {
  const soon = await spKeys('Expiring SP', new Date(Date.now() + 30 * 86400_000));
  const r = await gh.api('POST', '/tenants/default/apps', {
    name: 'expiring',
    displayName: 'Expiring SP',
    type: 'saml',
    saml: { entityId: 'https://expiring.example.test', acs: [{ url: 'https://expiring.example.test/acs' }], certificates: [soon.certPem] },
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.certificateExpiresSoon, true);
  const overview = await gh.api('GET', '/tenants/default/overview');
  assert.ok(
    overview.body.alerts.some((a: { kind: string; subject?: string }) => a.kind === 'app_certificate_expiring' && a.subject === r.body.clientId),
    JSON.stringify(overview.body.alerts),
  );
  // The certificate goes with a change of certificates.
  const renewed = await gh.api('PATCH', `/tenants/default/apps/${r.body.clientId}`, { saml: { certificates: [sp.certPem] } });
  assert.equal(renewed.body.certificateExpiresSoon, false);
});

test('ForceAuthn: an SP asking for a fresh sign-in gets the password prompt though a session exists', async () => {
  const agent = new Agent();
  const firstSignIn = await samlSignIn(agent, redirectBinding(sso(), 'SAMLRequest', authnRequestXml({ issuer: SP.entityId }).xml), alice);
  const firstInstant = Date.parse(first(checkResponse(firstSignIn.response!, idpCerts[0]!).doc, 'AuthnStatement')!.getAttribute('AuthnInstant')!);
  // Without ForceAuthn the session answers at once; with it, the password is asked again.
  const reused = await samlSignIn(agent, redirectBinding(sso(), 'SAMLRequest', authnRequestXml({ issuer: SP.entityId }).xml));
  assert.ok(reused.response, 'the SSO session answers without a prompt');
  const forced = await samlSignIn(agent, redirectBinding(sso(), 'SAMLRequest', authnRequestXml({ issuer: SP.entityId, forceAuthn: true }).xml));
  assert.equal(forced.response, undefined, 'no assertion without signing in again');
  assert.match(agent.lastBody, /name="(password|email)"/, forced.page);
  const again = await samlSignIn(agent, redirectBinding(sso(), 'SAMLRequest', authnRequestXml({ issuer: SP.entityId, forceAuthn: true }).xml), alice);
  const doc = checkResponse(again.response!, idpCerts[0]!).doc;
  assert.equal(first(doc, 'NameID')!.textContent, alice.email);
  assert.ok(Date.parse(first(doc, 'AuthnStatement')!.getAttribute('AuthnInstant')!) >= firstInstant, 'the AuthnInstant is the new sign-in');
});

test('MFA through SAML: a user whose policy requires TOTP completes the second factor; the assertion carries the MFA class', async () => {
  const carol = { email: 'carol@example.test', password: 'carol-password-1' };
  assert.equal((await gh.api('POST', '/tenants/default/users', { ...carol, givenName: 'Carol', familyName: 'Example' })).status, 201);
  await gh.api('POST', '/tenants/default/groups', { name: 'Surgeons' });
  for (const g of ['Nurses', 'Surgeons']) assert.equal((await gh.api('PUT', `/tenants/default/groups/${g}/members/${carol.email}`)).status, 204);
  // Carol adds an authenticator app on the account page, then her policy requires it.
  const enrol = new Agent();
  const stop = 'https://never.example.test/';
  await enrol.follow(`${issuer}/account`, stop);
  for (let i = 0; i < 3 && /name="email"/.test(enrol.lastBody); i++) {
    const f = enrol.form();
    await enrol.follow(f.action, stop, {
      form: { ...f.fields, email: carol.email, ...(/name="password"/.test(enrol.lastBody) ? { password: carol.password } : {}) },
    });
  }
  await enrol.follow(`${issuer}/account/totp`, stop);
  const secret = /id="totp-secret">([^<]+)</.exec(enrol.lastBody)?.[1]?.replace(/\s+/g, '');
  assert.ok(secret, text(enrol.lastBody).slice(0, 300));
  const ef = enrol.form();
  await enrol.follow(ef.action, stop, { form: { ...ef.fields, code: totpCode(secret) } });
  assert.ok([...enrol.lastBody.matchAll(/<code>([^<]+)<\/code>/g)].length >= 10, text(enrol.lastBody).slice(0, 300));
  const policy = await gh.api('POST', '/tenants/default/policies', {
    name: 'Surgeons need MFA',
    priority: 10,
    targets: [{ type: 'group', ref: 'Surgeons' }],
    settings: { mfa: { required: 'always' } },
  });
  assert.equal(policy.status, 201, JSON.stringify(policy.body));
  try {
    const agent = new Agent();
    const req = authnRequestXml({ issuer: SP.entityId });
    const r = await samlSignIn(agent, redirectBinding(sso(), 'SAMLRequest', req.xml), carol);
    assert.equal(r.response, undefined, 'no assertion after the password alone');
    assert.match(text(agent.lastBody), /Two-step verification/);
    const f = agent.form();
    await agent.follow(f.action, stop, { form: { ...f.fields, code: totpCode(secret, Date.now() + 30_000) } }); // the enrollment's step is spent
    assert.match(agent.lastBody, /name="SAMLResponse"/, text(agent.lastBody).slice(0, 300));
    const done = agent.form();
    assert.equal(done.action, SP.acs);
    const doc = checkResponse(done.fields.SAMLResponse!, idpCerts[0]!).doc;
    assert.equal(doc.documentElement.getAttribute('InResponseTo'), req.id);
    assert.equal(first(doc, 'NameID')!.textContent, carol.email);
    assert.equal(first(doc, 'AuthnContextClassRef')!.textContent, 'https://refeds.org/profile/mfa');
  } finally {
    await gh.api('DELETE', `/tenants/default/policies/${policy.body.id}`);
  }
});

test('front-channel Single Logout by HTTP-POST: signing out of Gatehouse takes the browser through the SP and back; a forged chain is ignored', async () => {
  const POST_SP = { entityId: 'https://post-slo.example.test/metadata', acs: 'https://post-slo.example.test/acs', slo: 'https://post-slo.example.test/slo' };
  const created = await gh.api('POST', '/tenants/default/apps', {
    name: 'post-slo',
    displayName: 'Post SLO SP',
    type: 'saml',
    saml: { entityId: POST_SP.entityId, acs: [{ url: POST_SP.acs }], slo: { url: POST_SP.slo, binding: 'post' } },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.equal((await gh.api('PUT', `/tenants/default/apps/${created.body.clientId}/deployment`, { all: true })).status, 200);
  const agent = new Agent();
  const stop = 'https://never.example.test/';
  const signedIn = await samlSignIn(agent, redirectBinding(sso(), 'SAMLRequest', authnRequestXml({ issuer: POST_SP.entityId }).xml), alice);
  const nameId = first(checkResponse(signedIn.response!, idpCerts[0]!).doc, 'NameID')!.textContent;

  // Sign out at Gatehouse: the session ends, then the browser goes to the SP first.
  await agent.follow(`${issuer}/session/end`, stop);
  const confirm = agent.form();
  const res = await agent.request(confirm.action, { form: { ...confirm.fields, logout: 'yes' } });
  assert.equal(res.status, 303);
  assert.equal(res.headers.get('location'), `${issuer}/saml/slo/next`);
  assert.ok(agent.jar.get('gh_saml_slo'), 'what is left to do travels in a sealed cookie');
  assert.doesNotMatch(agent.jar.get('gh_saml_slo')!, /post-slo|alice/, 'sealed, not readable');
  await agent.follow(`${issuer}/saml/slo/next`, stop);
  assert.equal(agent.lastStatus, 200);
  assert.match(text(agent.lastBody), /Signing you out of Post SLO SP/);
  assert.match(agent.lastBody, /<script src="\/assets\/autosubmit.js"><\/script>/, 'submitted by the asset script (strict CSP: no inline script)');
  assert.match(agent.lastBody, /<button type="submit">/, 'a Continue button without scripts');
  const out = agent.form();
  assert.equal(out.action, POST_SP.slo);
  const lr = checkResponse(out.fields.SAMLRequest!, idpCerts[0]!);
  assert.ok(lr.responseSigned, 'the LogoutRequest is signed');
  assert.equal(lr.doc.documentElement.localName, 'LogoutRequest');
  assert.equal(lr.doc.documentElement.getAttribute('Destination'), POST_SP.slo);
  assert.equal(first(lr.doc, 'NameID')!.textContent, nameId);
  // Signed out of Gatehouse already, before the SP answers.
  const passive = await samlSignIn(agent, redirectBinding(sso(), 'SAMLRequest', authnRequestXml({ issuer: POST_SP.entityId, isPassive: true }).xml));
  assert.match(checkResponse(passive.response!, idpCerts[0]!).xml, /status:NoPassive/, 'the Gatehouse session is over');

  // The SP's LogoutResponse to Gatehouse's SLO service: the last one, so on to the signed-out page.
  const answer = `<samlp:LogoutResponse xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${newId()}" Version="2.0" IssueInstant="${new Date().toISOString()}" Destination="${issuer}/saml/slo" InResponseTo="${lr.doc.documentElement.getAttribute('ID')}"><saml:Issuer>${POST_SP.entityId}</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status></samlp:LogoutResponse>`;
  await agent.follow(`${issuer}/saml/slo`, stop, { form: { SAMLResponse: Buffer.from(answer).toString('base64') } });
  assert.equal(agent.lastStatus, 200);
  assert.match(text(agent.lastBody), /You have signed out of Gatehouse/);
  assert.equal(agent.jar.get('gh_saml_slo'), undefined, 'the chain is cleared at its end');
  const events = (await gh.api('GET', '/tenants/default/audit?type=saml.logout')).body.items;
  const sent = events.find((e: { data: { clientId: string; binding?: string } }) => e.data.clientId === created.body.clientId && e.data.binding === 'post');
  assert.ok(sent, 'the front-channel LogoutRequest is audited');
  assert.doesNotMatch(JSON.stringify(events), /gh_saml_slo|BEGIN|PRIVATE/);

  // A forged or foreign chain cookie is no chain: the plain signed-out page, never a 5xx or a redirect.
  const forged = new Agent();
  forged.jar.set('gh_saml_slo', 'not-a-sealed-value');
  await forged.follow(`${issuer}/saml/slo/next`, stop);
  assert.equal(forged.lastStatus, 200);
  assert.match(text(forged.lastBody), /You have signed out of Gatehouse/);
  forged.jar.set(
    'gh_saml_slo',
    Buffer.from(JSON.stringify({ t: 'x', apps: [], done: 'https://evil.example.test/', exp: Date.now() + 60_000 })).toString('base64url'),
  );
  assert.equal(await forged.follow(`${issuer}/saml/slo/next`, 'https://evil.example.test/'), null, 'no open redirect');
});

test('key rotation: the next key announced in the metadata is the one that signs after a rotation', async () => {
  // The test server's next key was published moments ago: only a forced rotation uses it now
  // (the key lifecycle waits GATEHOUSE_KEY_PUBLISH_DAYS otherwise; test/key-lifecycle.test.ts).
  const rotated = await gh.api('POST', '/tenants/default/keys/rotate', { now: true, force: true });
  assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
  const certs = metadataCertificates(await (await fetch(`${issuer}/saml/metadata`)).text());
  assert.equal(certs[0], idpCerts[1], 'the former next key now signs, first in the metadata');
  assert.equal(certs.length, 2);
  assert.notEqual(certs[1], idpCerts[0], 'a new next key is announced');
  const r = await samlSignIn(new Agent(), redirectBinding(sso(), 'SAMLRequest', authnRequestXml({ issuer: SP.entityId }).xml), alice);
  assert.ok(checkResponse(r.response!, idpCerts[1]!).responseSigned, 'signed with the key SPs already trusted');
  assert.throws(() => checkResponse(r.response!, idpCerts[0]!), /does not verify|signature value .* is incorrect/, 'not with the retired one');
});

test('an SP metadata URL is fetched through the outbound rules: link-local and cloud metadata addresses are refused with a 400 before any connection, nothing is created', async () => {
  const before = (await gh.api('GET', '/tenants/default/apps')).body.items.length;
  for (const metadataUrl of ['https://169.254.169.254/latest/meta-data/', 'https://[fe80::1]/metadata', 'https://100.100.100.200/metadata']) {
    const r = await gh.api('POST', '/tenants/default/apps', { name: `ssrf-${before}`, displayName: 'SSRF', type: 'saml', saml: { metadataUrl } });
    assert.equal(r.status, 400, `${metadataUrl}: ${JSON.stringify(r.body)}`);
    assert.match(r.body.error.message, /Gatehouse never sends requests there/, 'refused by the outbound rules, not by a failed connection');
  }
  assert.equal((await gh.api('GET', '/tenants/default/apps')).body.items.length, before);
});
