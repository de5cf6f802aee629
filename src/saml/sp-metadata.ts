// An SP's SAML metadata (pasted, uploaded or fetched) to profile settings: entity ID, ACS
// URLs (HTTP-POST), Single Logout, NameID format, certificates, signed-request wish.
import type { Element } from '@xmldom/xmldom';
import { BINDINGS, NAMEID_URNS, type NameIdFormat, type SamlSettings } from './settings.ts';
import { NS, SamlError, child, children, parseXml, textOf } from './xml.ts';

export function settingsFromMetadata(xml: string): Partial<SamlSettings> & { entityId: string } {
  const what = 'The SP metadata';
  let root: Element = parseXml(xml, what).documentElement!;
  if (root.namespaceURI === NS.md && root.localName === 'EntitiesDescriptor') {
    const all = children(root, NS.md, 'EntityDescriptor');
    if (all.length !== 1) throw new SamlError(`${what} describes ${all.length} entities; give the metadata of the one service provider to add.`);
    root = all[0]!;
  }
  if (root.namespaceURI !== NS.md || root.localName !== 'EntityDescriptor') throw new SamlError(`${what} is not SAML metadata (an md:EntityDescriptor).`);
  const entityId = root.getAttribute('entityID');
  if (!entityId) throw new SamlError(`${what} has no entityID.`);
  const sp = child(root, NS.md, 'SPSSODescriptor');
  if (!sp) throw new SamlError(`${what} has no SPSSODescriptor: it is not a service provider's metadata.`);
  const acs = children(sp, NS.md, 'AssertionConsumerService')
    .filter((e) => e.getAttribute('Binding') === BINDINGS.post)
    .map((e, i) => ({ url: e.getAttribute('Location') ?? '', index: Number(e.getAttribute('index') ?? i), isDefault: e.getAttribute('isDefault') === 'true' }))
    .sort((a, b) => Number(b.isDefault) - Number(a.isDefault) || a.index - b.index)
    .map(({ url, index }) => ({ url, index }));
  if (!acs.length) throw new SamlError(`${what} has no AssertionConsumerService with the HTTP-POST binding, the one Gatehouse answers with.`);
  const sloEls = children(sp, NS.md, 'SingleLogoutService');
  const sloEl = sloEls.find((e) => e.getAttribute('Binding') === BINDINGS.redirect) ?? sloEls.find((e) => e.getAttribute('Binding') === BINDINGS.post);
  const slo = sloEl
    ? { url: sloEl.getAttribute('Location') ?? '', binding: sloEl.getAttribute('Binding') === BINDINGS.redirect ? ('redirect' as const) : ('post' as const) }
    : null;
  const soap = sloEls.find((e) => e.getAttribute('Binding') === BINDINGS.soap)?.getAttribute('Location') ?? null;
  const formats = children(sp, NS.md, 'NameIDFormat').map((e) => textOf(e));
  const nameIdFormat = Object.entries(NAMEID_URNS).find(([, urn]) => formats[0] === urn)?.[0] as NameIdFormat | undefined;
  const certificates: string[] = [];
  for (const kd of children(sp, NS.md, 'KeyDescriptor')) {
    const use = kd.getAttribute('use');
    const cert = textOf(child(child(child(kd, NS.ds, 'KeyInfo') ?? kd, NS.ds, 'X509Data') ?? kd, NS.ds, 'X509Certificate'));
    if (!cert) continue;
    if (use && use !== 'signing' && use !== 'encryption') continue;
    const pem = `-----BEGIN CERTIFICATE-----\n${cert
      .replace(/\s+/g, '')
      .match(/.{1,64}/g)!
      .join('\n')}\n-----END CERTIFICATE-----`;
    if (!certificates.includes(pem)) certificates.push(pem);
  }
  return {
    entityId,
    acs,
    slo,
    sloBackchannelUrl: soap,
    certificates,
    ...(nameIdFormat && { nameIdFormat }),
    requireSignedRequests: sp.getAttribute('AuthnRequestsSigned') === 'true',
  };
}
