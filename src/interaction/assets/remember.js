// "Remember this device" on the second-factor page sits in the code form; an approved push
// and a passkey submit their own forms, so it travels with them as a hidden field (shared by
// push.js and webauthn.js, which import it: module scripts, allowed by the CSP's 'self').
export function carryRemember(form) {
  const remember = document.getElementById('remember');
  if (!remember?.checked || form.elements.remember) return;
  const input = document.createElement('input');
  input.type = 'hidden';
  input.name = 'remember';
  input.value = '1';
  form.appendChild(input);
}
