// Gatehouse Authenticator: an installable web app that approves Gatehouse sign-ins (push with
// number matching) and shows 6-digit token codes.
//
// Each account added here has an ECDSA P-256 key pair made with WebCrypto as non-extractable:
// the private key can sign but never be read, not even by this script. It and the token-code
// key (an HMAC key, also non-extractable) live in IndexedDB, which stores CryptoKey objects as
// they are. Every request to Gatehouse but the first is a JWS (ES256) signed with that key.
// Requests reach the app over server-sent events while it is open.
const $ = (id) => document.getElementById(id);
const enc = new TextEncoder();
// The page's words, in its language (the server puts them in the page: src/i18n, auth.* keys).
const STRINGS = (() => {
  try {
    return JSON.parse($('strings').textContent);
  } catch {
    return {};
  }
})();
const tr = (key, vars = {}) => String(STRINGS[key] || key).replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));

// ---- storage ----
function openDb() {
  return new Promise((resolve, reject) => {
    const r = indexedDB.open('gatehouse-authenticator', 1);
    r.onupgradeneeded = () => r.result.createObjectStore('accounts', { keyPath: 'deviceId' });
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}
async function withStore(mode, fn) {
  const db = await openDb();
  return new Promise((resolve, reject) => {
    const tx = db.transaction('accounts', mode);
    const req = fn(tx.objectStore('accounts'));
    tx.oncomplete = () => {
      db.close();
      resolve(req.result);
    };
    tx.onerror = () => {
      db.close();
      reject(tx.error);
    };
  });
}
const listAccounts = () => withStore('readonly', (s) => s.getAll());
const saveAccount = (a) => withStore('readwrite', (s) => s.put(a));
const deleteAccount = (id) => withStore('readwrite', (s) => s.delete(id));

// ---- encodings and signatures ----
const b64u = (buf) => {
  let s = '';
  for (const b of new Uint8Array(buf)) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
};
const b64uJson = (v) => b64u(enc.encode(JSON.stringify(v)));

/** A compact JWS: WebCrypto's ECDSA signature (r || s) is exactly the ES256 signature format. */
async function signJws(privateKey, header, payload) {
  const input = b64uJson({ alg: 'ES256', ...header }) + '.' + b64uJson(payload);
  const sig = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, privateKey, enc.encode(input));
  return input + '.' + b64u(sig);
}

function base32(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out = [];
  for (const c of text.replace(/=+$/, '').toUpperCase()) {
    const i = alphabet.indexOf(c);
    if (i < 0) continue;
    value = (value << 5) | i;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 255);
      bits -= 8;
    }
  }
  return new Uint8Array(out);
}

/** RFC 6238 token code: HMAC-SHA1 over the 30-second step, 6 digits. */
async function tokenCode(key, now = Date.now()) {
  const step = Math.floor(now / 30000);
  const msg = new DataView(new ArrayBuffer(8));
  msg.setUint32(0, Math.floor(step / 2 ** 32));
  msg.setUint32(4, step >>> 0);
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, msg.buffer));
  const o = mac[19] & 15;
  const n = ((mac[o] & 127) << 24) | (mac[o + 1] << 16) | (mac[o + 2] << 8) | mac[o + 3];
  return String(n % 1000000).padStart(6, '0');
}

async function post(url, body) {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw Object.assign(new Error(data.error?.message || 'Gatehouse answered ' + r.status + '.'), { status: r.status });
  return data;
}

// ---- page helpers ----
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') el.className = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== false) el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children) if (c !== null && c !== undefined) el.append(c);
  return el;
}
/** Says something to screen readers once (the live region is empty otherwise). */
function announce(text) {
  const a = $('announce');
  if (a) a.textContent = text;
}
/** A message whose placeholders are elements (a <strong> name): text pieces and the elements, in order. */
function withStrong(text, parts) {
  const out = [];
  let last = 0;
  for (const m of text.matchAll(/\{(\w+)\}/g)) {
    out.push(text.slice(last, m.index), parts[m[1]] ?? m[0]);
    last = m.index + m[0].length;
  }
  out.push(text.slice(last));
  return out;
}
function say(text, error = false) {
  const m = $('message');
  m.textContent = text;
  m.className = error ? 'error' : 'notice';
  m.hidden = !text;
}
function deviceName() {
  const ua = navigator.userAgent;
  const os = /Android/.test(ua)
    ? 'Android'
    : /iPhone|iPad/.test(ua)
      ? 'iPhone'
      : /Windows/.test(ua)
        ? 'Windows'
        : /Mac OS X/.test(ua)
          ? 'Mac'
          : /Linux/.test(ua)
            ? 'Linux'
            : tr('auth.thisDevice');
  const browser = /Edg\//.test(ua)
    ? 'Edge'
    : /Firefox\//.test(ua)
      ? 'Firefox'
      : /Chrom(e|ium)\//.test(ua)
        ? 'Chrome'
        : /Safari\//.test(ua)
          ? 'Safari'
          : tr('auth.browser');
  return tr('auth.browserOn', { browser, os });
}

