// @cryptr/cryptr-spa-js 1.4 signs a user in through a magic link in
// headless Chromium: the SPA's universal gateway (/a/{tenant}/) sends the
// browser to the hosted page, the test reads the link from the development
// mailer's directory, confirms it, and the SPA exchanges the code at
// /org/{org}/oauth2/token, validates the tokens and reports the user.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { startServer, setupOrg, nextMail } from '../lib/server.mjs';
import { startSpa } from '../lib/spa.mjs';

const require = createRequire(import.meta.url);
let srv; let org; let spa;
const seen = new Set();
const email = 'linus@spa.test';

before(async () => {
  srv = await startServer();
  ({ org } = await setupOrg(srv, 'Spa Corp', 'spa.test', email));
  spa = await startSpa(srv, org, require.resolve('@cryptr/cryptr-spa-js/dist/cryptr-spa-js.umd.js'));
});

after(async () => {
  if (spa) await spa.close();
  if (srv) await srv.stop();
});

// gateway starts the SPA's sign-in and fills the hosted page's email form.
async function gateway(tab) {
  await Promise.all([
    tab.waitForURL((u) => u.toString().startsWith(`${srv.base}/a/${org.domain}/`)),
    tab.evaluate((d) => window.client.signInWithDomain(d), org.domain),
  ]);
  const url = new URL(tab.url());
  assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
  assert.equal(url.searchParams.get('organization'), org.domain);
  await tab.getByLabel('Email address').fill(email);
  await tab.getByRole('button', { name: 'Email me a sign-in link' }).click();
  await tab.getByLabel('6-digit code').waitFor();
}

test('cryptr-spa-js 1.4 signs in with a magic link', async () => {
  const { ctx, tab, logs } = await spa.open();
  await gateway(tab);
  const { link } = await nextMail(srv.mailDir, seen);
  // Opening the link shows a confirmation; its button signs in and returns
  // to the SPA with state, authorization_id, code and request_id.
  await tab.goto(link);
  await Promise.all([
    tab.waitForURL((u) => u.toString().startsWith(`${spa.origin}/?`)),
    tab.getByRole('button', { name: 'Sign in' }).click(),
  ]);
  const back = new URL(tab.url());
  for (const k of ['state', 'authorization_id', 'code', 'request_id']) assert.ok(back.searchParams.get(k), k);
  await tab.waitForFunction(() => window.result !== undefined);
  const result = await tab.evaluate(() => window.result);
  assert.equal(result.error, undefined, `${result.error}\n${logs.join('\n')}`);
  assert.equal(result.valid, true, `${result.errors}\n${logs.join('\n')}`);
  assert.equal(result.authenticated, true);
  assert.equal(result.user.email, email);
  assert.equal(result.access.split('.').length, 3);
  // The SPA keeps the refresh token ({org}.{opaque}) in a cookie.
  const cookies = await ctx.cookies(spa.origin);
  const refresh = cookies.find((c) => c.name.includes('refresh'));
  assert.ok(refresh, `no refresh cookie among ${cookies.map((c) => c.name)}`);
  assert.ok(decodeURIComponent(refresh.value).includes(`${org.domain}.`));
  await ctx.close();
});

test('cryptr-spa-js 1.4 signs in with the email code, then refreshes', async () => {
  const { ctx, tab, logs } = await spa.open();
  await gateway(tab);
  const { code } = await nextMail(srv.mailDir, seen);
  // The other-device path: type the 6-digit code instead of opening the link.
  await tab.getByLabel('6-digit code').fill(code);
  await Promise.all([
    tab.waitForURL((u) => u.toString().startsWith(`${spa.origin}/?`)),
    tab.getByRole('button', { name: 'Verify the code' }).click(),
  ]);
  await tab.waitForFunction(() => window.result !== undefined);
  const first = await tab.evaluate(() => window.result);
  assert.equal(first.valid, true, first.errors);
  // Drop the in-memory access token: the SPA then refreshes (as on a page
  // reload) with the refresh token of its cookie, at the era-1 refresh URL.
  const refreshed = await tab.evaluate(async () => {
    window.client.memory.clearTokens();
    await window.client.handleRefreshTokens();
    return window.client.getCurrentAccessToken();
  });
  assert.ok(refreshed && refreshed !== first.access, `a new access token after refresh\n${logs.join('\n')}`);
  assert.ok(logs.some((l) => l.includes('/oauth/client/token 200')), logs.join('\n'));
  await ctx.close();
});
