// @cryptr/cryptr-spa-js 1.3.6 (installed as cryptr-spa-js-1.3) uses the
// era-1 flow: signInWithRedirect goes to /t/{tenant}/{locale}/{state}/signin/new,
// and the callback (state, authorization_id, code) is redeemed at
// /api/v1/tenants/{org}/{client_id}/{state}/oauth/signin/client/{authorization_id}/token.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { startServer, setupOrg, nextMail } from '../lib/server.mjs';
import { startSpa } from '../lib/spa.mjs';

const require = createRequire(import.meta.url);
let srv; let org; let spa;
const seen = new Set();
const email = 'margaret@era1.test';

before(async () => {
  srv = await startServer();
  ({ org } = await setupOrg(srv, 'Era One Corp', 'era1.test', email));
  // Before 1.4 the SPA's default PKCE sent standard base64 labelled S256;
  // fixed_pkce selects the RFC 7636 encoding, the only one Gatehouse takes.
  spa = await startSpa(srv, org, require.resolve('cryptr-spa-js-1.3/dist/cryptr-spa-js.umd.js'), { fixed_pkce: true });
});

after(async () => {
  if (spa) await spa.close();
  if (srv) await srv.stop();
});

test('cryptr-spa-js 1.3 without fixed_pkce is refused on its redirect URI', async () => {
  const legacy = await startSpa(srv, org, require.resolve('cryptr-spa-js-1.3/dist/cryptr-spa-js.umd.js'));
  try {
    const { ctx, tab } = await legacy.open();
    await Promise.all([
      tab.waitForURL((u) => u.toString().startsWith(`${legacy.origin}/?error=`)),
      tab.evaluate(() => window.client.signInWithRedirect()),
    ]);
    assert.equal(new URL(tab.url()).searchParams.get('error'), 'invalid_request');
    await ctx.close();
  } finally {
    await legacy.close();
  }
});

test('cryptr-spa-js 1.3 signs in through the era-1 sign-in page and token URL', async () => {
  const { ctx, tab, logs } = await spa.open();
  await Promise.all([
    tab.waitForURL((u) => /\/t\/[^/]+\/en\/[^/]+\/signin\/new\?/.test(u.toString())),
    tab.evaluate(() => window.client.signInWithRedirect()),
  ]);
  await tab.getByLabel('Email address').fill(email);
  await tab.getByRole('button', { name: 'Email me a sign-in link' }).click();
  await tab.getByLabel('6-digit code').waitFor();
  const { link } = await nextMail(srv.mailDir, seen);
  await tab.goto(link);
  await Promise.all([
    tab.waitForURL((u) => u.toString().startsWith(`${spa.origin}/?`)),
    tab.getByRole('button', { name: 'Sign in' }).click(),
  ]);
  const back = new URL(tab.url());
  for (const k of ['state', 'authorization_id', 'code']) assert.ok(back.searchParams.get(k), k);
  assert.equal(back.searchParams.get('request_id'), null);
  await tab.waitForFunction(() => window.result !== undefined);
  const result = await tab.evaluate(() => window.result);
  assert.equal(result.error, undefined, `${result.error}\n${logs.join('\n')}`);
  assert.equal(result.valid, true, `${result.errors}\n${logs.join('\n')}`);
  assert.equal(result.user.email, email);
  assert.ok(logs.some((l) => /\/oauth\/signin\/client\/[^/]+\/token 200/.test(l)), logs.join('\n'));
  await ctx.close();
});