// ---- state ----
let accounts = [];
/** deviceId -> { state: 'connecting' | 'connected' | 'removed', es, delay, timer } */
const links = new Map();
/** request id -> { request, account, deadline } */
const requests = new Map();

function renderAccounts() {
  const box = $('accounts');
  box.replaceChildren(
    ...accounts.map((a) => {
      const link = links.get(a.deviceId);
      const state = link ? link.state : 'connecting';
      return h(
        'div',
        { class: 'account', 'data-device': a.deviceId },
        h('p', { class: 'who' }, h('strong', {}, a.email), ' · ', a.organization),
        state === 'removed'
          ? h('p', { class: 'state-off' }, tr('auth.removedFromAccount'))
          : h(
              'p',
              { class: 'hint' },
              tr('auth.tokenCode') + ' ',
              h('span', { class: 'hint', 'data-left': '', 'aria-hidden': 'true' }, ''),
              h(
                'span',
                { class: state === 'connected' ? 'state-ok account-state' : 'account-state' },
                ' · ' + (state === 'connected' ? tr('auth.ready') : tr('auth.connecting')),
              ),
            ),
        state === 'removed' ? null : h('p', { class: 'token-code', 'data-token': a.deviceId }, '······'),
        h('button', { type: 'button', class: 'secondary', onclick: () => removeHere(a) }, tr('auth.removeHere')),
      );
    }),
  );
  $('add').querySelector('h2').textContent = accounts.length ? tr('auth.addAnother') : tr('auth.addAccount');
  void updateCodes();
}

async function updateCodes() {
  const now = Date.now();
  for (const a of accounts) {
    const el = document.querySelector(`[data-token="${CSS.escape(a.deviceId)}"]`);
    if (!el) continue;
    const code = await tokenCode(a.totpKey, now);
    el.textContent = code.slice(0, 3) + ' ' + code.slice(3);
    const left = el.parentElement.querySelector('[data-left]');
    if (left) left.textContent = '(' + (30 - (Math.floor(now / 1000) % 30)) + ' s)';
  }
}

function renderRequests() {
  const box = $('requests');
  const shown = new Set([...box.children].map((c) => c.dataset.request));
  for (const c of [...box.children]) if (!requests.has(c.dataset.request)) c.remove();
  for (const [id, r] of requests) {
    if (shown.has(id)) continue;
    const number = r.request.numberMatching
      ? h('input', { id: 'number-' + id, type: 'text', inputmode: 'numeric', autocomplete: 'off', maxlength: '2' })
      : null;
    const card = h(
      'div',
      { class: 'request', 'data-request': id },
      h('h2', {}, tr('auth.request')),
      h(
        'p',
        {},
        ...withStrong(tr('auth.signingIn'), {
          email: h('strong', { class: 'request-user' }, r.request.email),
          app: h('strong', { class: 'request-app' }, r.request.app),
        }),
      ),
      h(
        'p',
        { class: 'hint' },
        r.account.organization,
        r.request.ip ? ' · ' + tr('auth.from', { ip: r.request.ip }) : '',
        ' · ',
        h('span', { 'data-expires': id, 'aria-hidden': 'true' }, ''),
      ),
      number ? h('label', { for: 'number-' + id }, tr('auth.enterNumber')) : h('p', {}, tr('auth.wasThisYou')),
      number,
      h(
        'div',
        { class: 'actions' },
        h('button', { type: 'button', onclick: () => answer(id, 'approve') }, tr('auth.approve')),
        h('button', { type: 'button', class: 'secondary', onclick: () => answer(id, 'deny') }, tr('auth.deny')),
      ),
    );
    box.append(card);
    if (number) number.focus();
    // Screen readers hear a request once when it arrives and once at 10 seconds left, not the
    // countdown's every second (aria-hidden above).
    announce(tr('auth.announce', { email: r.request.email, app: r.request.app, seconds: Math.max(0, Math.ceil((r.deadline - Date.now()) / 1000)) }));
    notify(r);
  }
  tickRequests();
}

