// Every user-visible string of the self-service mail and pages, by the shape its callers use,
// each read from the message catalogs (src/i18n) when it is used: a page gets the request's
// language, a mail the recipient's (service.ts runs its composition in `inLocale`).
import { t } from '../i18n/index.ts';

export const messages = {
  mail: {
    footer: (tenant: string) => t('mail.footer', { tenant }),
    test: {
      subject: (tenant: string) => t('mail.test.subject', { tenant }),
      body: (tenant: string, by: string) => t('mail.test.body', { tenant, by }),
    },
    reset: {
      subject: (tenant: string) => t('mail.reset.subject', { tenant }),
      get intro() {
        return t('mail.reset.intro');
      },
      get action() {
        return t('mail.reset.action');
      },
      get ignore() {
        return t('mail.reset.ignore');
      },
    },
    changed: {
      subject: (tenant: string) => t('mail.changed.subject', { tenant }),
      body: (when: string) => t('mail.changed.body', { when }),
      get notYou() {
        return t('mail.changed.notYou');
      },
    },
    verify: {
      subject: (tenant: string) => t('mail.verify.subject', { tenant }),
      get intro() {
        return t('mail.verify.intro');
      },
      get action() {
        return t('mail.verify.action');
      },
      get ignore() {
        return t('mail.verify.ignore');
      },
    },
  },
  pages: {
    get forgotLink() {
      return t('forgot.link');
    },
    forgot: {
      get title() {
        return t('forgot.title');
      },
      get intro() {
        return t('forgot.intro');
      },
      get label() {
        return t('forgot.label');
      },
      get button() {
        return t('forgot.button');
      },
      get sentTitle() {
        return t('forgot.sentTitle');
      },
      get sent() {
        return t('forgot.sent');
      },
      get sentDetail() {
        return t('forgot.sentDetail');
      },
      get back() {
        return t('forgot.back');
      },
    },
    reset: {
      get title() {
        return t('newPassword.title');
      },
      // Not a number formatted for the language: the same digits the field's minlength says.
      rules: (min: number) => t('newPassword.rules', { min: String(min) }),
      get newLabel() {
        return t('newPassword.newLabel');
      },
      get confirmLabel() {
        return t('newPassword.confirmLabel');
      },
      get mismatch() {
        return t('newPassword.mismatch');
      },
      get button() {
        return t('newPassword.button');
      },
      get doneTitle() {
        return t('newPassword.doneTitle');
      },
      get done() {
        return t('newPassword.done');
      },
      get doneDetail() {
        return t('newPassword.doneDetail');
      },
      get linkTitle() {
        return t('link.unusable');
      },
    },
    verify: {
      get title() {
        return t('verify.title');
      },
      get intro() {
        return t('verify.intro');
      },
      get button() {
        return t('verify.button');
      },
      get doneTitle() {
        return t('verify.doneTitle');
      },
      get done() {
        return t('verify.done');
      },
      get linkTitle() {
        return t('link.unusable');
      },
    },
    account: {
      get passwordHeading() {
        return t('account.password.heading');
      },
      get currentLabel() {
        return t('account.password.current');
      },
      get changeButton() {
        return t('account.password.change');
      },
      get changed() {
        return t('account.password.changed');
      },
      get directory() {
        return t('account.password.directory');
      },
      get directoryWhere() {
        return t('account.password.directoryWhere');
      },
      upstream: (name: string) => t('account.password.upstream', { name }),
      upstreamLink: (name: string) => t('account.password.upstreamLink', { name }),
      get emailHeading() {
        return t('account.email.heading');
      },
      get verified() {
        return t('account.email.verified');
      },
      get unverified() {
        return t('account.email.unverified');
      },
      get sendVerification() {
        return t('account.email.send');
      },
      verificationSent: (email: string) => t('account.email.sent', { email }),
    },
    get required() {
      return t('newPassword.required');
    },
    unknownTenant: (slug: string) => t('error.unknownOrg.message', { slug }),
  },
  password: {
    tooShort: (min: number) => t('newPassword.tooShort', { min: String(min) }),
    tooLong: (max: number) => t('newPassword.tooLong', { max: String(max) }),
    get common() {
      return t('newPassword.common');
    },
    get personal() {
      return t('newPassword.personal');
    },
    get sameAsOld() {
      return t('newPassword.sameAsOld');
    },
  },
};
