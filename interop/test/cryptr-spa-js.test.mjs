// @cryptr/cryptr-spa-js 1.x signs a user in through a magic link in
// headless Chromium (Debian chromium driven by playwright-core): the SPA's
// universal gateway sends the browser to the hosted page, the test reads the
// link from the development mailer's directory, confirms it, and the SPA
// exchanges the code, validates the tokens and reports the user.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';
import { startServer, setupOrg, nextMail, freePort } from '../lib/server.mjs';

const require = createRequire(import.meta.url);
const spaBundle = readFileSync(require.resolve('@cryptr/cryptr-spa-js/dist/cryptr-spa-js.umd.js'));

let srv; let org; let app; let web; let browser; let origin;
const seen = new Set();
const email = 'linus@spa.test';

function page(config) {
  return `<!DOCTYPE html><html><head><meta charset="utf-8"><title>spa</title>
<script src="/cryptr-spa-js.umd.js"></script></head><body><pre id="out"></pre>
<script>
const config = ${JSON.stringify(config)};
config.default_redirect_uri = location.origin + '/';
config.audience = location.origin;
const client = new CryptrSpa.client(config);
window.client = client;
(async () => {
  try {
    if (client.canHandleAuthentication()) {
      const res = await client.handleRedirectCallback();
      window.result = { valid: res.valid, errors: JSON.stringify(res.errors || []),
        authenticated: await client.isAuthenticated(), user: client.getUser(),
        access: client.getCurrentAccessToken() };
    }
  } catch (e) { window.result = { error: String(e) }; }
  window.ready = true;
})();
</script></body></html>`;
}

before(async () => {
  srv = await startServer();
  ({ org } = await setupOrg(srv, 'Spa Corp', 'spa.test', email));
  const port = await freePort();
  origin = `http://127.0.0.1:${port}`;
  app = await srv.api('POST', `/api/v2/org/${org.domain}/applications`, {
    name: 'spa', application_type: 'react', allowed_redirect_urls: [`${origin}/`], allowed_origins_cors: [origin],
    allowed_web_origins: [origin], allowed_logout_urls: [`${origin}/`], default_origin_cors: origin,
  });
  const config = { tenant_domain: org.domain, client_id: app.client_id, cryptr_base_url: srv.base,
    default_locale: 'en', default_slo_after_revoke: false, dedicated_server: false };
  web = createServer((req, res) => {
    if (req.url.startsWith('/cryptr-spa-js.umd.js')) {
      res.writeHead(200, { 'content-type': 'text/javascript' });
      res.end(spaBundle);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(page(config));
  });
  await new Promise((r) => web.listen(port, '127.0.0.1', r));
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run'],
  });
});

after(async () => {
  if (browser) await browser.close();
  if (web) await new Promise((r) => web.close(r));
  if (srv) await srv.stop();
});

test('cryptr-spa-js signs in with a magic link', async () => {
  const ctx = await browser.newContext();
  const tab = await ctx.newPage();
  const logs = [];
  tab.on('console', (m) => logs.push(m.text()));
  await tab.goto(`${origin}/`);
  await tab.waitForFunction(() => window.ready === true);
  // The SPA builds the universal-gateway URL (PKCE S256, client_state) and
  // navigates to the hosted login page.
  await Promise.all([
    tab.waitForURL((u) => u.toString().startsWith(`${srv.base}/a/${org.domain}/`)),
    tab.evaluate((d) => window.client.signInWithDomain(d), org.domain),
  ]);
  const url = new URL(tab.url());
  assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
  assert.equal(url.searchParams.get('organization'), org.domain);
  // The hosted page: labelled email field, then "check your email".
  await tab.getByLabel('Email address').fill(email);
  await tab.getByRole('button', { name: 'Email me a sign-in link' }).click();
  await tab.getByLabel('6-digit code').waitFor();
  const { link } = await nextMail(srv.mailDir, seen);
  // Opening the link shows a confirmation; its button signs in and returns
  // to the SPA with state, authorization_id, code and request_id.
  await tab.goto(link);
  await Promise.all([
    tab.waitForURL((u) => u.toString().startsWith(`${origin}/?`)),
    tab.getByRole('button', { name: 'Sign in' }).click(),
  ]);
  const back = new URL(tab.url());
  for (const k of ['state', 'authorization_id', 'code', 'request_id']) assert.ok(back.searchParams.get(k), k);
  await tab.waitForFunction(() => window.ready === true && window.result !== undefined);
  const result = await tab.evaluate(() => window.result);
  assert.equal(result.error, undefined, `${result.error}\n${logs.join('\n')}`);
  assert.equal(result.valid, true, `${result.errors}\n${logs.join('\n')}`);
  assert.equal(result.authenticated, true);
  assert.equal(result.user.email, email);
  assert.ok(result.access.split('.').length === 3);
  // The SPA stored the refresh token ({org}.{opaque}) for later refreshes.
  const cookies = await ctx.cookies(origin);
  const refresh = cookies.find((c) => c.name.includes('refresh'));
  assert.ok(refresh, `no refresh cookie among ${cookies.map((c) => c.name)}`);
  assert.ok(decodeURIComponent(refresh.value).includes(`${org.domain}.`));
  await ctx.close();
});

test('cryptr-spa-js refreshes its tokens through the era-1 refresh URL', async () => {
  const ctx = await browser.newContext();
  const tab = await ctx.newPage();
  const logs = [];
  tab.on('console', (m) => logs.push(m.text()));
  tab.on('response', (r) => { if (r.request().method() !== 'GET') logs.push(`${r.request().method()} ${r.url()} ${r.status()}`); });
  await tab.goto(`${origin}/`);
  await tab.waitForFunction(() => window.ready === true);
  await Promise.all([
    tab.waitForURL((u) => u.toString().startsWith(`${srv.base}/a/`)),
    tab.evaluate((d) => window.client.signInWithDomain(d), org.domain),
  ]);
  await tab.getByLabel('Email address').fill(email);
  await tab.getByRole('button', { name: 'Email me a sign-in link' }).click();
  await tab.getByLabel('6-digit code').waitFor();
  const { code } = await nextMail(srv.mailDir, seen);
  // The other-device path: type the 6-digit code instead of opening the link.
  await tab.getByLabel('6-digit code').fill(code);
  await Promise.all([
    tab.waitForURL((u) => u.toString().startsWith(`${origin}/?`)),
    tab.getByRole('button', { name: 'Verify the code' }).click(),
  ]);
  await tab.waitForFunction(() => window.result !== undefined);
  const first = await tab.evaluate(() => window.result);
  assert.equal(first.valid, true, first.errors);
  // Drop the in-memory access token: the SPA then refreshes (as it does
  // on a page reload) with the refresh token kept in its cookie.
  const refreshed = await tab.evaluate(async () => {
    window.client.memory.clearTokens();
    await window.client.handleRefreshTokens();
    return window.client.getCurrentAccessToken();
  });
  assert.ok(refreshed && refreshed !== first.access, `a new access token after refresh\n${logs.join('\n')}`);
  await ctx.close();
});