function tickRequests() {
  const now = Date.now();
  for (const [id, r] of requests) {
    const left = Math.ceil((r.deadline - now) / 1000);
    if (left <= 0) {
      requests.delete(id);
      say(tr('auth.requestExpired'), true);
      continue;
    }
    if (left <= 10 && !r.saidTen) {
      r.saidTen = true;
      announce(tr('auth.tenLeft'));
    }
    const el = document.querySelector(`[data-expires="${CSS.escape(id)}"]`);
    if (el) el.textContent = tr('auth.secondsLeft', { seconds: left });
  }
  const box = $('requests');
  for (const c of [...box.children]) if (!requests.has(c.dataset.request)) c.remove();
}

function notify(r) {
  if (!document.hidden || !('Notification' in window) || Notification.permission !== 'granted') return;
  navigator.serviceWorker?.ready
    .then((reg) => reg.showNotification(tr('auth.request'), { body: r.request.email + ' → ' + r.request.app, tag: r.request.id }))
    .catch(() => {});
}

const OUTCOMES = {
  approved: ['auth.outcome.approved', false],
  denied: ['auth.outcome.denied', false],
  wrong_number: ['auth.outcome.wrongNumber', true],
  expired: ['auth.outcome.expired', true],
  withdrawn: ['auth.outcome.withdrawn', false],
};

async function answer(id, decision) {
  const r = requests.get(id);
  if (!r) return;
  const input = $('number-' + id);
  if (decision === 'approve' && input && !/^\d{2}$/.test(input.value.trim())) {
    say(tr('auth.numberMissing'), true);
    input.focus();
    return;
  }
  requests.delete(id);
  renderRequests();
  try {
    const payload = { typ: 'decision', cid: id, decision, ...(input && decision === 'approve' ? { number: input.value.trim() } : {}) };
    const { outcome } = await post(r.account.api + '/decide', { jws: await signJws(r.account.privateKey, { kid: r.account.deviceId }, payload) });
    const [key, error] = OUTCOMES[outcome] || OUTCOMES.expired;
    say(tr(key), error);
  } catch (e) {
    say(e.message, true);
    if (e.status === 401) markRemoved(r.account);
  }
}

// ---- the event stream of each account ----
async function connect(a) {
  let link = links.get(a.deviceId);
  if (!link) links.set(a.deviceId, (link = { state: 'connecting', delay: 1000 }));
  if (link.state === 'removed') return;
  try {
    const { ticket } = await post(a.api + '/ticket', { jws: await signJws(a.privateKey, { kid: a.deviceId }, { typ: 'stream', iat: Date.now() }) });
    const es = new EventSource(a.api + '/events?ticket=' + encodeURIComponent(ticket));
    link.es = es;
    es.addEventListener('requests', (e) => {
      link.delay = 1000;
      if (link.state !== 'connected') {
        link.state = 'connected';
        renderAccounts();
      }
      const list = JSON.parse(e.data);
      const ids = new Set(list.map((x) => x.id));
      for (const [id, r] of requests) if (r.account.deviceId === a.deviceId && !ids.has(id)) requests.delete(id);
      for (const request of list)
        if (!requests.has(request.id)) requests.set(request.id, { request, account: a, deadline: Date.now() + request.secondsLeft * 1000 });
      renderRequests();
    });
    es.addEventListener('revoked', () => {
      es.close();
      markRemoved(a);
    });
    // The ticket is good for a minute: reconnect with a new one rather than let EventSource retry.
    es.onerror = () => {
      es.close();
      retry(a);
    };
  } catch (e) {
    if (e.status === 401) markRemoved(a);
    else retry(a);
  }
}
function retry(a) {
  const link = links.get(a.deviceId);
  if (!link || link.state === 'removed') return;
  if (link.state !== 'connecting') {
    link.state = 'connecting';
    renderAccounts();
  }
  clearTimeout(link.timer);
  link.timer = setTimeout(() => connect(a), link.delay);
  link.delay = Math.min(link.delay * 2, 30000);
}
function markRemoved(a) {
  const link = links.get(a.deviceId) || {};
  link.state = 'removed';
  links.set(a.deviceId, link);
  for (const [id, r] of requests) if (r.account.deviceId === a.deviceId) requests.delete(id);
  renderRequests();
  renderAccounts();
}

