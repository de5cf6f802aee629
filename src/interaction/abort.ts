// What the app is told when the person turns back from a refusal page ("Return to the
// application"): access_denied, with a description that names what really happened, so the
// app's administrator can act on it. Never the user's identity: the app has not learned it.
import type { AcrRequest, MfaCause } from '../policy/acr.ts';

export type AbortReason = 'not_deployed' | 'sso_disabled' | 'account_disabled' | `mfa:${string}`;

const MFA_CAUSE_WORDS = (request: AcrRequest | undefined): Record<MfaCause, string> => ({
  app: "the application's profile in Gatehouse requires it",
  policy: "the user's policy requires it",
  acr_values: `the request's acr_values (${request?.values.join(' ') ?? 'urn:gatehouse:loa:mfa'}) can only be met with it`,
  acr_claim: `the request's essential acr claim (${request?.values.join(' ') ?? 'urn:gatehouse:loa:mfa'}) can only be met with it`,
});

/**
 * The error_description for a reason the refusal page signed, or a neutral one without it
 * (the person left a sign-in page without a refusal). Only characters RFC 6749 allows there.
 */
export function abortDescription(reason: string | undefined, request: AcrRequest | undefined): string {
  if (reason === 'not_deployed') return 'The application is not deployed to the user; an administrator can deploy it to them or to one of their groups.';
  if (reason === 'sso_disabled') return 'Single sign-on is turned off for the user by their policy.';
  if (reason === 'account_disabled') return "The user's account is disabled.";
  if (reason?.startsWith('mfa:')) {
    const words = MFA_CAUSE_WORDS(request);
    const causes = reason
      .slice(4)
      .split(',')
      .filter((c): c is MfaCause => Object.hasOwn(words, c));
    const why = causes.length ? ` (${causes.map((c) => words[c]).join('; ')})` : '';
    return `Two-step verification is needed${why}, and the user has not set it up.`;
  }
  return 'The user did not complete the sign-in.';
}
