// One test per assumption Gatehouse makes about oidc-provider's internals (src/oidc/internals/).
// Each runs against the installed engine and, if an upgrade breaks it, fails with a message
// naming the assumption and the file that relies on it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import Provider from 'oidc-provider';
import { CookieKeys } from '../src/shared/crypto.ts';
import { engineCookieKeys, isConsumed, issueAcr, withSharedContextGetter } from '../src/oidc/internals/index.ts';

const broke = (name: string, file: string) => `engine assumption broken: ${name} (src/oidc/internals/${file}); see src/oidc/internals/README.md`;
const client = { client_id: 'rp', client_secret: 'rp-secret-0123456789', redirect_uris: ['https://rp.test/cb'], backchannel_logout_uri: 'https://rp.test/bcl' };

function engine(extra: Record<string, unknown> = {}): Provider {
  return new Provider('http://127.0.0.1/issuer', { clients: [client], features: { backchannelLogout: { enabled: true } }, ...extra } as never);
}

async function serve(handler: http.RequestListener, path: string): Promise<Response> {
  const server = http.createServer(handler).listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    return await fetch(`http://127.0.0.1:${(server.address() as { port: number }).port}${path}`, { redirect: 'manual' });
  } finally {
    server.close();
  }
}

test("ctx.oidc getter: the engine defines ctx.oidc with a getter during its handler's synchronous start", async () => {
  const provider = engine();
  let getter: string | undefined;
  provider.use(async (ctx, next) => {
    await next();
    getter = Object.getOwnPropertyDescriptor(ctx, 'oidc')?.get?.name;
  });
  const cb = provider.callback();
  const res = await serve((req, res) => {
    void withSharedContextGetter(() => cb(req, res));
  }, '/.well-known/openid-configuration');
  assert.equal(res.status, 200);
  assert.equal(
    getter,
    'sharedGetter',
    broke('ctx.oidc is defined per request by Object.defineProperty(ctx, "oidc", { get }) inside the handler\'s synchronous start', 'ctx-getter.ts'),
  );
});

test('cookie keys: the engine hands a Keygrip-like cookies.keys object to the cookies library', async () => {
  const secret = 'cookie-secret-0123456789abcdefghij';
  const provider = engine({ cookies: { keys: engineCookieKeys(secret) } });
  provider.use(async (ctx, next) => {
    if (ctx.path === '/set') {
      ctx.cookies.set('probe', 'v', { signed: true });
      ctx.body = 'ok';
      return;
    }
    await next();
  });
  const res = await serve(provider.callback(), '/set');
  const sig = res.headers
    .getSetCookie()
    .find((c) => c.startsWith('probe.sig='))
    ?.split(';')[0]
    ?.slice('probe.sig='.length);
  assert.equal(
    sig,
    new CookieKeys([secret]).sign('probe=v'),
    broke('cookies.keys may be an object with sign/verify/index, passed through to the cookies library', 'cookie-keys.ts'),
  );
});

test('consumed: a consumed authorization code, found again, carries consumed', async () => {
  const provider = engine();
  const c = await provider.Client.find('rp');
  const code = new provider.AuthorizationCode({ client: c!, accountId: 'a', grantId: 'g', redirectUri: 'https://rp.test/cb', scope: 'openid' } as never);
  const value = await code.save();
  const fresh = await provider.AuthorizationCode.find(value);
  assert.equal(isConsumed(fresh!), false, broke('an unconsumed code has no consumed', 'consumed.ts'));
  await fresh!.consume();
  const again = await provider.AuthorizationCode.find(value);
  assert.equal(isConsumed(again!), true, broke('a consumed AuthorizationCode found again carries consumed (epoch seconds)', 'consumed.ts'));
});

test('backchannelLogout: Client#backchannelLogout(sub, sid) exists', async () => {
  const c = await engine().Client.find('rp');
  assert.equal(
    typeof (c as unknown as { backchannelLogout?: unknown }).backchannelLogout,
    'function',
    broke('Client#backchannelLogout(sub, sid) sends the logout token', 'engine-calls.ts'),
  );
});

test('issueAcr: OIDCContext#acr is a prototype getter an own property can shadow for one request', () => {
  const provider = engine();
  const desc = Object.getOwnPropertyDescriptor((provider as unknown as { OIDCContext: { prototype: object } }).OIDCContext.prototype, 'acr');
  assert.equal(typeof desc?.get, 'function', broke('OIDCContext#acr is a getter on the prototype, read when tokens are issued', 'engine-calls.ts'));
  const oidc = Object.create((provider as unknown as { OIDCContext: { prototype: object } }).OIDCContext.prototype) as { acr: string };
  issueAcr({ oidc }, 'urn:test:acr');
  assert.equal(oidc.acr, 'urn:test:acr');
});
