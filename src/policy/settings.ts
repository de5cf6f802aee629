// The fields of a user policy's settings and their defaults, defined once: the policy service
// validates with them (policies.ts) and the admin API answers with them (src/admin/shapes.ts,
// which the console type-checks under browser settings, hence nothing but zod here).
import { z } from 'zod';

/**
 * A policy's settings, given how a trusted network is checked: the policy service passes its
 * CIDR check (policies.ts, which needs node:net), the admin API's response shape a plain string.
 */
export const policySettingsWith = <C extends z.ZodType<string>>(cidr: C) =>
  z.object({
    /** Off: the user cannot sign in to applications. */
    ssoEnabled: z.boolean().default(true),
    mfa: z
      .object({
        required: z.enum(['never', 'always', 'outside_trusted_networks', 'selected_apps']).default('never'),
        trustedNetworks: z.array(cidr).max(100).default([]),
        /** Client IDs, for 'selected_apps'. */
        apps: z.array(z.string().max(128)).max(500).default([]),
      })
      .default({ required: 'never', trustedNetworks: [], apps: [] }),
    /** Second factors users may add and use: authenticator apps, passkeys, the Gatehouse Authenticator. */
    allowedFactors: z
      .array(z.enum(['totp', 'webauthn', 'push']))
      .min(1)
      .default(['totp', 'webauthn', 'push']),
    /** Push approval asks for the 2-digit number shown at sign-in; off: approve or deny only. */
    numberMatching: z.boolean().default(true),
    /** A passkey alone signs in (from the email page), when passkeys are an allowed factor. */
    passwordlessPasskeys: z.boolean().default(false),
    rememberDeviceDays: z.number().int().min(0).max(90).default(0),
    sessionLifetimeMinutes: z.number().int().min(30).max(5760).nullable().default(null),
    /**
     * Smart lockout (interaction/lockout.ts): `threshold` wrong passwords (or codes) in 15 minutes
     * lock the account, for the origins they came from, for `durationMinutes`; each further
     * lockout lasts 5, 15, then 60 times that, never more than `maxDurationMinutes`.
     */
    lockout: z
      .object({
        threshold: z.number().int().min(3).max(50).default(5),
        durationMinutes: z.number().int().min(1).max(1440).default(1),
        maxDurationMinutes: z.number().int().min(1).max(1440).default(60),
      })
      .refine((l) => l.maxDurationMinutes >= l.durationMinutes, {
        message: 'maxDurationMinutes must be at least durationMinutes (the first lockout)',
        path: ['maxDurationMinutes'],
      })
      .default({ threshold: 5, durationMinutes: 1, maxDurationMinutes: 60 }),
  });
