// Push approval on Gatehouse's pages (a file, so the CSP can forbid inline scripts).
// Sign-in page: asks every second whether the request sent to the Gatehouse Authenticator was
// answered, counts down, and submits the page's push form as soon as it was (approved, or
// ended: the server then says what happened). Without scripts the page keeps its
// "I approved it, continue" button.
// Account page: waits for the phone to finish adding the authenticator, then moves on.
import { carryRemember } from './remember.js';

const push = document.querySelector('[data-push-status]');
if (push) {
  const form = document.getElementById(push.dataset.pushForm);
  const status = document.getElementById('push-status');
  const button = document.getElementById('push-continue');
  if (button) button.hidden = true;
  let left = Number(push.dataset.seconds) || 30;
  let done = false;
  const submit = () => {
    if (done) return;
    done = true;
    carryRemember(form);
    form.submit();
  };
  // The visible countdown changes every second but is hidden from screen readers; the live
  // region (#push-status, its words in the page's language) speaks at the start (its first
  // text), once at 10 seconds left, and when the request expires: not every second.
  const countdown = document.getElementById('push-countdown');
  const say = (text) => {
    if (status && !done) status.textContent = text;
  };
  const words = (n) => (status ? status.dataset.expiresIn : '{seconds}').replace('{seconds}', String(n));
  let saidTen = left <= 10;
  const tick = setInterval(() => {
    left = Math.max(0, left - 1);
    if (countdown && !done) countdown.textContent = left > 0 ? words(left) : status.dataset.expired;
    if (left > 0 && left <= 10 && !saidTen) {
      saidTen = true;
      say(status.dataset.tenLeft);
    }
    if (left === 0) say(status.dataset.expired);
  }, 1000);
  const poll = async () => {
    try {
      const r = await fetch(push.dataset.pushStatus, { headers: { accept: 'application/json' }, cache: 'no-store' });
      const s = await r.json();
      // Withdrawn: this sign-in ended another way (a code typed here, another tab); the page is
      // already on its way, so nothing is submitted.
      if (s.status === 'withdrawn') {
        clearInterval(tick);
        done = true;
        return;
      }
      if (s.status !== 'pending') {
        clearInterval(tick);
        submit();
        return;
      }
      if (typeof s.secondsLeft === 'number') left = s.secondsLeft;
    } catch {
      // A network hiccup: ask again.
    }
    setTimeout(poll, 1000);
  };
  setTimeout(poll, 1000);
}

const enroll = document.querySelector('[data-enroll-status]');
if (enroll) {
  const poll = async () => {
    try {
      const s = await (await fetch(enroll.dataset.enrollStatus, { headers: { accept: 'application/json' }, cache: 'no-store' })).json();
      if (s.state === 'done') {
        location.assign(enroll.dataset.enrollDone);
        return;
      }
      if (s.state === 'expired') {
        enroll.textContent = 'The setup code expired. Go back to your account and start again.';
        return;
      }
    } catch {
      // ask again
    }
    setTimeout(poll, 1000);
  };
  setTimeout(poll, 1000);
}