async function removeHere(a) {
  const link = links.get(a.deviceId);
  if (link) {
    link.state = 'removed';
    link.es?.close();
    clearTimeout(link.timer);
  }
  links.delete(a.deviceId);
  await deleteAccount(a.deviceId);
  accounts = accounts.filter((x) => x.deviceId !== a.deviceId);
  renderAccounts();
  say(tr('auth.removed', { email: a.email }));
}

// ---- adding an account ----
async function enroll(slug, code, name) {
  say(tr('auth.adding'));
  const keys = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
  const jwk = await crypto.subtle.exportKey('jwk', keys.publicKey); // a public key is always exportable
  const api = location.origin + '/t/' + encodeURIComponent(slug) + '/authenticator/api';
  const proof = await signJws(keys.privateKey, {}, { typ: 'enroll', code });
  const r = await post(api + '/enroll', { code, name, publicKey: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }, proof });
  const totpKey = await crypto.subtle.importKey('raw', base32(r.totpSecret), { name: 'HMAC', hash: 'SHA-1' }, false, ['sign']);
  const account = {
    deviceId: r.deviceId,
    api,
    slug,
    email: r.email,
    organization: r.organization,
    label: r.label,
    privateKey: keys.privateKey,
    totpKey,
    addedAt: Date.now(),
  };
  await saveAccount(account);
  accounts.push(account);
  renderAccounts();
  say(tr('auth.added', { email: r.email, organization: r.organization }));
  void connect(account);
}

function parseSetup(text) {
  const m = /^\s*([a-z0-9-]{1,40})\s*\/\s*([A-Za-z0-9-]{4,64})\s*$/.exec(text);
  return m ? { slug: m[1], code: m[2] } : undefined;
}

async function start() {
  if (!window.crypto || !crypto.subtle || !window.indexedDB) {
    say(tr('auth.noCrypto'), true);
    return;
  }
  navigator.serviceWorker?.register('sw.js').catch(() => {
    /* works without; only offline start needs it */
  });
  $('device-name').value = deviceName();
  accounts = await listAccounts();
  renderAccounts();
  for (const a of accounts) void connect(a);
  setInterval(() => {
    void updateCodes();
    tickRequests();
  }, 1000);

  if ('Notification' in window && Notification.permission === 'default') {
    const b = $('notify');
    b.hidden = false;
    b.addEventListener('click', () =>
      Notification.requestPermission().then(() => {
        b.hidden = true;
      }),
    );
  }

  $('add-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const s = parseSetup($('setup-code').value);
    if (!s) {
      say(tr('auth.setupCodeInvalid'), true);
      return;
    }
    enroll(s.slug, s.code, $('device-name').value.trim() || deviceName()).then(
      () => {
        $('setup-code').value = '';
      },
      (err) => say(err.message, true),
    );
  });

  // A setup link opened while the app is already open in this tab changes only the fragment
  // (no new page load): it enrolls too.
  window.addEventListener('hashchange', () => {
    void enrollFromAddress();
  });
  await enrollFromAddress();
}

/**
 * Opened from the QR code: /authenticator/#enroll=<organization>/<setup code>. The code is
 * taken out of the address at once (it works once; it should not stay in the history).
 */
async function enrollFromAddress() {
  const m = /^#enroll=(.+)$/.exec(location.hash);
  if (!m) return;
  history.replaceState(null, '', location.pathname);
  let text = '';
  try {
    text = decodeURIComponent(m[1]);
  } catch {
    /* a broken link: said below */
  }
  const s = parseSetup(text);
  if (s) await enroll(s.slug, s.code, deviceName()).catch((err) => say(err.message, true));
  else say(tr('auth.setupLinkBroken'), true);
}

start().catch((e) => say(tr('auth.startFailed', { message: e.message }), true));
