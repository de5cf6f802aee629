// A minimal user agent for protocol tests: follows redirects by hand with a cookie jar and
// fills Gatehouse's sign-in forms, stopping when it reaches the relying party's redirect URI.
// (Browser tests use real Chromium; this keeps the protocol tests fast.)
export class Agent {
  jar = new Map<string, string>();
  lastStatus = 0;
  lastBody = '';

  #cookieHeader(): string {
    return [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
  }
  #store(res: Response) {
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair!.indexOf('=');
      const name = pair!.slice(0, i).trim();
      const value = pair!.slice(i + 1).trim();
      if (/expires=Thu, 01 Jan 1970/i.test(c) || value === '') this.jar.delete(name);
      else this.jar.set(name, value);
    }
  }

  async request(url: string, init: { method?: string; form?: Record<string, string> } = {}): Promise<Response> {
    const res = await fetch(url, {
      method: init.method ?? (init.form ? 'POST' : 'GET'),
      redirect: 'manual',
      headers: { cookie: this.#cookieHeader(), ...(init.form && { 'content-type': 'application/x-www-form-urlencoded' }) },
      body: init.form ? new URLSearchParams(init.form).toString() : undefined,
    });
    this.#store(res);
    return res;
  }

  /** Follow redirects from `url` until one leaves for `stopPrefix` (returned) or a page renders (null). */
  async follow(url: string, stopPrefix: string, init?: { method?: string; form?: Record<string, string> }): Promise<string | null> {
    let res = await this.request(url, init);
    for (let i = 0; i < 20; i++) {
      const loc = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && loc) {
        const next = new URL(loc, res.url || url).href;
        if (process.env.DEBUG_AGENT) console.log('redirect', res.status, next);
        if (next.startsWith(stopPrefix)) return next;
        url = next;
        res = await this.request(next);
        continue;
      }
      this.lastStatus = res.status;
      this.lastBody = await res.text();
      this.lastUrl = url;
      return null;
    }
    throw new Error('too many redirects');
  }
  lastUrl = '';

  /** The named form fields of the current page's first form, and its absolute action. */
  form(): { action: string; fields: Record<string, string> } {
    const m = /<form[^>]*action="([^"]*)"/.exec(this.lastBody);
    if (!m) throw new Error(`no form on page (status ${this.lastStatus}): ${this.lastBody.slice(0, 300)}`);
    const fields: Record<string, string> = {};
    for (const inp of this.lastBody.matchAll(/<input[^>]*type="hidden"[^>]*>/g)) {
      const name = /name="([^"]*)"/.exec(inp[0])?.[1];
      const value = /value="([^"]*)"/.exec(inp[0])?.[1] ?? '';
      if (name) fields[name] = decode(value);
    }
    return { action: new URL(decode(m[1]!), this.lastUrl).href, fields };
  }

  /** Complete identifier-first + password sign-in starting at an authorization URL. */
  async signIn(authUrl: string, redirectPrefix: string, email: string, password: string): Promise<string> {
    const direct = await this.follow(authUrl, redirectPrefix);
    if (direct) return direct; // SSO: no prompt
    let f = this.form();
    if (await this.follow(f.action, redirectPrefix, { form: { ...f.fields, email } })) throw new Error('unexpected redirect after email');
    f = this.form();
    const done = await this.follow(f.action, redirectPrefix, { form: { ...f.fields, email, password } });
    if (!done) throw new Error(`sign-in did not complete (status ${this.lastStatus}): ${text(this.lastBody).slice(0, 300)}`);
    return done;
  }
}

const decode = (s: string) =>
  s
    .replace(/&#(\d+);/g, (_, n) => String.fromCharCode(Number(n)))
    .replace(/&amp;/g, '&')
    .replace(/&quot;/g, '"');
/** Visible text of an HTML page, for asserting messages. */
export const text = (html: string) =>
  decode(html.replace(/<[^>]+>/g, ' '))
    .replace(/\s+/g, ' ')
    .trim();
