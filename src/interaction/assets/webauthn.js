// Passkeys on Gatehouse's pages (a file, so the CSP can forbid inline scripts). A form with
// data-webauthn="create" or "get" carries the options as JSON in a <script type="application/json">
// element; the browser's own JSON helpers (WebAuthn level 3) turn them into a call, and the
// result goes back in the form's "credential" field.
import { carryRemember } from './remember.js';

for (const form of document.querySelectorAll('form[data-webauthn]')) {
  const button = form.querySelector('button');
  const status = form.querySelector('[data-webauthn-status]');
  const options = JSON.parse(document.getElementById(form.dataset.options).textContent);
  button.hidden = false;
  button.addEventListener('click', async (e) => {
    e.preventDefault();
    try {
      const credential =
        form.dataset.webauthn === 'create'
          ? await navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options) })
          : await navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options) });
      form.elements.credential.value = JSON.stringify(credential.toJSON());
      carryRemember(form); // the second-factor page's "Remember this device"
      form.submit();
    } catch (err) {
      // The words come from the page (data-not-used, in its language); {reason} is the browser's error name.
      const words = form.dataset.notUsed || 'The passkey was not used ({reason}). Try again, or use another way.';
      if (status) status.textContent = words.replace('{reason}', err?.name || 'cancelled');
    }
  });
}
