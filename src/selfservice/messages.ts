// Every user-visible English string of the self-service mail and pages in one place, so the
// language work (issue 17 point 5) can move them into message catalogs as they are.
export const messages = {
  mail: {
    footer: (tenant: string) => `This message was sent by ${tenant}'s sign-in service. If you did not expect it, you can ignore it.`,
    test: {
      subject: (tenant: string) => `Test message from ${tenant}`,
      body: (tenant: string, by: string) => `This is a test message from ${tenant}'s sign-in service, sent by ${by}. Mail from Gatehouse reaches this address.`,
    },
    reset: {
      subject: (tenant: string) => `Reset your ${tenant} password`,
      intro: 'Someone (hopefully you) asked to reset the password of your account. Follow this link within 15 minutes to choose a new password:',
      action: 'Choose a new password',
      ignore: 'If you did not ask for this, ignore this message: your password stays as it is. The link works once.',
    },
    changed: {
      subject: (tenant: string) => `Your ${tenant} password was changed`,
      body: (when: string) => `The password of your account was changed on ${when}. Every other session of your account was signed out.`,
      notYou: 'If you did not do this, contact your IT helpdesk at once.',
    },
    verify: {
      subject: (tenant: string) => `Confirm your email address for ${tenant}`,
      intro: 'Follow this link within 24 hours to confirm that this email address is yours:',
      action: 'Confirm my email address',
      ignore: 'If you did not ask for this, ignore this message.',
    },
  },
  pages: {
    forgotLink: 'Forgot your password?',
    forgot: {
      title: 'Reset your password',
      intro:
        'Enter the email address or username of your account. If it has a password Gatehouse keeps, we send a link to its email address to choose a new one.',
      label: 'Email or username',
      button: 'Send reset link',
      sentTitle: 'Check your email',
      sent: 'If the account exists and its password can be reset here, a link to choose a new password is on its way to its email address. The link works once, for 15 minutes.',
      sentDetail:
        "No email after a few minutes? Check your spam folder, or ask for a new link. If your organization's directory keeps your password, change it there (ask your IT helpdesk).",
      back: 'Back to sign-in',
    },
    reset: {
      title: 'Choose a new password',
      rules: (min: number) => `At least ${min} characters; not a common password; not your email address or username. A few words make a good passphrase.`,
      newLabel: 'New password',
      confirmLabel: 'Type the new password again',
      mismatch: 'The two passwords are not the same. Type them again.',
      button: 'Save new password',
      doneTitle: 'Password changed',
      done: 'Your new password is saved. Every other session of your account was signed out, and we sent you an email about the change.',
      doneDetail: 'Sign in to your applications with the new password.',
      linkTitle: 'Link not usable',
    },
    verify: {
      title: 'Confirm your email address',
      intro: 'Confirm that this email address belongs to you:',
      button: 'Confirm',
      doneTitle: 'Email address confirmed',
      done: 'Thank you: your email address is confirmed.',
      linkTitle: 'Link not usable',
    },
    account: {
      passwordHeading: 'Password',
      currentLabel: 'Current password',
      changeButton: 'Change password',
      changed: 'Your password is changed. You were signed out everywhere else, and we sent you an email about the change.',
      directory: "Your password is managed by your organization's directory; change it there.",
      directoryWhere: 'Where to change it:',
      upstream: (name: string) => `Your password is kept by ${name}, which signs you in; change it there.`,
      upstreamLink: (name: string) => `Go to ${name}`,
      emailHeading: 'Email address',
      verified: 'Your email address is confirmed.',
      unverified: 'Your email address is not confirmed yet. Applications may ask for a confirmed address.',
      sendVerification: 'Send verification email',
      verificationSent: (email: string) => `We sent a confirmation link to ${email}. Follow it within 24 hours.`,
    },
    required: 'Your administrator asks you to choose a new password before you continue.',
    unknownTenant: (slug: string) => `There is no organization "${slug}" on this Gatehouse.`,
  },
  password: {
    tooShort: (min: number) => `The password must be at least ${min} characters long. Choose a longer one (a few words make a good passphrase).`,
    tooLong: (max: number) => `The password can be at most ${max} characters long.`,
    common: 'This password is one of the most common passwords, which attackers try first. Choose a different one.',
    personal: 'The password must not be your email address or username. Choose a different one.',
    sameAsOld: 'The new password must be different from the current one.',
  },
} as const;
