// Authentication context classes (acr) and how a sign-in answers an app's request for them
// (OpenID Connect Core 3.1.2.1 acr_values, 5.5.1.1 the acr claim). Pure rules: the engine
// check (oidc/engine.ts) and the sign-in pages (interaction/steps/) both ask here.
//
// A request lists acceptable classes in order of preference. The sign-in must satisfy one of
// them; the tokens' acr is the best one it satisfies; a second factor is asked for only when
// no listed class can be satisfied without it. acr_values are voluntary (an unmet list still
// signs in, with the session's own class); an essential acr claim (the claims parameter) is
// enforced.

export const ACR_PWD = 'urn:gatehouse:loa:pwd';
export const ACR_MFA = 'urn:gatehouse:loa:mfa';
export const ACR_FED = 'urn:gatehouse:loa:fed';
export const ACR_FED_MFA = 'urn:gatehouse:loa:fed-mfa';
/** acr_values_supported, in discovery. */
export const ACR_VALUES = [ACR_PWD, ACR_MFA, ACR_FED, ACR_FED_MFA];

/**
 * What each class asserts about a sign-in. pwd: someone signed in (any way); mfa: with a
 * second factor (here, or at an upstream directory); fed: at an upstream directory; fed-mfa:
 * both. A sign-in satisfies a class when it has everything the class asserts.
 */
const ASSERTS: Record<string, { mfa: boolean; fed: boolean }> = {
  [ACR_PWD]: { mfa: false, fed: false },
  [ACR_MFA]: { mfa: true, fed: false },
  [ACR_FED]: { mfa: false, fed: true },
  [ACR_FED_MFA]: { mfa: true, fed: true },
};
const weight = (acr: string) => Number(ASSERTS[acr]!.mfa) + Number(ASSERTS[acr]!.fed);

/** Does a sign-in of class `signedIn` satisfy the requested class? (Unknown classes satisfy and are satisfied by nothing.) */
export function satisfies(signedIn: string | undefined, requested: string): boolean {
  const have = signedIn === undefined ? undefined : ASSERTS[signedIn];
  const want = ASSERTS[requested];
  if (!have || !want) return false;
  return (have.mfa || !want.mfa) && (have.fed || !want.fed);
}

/** Did this sign-in include a second factor? */
export const hasSecondFactor = (signedIn: string | undefined) => !!signedIn && !!ASSERTS[signedIn]?.mfa;

export interface AcrRequest {
  /** Acceptable classes, most preferred first. */
  values: string[];
  /** An essential acr claim: the sign-in must satisfy one of them. */
  essential: boolean;
  /** Where the app asked: acr_values, or the claims parameter. */
  source: 'acr_values' | 'claims';
}

/**
 * The acr request of an authorization request's parameters: an essential acr claim in the
 * claims parameter (id_token.acr, value or values) first, else acr_values, else a voluntary
 * acr claim. Undefined when the app asked for nothing. Malformed claims are the engine's to
 * refuse (it validates the parameter before any check runs).
 */
export function acrRequestOf(params: { acr_values?: unknown; claims?: unknown }): AcrRequest | undefined {
  let claim: { essential?: unknown; value?: unknown; values?: unknown } | undefined;
  if (typeof params.claims === 'string') {
    try {
      const c = JSON.parse(params.claims) as { id_token?: { acr?: unknown } } | null;
      const acr = c && typeof c === 'object' ? c.id_token?.acr : undefined;
      if (acr && typeof acr === 'object') claim = acr;
    } catch {
      /* the engine answers invalid_request */
    }
  }
  const claimValues = claim
    ? Array.isArray(claim.values)
      ? claim.values.filter((v): v is string => typeof v === 'string')
      : typeof claim.value === 'string'
        ? [claim.value]
        : []
    : [];
  if (claim?.essential === true && claimValues.length) return { values: claimValues, essential: true, source: 'claims' };
  const acrValues = typeof params.acr_values === 'string' ? params.acr_values.split(' ').filter(Boolean) : [];
  if (acrValues.length) return { values: acrValues, essential: false, source: 'acr_values' };
  if (claimValues.length) return { values: claimValues, essential: false, source: 'claims' };
  return undefined;
}

/** What is wrong with the claims parameter's id_token.acr request, if anything (the app gets invalid_request). */
export function acrClaimProblem(params: { claims?: unknown }): string | undefined {
  if (typeof params.claims !== 'string') return undefined;
  let acr: unknown;
  try {
    acr = (JSON.parse(params.claims) as { id_token?: { acr?: unknown } } | null)?.id_token?.acr;
  } catch {
    return undefined;
  }
  if (acr === undefined || acr === null) return undefined;
  if (typeof acr !== 'object' || Array.isArray(acr)) return 'claims.id_token.acr must be an object with essential and value or values';
  const { values, value } = acr as { values?: unknown; value?: unknown };
  if (values !== undefined && !(Array.isArray(values) && values.every((v) => typeof v === 'string')))
    return 'claims.id_token.acr.values must be an array of acr values';
  if (value !== undefined && typeof value !== 'string') return 'claims.id_token.acr.value must be a string';
  return undefined;
}

export type AcrOutcome =
  /** Nothing asked: the tokens carry the sign-in's own class. */
  | { kind: 'none' }
  /** A listed class is satisfied: the tokens carry this one (the best satisfied). */
  | { kind: 'satisfied'; acr: string }
  /** None is satisfied, but one would be after a second factor: step up. */
  | { kind: 'step_up' }
  /** None is satisfied, and a second factor would not help (a class this sign-in cannot reach). */
  | { kind: 'unmet' };

/**
 * How a sign-in of class `signedIn` answers the request. The best satisfied class is the most
 * specific one (asserting most: the sign-in's own class when listed), the earlier listed one
 * among equals. A second factor here makes a sign-in of class mfa.
 */
export function decideAcr(signedIn: string | undefined, request: AcrRequest | undefined): AcrOutcome {
  if (!request?.values.length) return { kind: 'none' };
  let best: string | undefined;
  for (const v of request.values) if (satisfies(signedIn, v) && (best === undefined || weight(v) > weight(best))) best = v;
  if (best) return { kind: 'satisfied', acr: best };
  if (!hasSecondFactor(signedIn) && request.values.some((v) => satisfies(ACR_MFA, v))) return { kind: 'step_up' };
  return { kind: 'unmet' };
}

/** Why a sign-in needs a second factor: the app's profile, the user's policy, or the app's request (acr). */
export type MfaCause = 'app' | 'policy' | 'acr_values' | 'acr_claim';

/**
 * The reasons this sign-in must add a second factor, none when it need not (it has one, or
 * nothing asks for it). Named on the "Two-step verification needed" page and in the answer
 * to the app when the user turns back.
 */
export function mfaCauses(o: {
  signedIn: string | undefined;
  request: AcrRequest | undefined;
  appRequiresMfa: boolean;
  policyRequiresMfa: boolean;
}): MfaCause[] {
  if (hasSecondFactor(o.signedIn)) return [];
  const causes: MfaCause[] = [];
  if (o.appRequiresMfa) causes.push('app');
  if (o.policyRequiresMfa) causes.push('policy');
  if (decideAcr(o.signedIn, o.request).kind === 'step_up') causes.push(o.request!.source === 'claims' ? 'acr_claim' : 'acr_values');
  return causes;
}
