// Enterprise SSO in headless Chromium (Debian chromium driven by
// playwright-core) against the real example server and a real SAML IdP
// (crewjam/saml's samlidp, run by examples/sso/idp):
//   1. the IT administrator's onboarding portal, from the invitation mail's
//      setup link to a successful test sign-in (and a rejected metadata
//      upload on the way), in English and French;
//   2. an end user's SSO sign-in started by the application at
//      /enterprise/{idp_id}/login, ending at the application with a code
//      that the token endpoint exchanges for an ID token;
//   3. home-realm discovery: "continue with SSO" on the hosted login page;
//   4. an IdP-initiated sign-in (samlidp's shortcut) that lands on the
//      connection's default redirection with a provider session, so the
//      application's prompt=none authorization completes silently.
// Screenshots are kept in tmp/artifacts/sso (or $SSO_ARTIFACTS).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startServer, setupOrg, freePort } from './lib/server.mjs';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const artifacts = process.env.SSO_ARTIFACTS || join(repo, 'tmp', 'artifacts', 'sso');
const user = { name: 'alice', password: 'correct horse battery staple', email: 'alice@sso-corp.test' };

let srv; let org; let app; let conn; let idp; let idpDir; let web; let appOrigin; let browser;
const seenMail = new Set();

function decodeQP(s) {
  return s.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)));
}

async function setupLink() {
  for (let i = 0; i < 100; i++) {
    let files = [];
    try { files = readdirSync(srv.mailDir).filter((f) => f.endsWith('.eml')).sort(); } catch { /* not yet */ }
    for (const f of files.filter((x) => !seenMail.has(x))) {
      seenMail.add(f);
      const text = decodeQP(readFileSync(join(srv.mailDir, f), 'utf8'));
      const m = text.match(/https?:\/\/[^\s"<>]+\/enterprise-setup\/[A-Za-z0-9_-]{43}/);
      if (m) return m[0];
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('no invitation mail');
}

async function startIdP() {
  idpDir = mkdtempSync(join(tmpdir(), 'gatehouse-idp-'));
  const bin = join(idpDir, 'idp');
  execFileSync('go', ['build', '-o', bin, './examples/sso/idp'], { cwd: repo, stdio: 'inherit' });
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const proc = spawn(bin, ['-addr', `127.0.0.1:${port}`, '-user', `${user.name}:${user.password}:${user.email}:Alice:Liddell`],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let logs = '';
  proc.stdout.on('data', (d) => { logs += d; });
  proc.stderr.on('data', (d) => { logs += d; });
  for (let i = 0; i < 200; i++) {
    try {
      const r = await fetch(base + '/metadata');
      if (r.ok) return { base, proc, metadata: await r.text(), logs: () => logs };
    } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  proc.kill();
  throw new Error('IdP did not start\n' + logs);
}

function pkce() {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

async function exchange(code, verifier) {
  const r = await fetch(`${srv.base}/t/${org.domain}/oauth/token`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: `${appOrigin}/callback`,
      client_id: app.client_id, code_verifier: verifier }).toString(),
  });
  const body = await r.json();
  assert.equal(r.status, 200, JSON.stringify(body));
  return JSON.parse(Buffer.from(body.id_token.split('.')[1], 'base64url').toString());
}

async function shot(page, name) {
  await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
}

// signInAtIdP fills the samlidp login form; its answer posts itself to our ACS.
async function signInAtIdP(page) {
  await page.waitForSelector('input[name=user]');
  await page.fill('input[name=user]', user.name);
  await page.fill('input[name=password]', user.password);
  await page.click('input[type=submit]');
}

before(async () => {
  mkdirSync(artifacts, { recursive: true });
  srv = await startServer();
  idp = await startIdP();
  ({ org } = await setupOrg(srv, 'SSO Corp', 'sso-corp.test', 'bob@sso-corp.test'));
  const port = await freePort();
  appOrigin = `http://127.0.0.1:${port}`;
  web = createServer((req, res) => {
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.end('<!doctype html><html lang="en"><title>Application</title><h1>Back in the application</h1>');
  });
  await new Promise((r) => web.listen(port, '127.0.0.1', r));
  app = await srv.api('POST', `/api/v2/org/${org.domain}/applications`, {
    name: 'front', application_type: 'react', allowed_redirect_urls: [`${appOrigin}/callback`],
    allowed_origins_cors: [appOrigin], allowed_web_origins: [appOrigin], allowed_logout_urls: [`${appOrigin}/`],
  });
  conn = await srv.api('POST', '/api/v2/sso-connections', {
    organization_id: org.id, application_id: app.client_id, sso_admin_email: 'it@sso-corp.test', send_email: true,
  });
  assert.match(conn.id, /^sso_corp_[1-9A-HJ-NP-Za-km-z]{22}$/);
  // The IdP administrator registers our SP metadata at the IdP.
  const spMetadata = await (await fetch(`${srv.base}/enterprise/${conn.id}/metadata`)).text();
  const put = await fetch(`${idp.base}/services/gatehouse`, { method: 'PUT', body: spMetadata });
  assert.equal(put.status, 204);
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run'],
  });
});

after(async () => {
  await browser?.close();
  web?.close();
  idp?.proc.kill('SIGTERM');
  if (idpDir) rmSync(idpDir, { recursive: true, force: true });
  await srv?.stop();
});

test('the IT administrator sets SSO up in the onboarding portal', async () => {
  const link = await setupLink();
  const ctx = await browser.newContext({ locale: 'en-US' });
  const page = await ctx.newPage();
  await page.goto(link);
  await shot(page, '01-setup-link');
  assert.equal(await page.getAttribute('html', 'lang'), 'en');
  await page.getByRole('button', { name: 'Start the setup' }).click();

  await page.waitForURL(/\/enterprise-setup\/provider/);
  await shot(page, '02-choose-provider');
  await page.getByLabel('Okta').check();
  await page.getByRole('button', { name: 'Continue' }).click();

  await page.waitForURL(/\/enterprise-setup\/configure/);
  assert.equal((await page.textContent('#acs-url')).trim(), `${srv.base}/enterprise/${conn.id}/acs`);
  assert.equal((await page.textContent('#entity-id')).trim(), `${srv.base}/enterprise/${conn.id}/metadata`);
  assert.match(await page.textContent('main'), /Okta Admin Console/);
  await shot(page, '03-configure-idp');
  await page.getByRole('button', { name: 'I have configured the application' }).click();

  await page.waitForURL(/\/enterprise-setup\/metadata/);
  await page.getByLabel('Or paste the metadata XML').fill('<html>this is not SAML metadata');
  await page.getByRole('button', { name: 'Save the metadata' }).click();
  const alert = page.getByRole('alert');
  assert.match(await alert.textContent(), /This metadata cannot be used/);
  await shot(page, '04-metadata-rejected');
  await page.getByLabel('Or paste the metadata XML').fill(idp.metadata);
  await page.getByRole('button', { name: 'Save the metadata' }).click();
  assert.match(await page.getByRole('status').first().textContent(), /valid and saved/);
  await shot(page, '05-metadata-saved');

  await page.getByRole('link', { name: 'Go to the test' }).click();
  await page.getByRole('button', { name: 'Run a test sign-in' }).click();
  await signInAtIdP(page);
  await page.waitForURL(/\/enterprise-setup\/test-result/);
  const result = await page.textContent('#test-result');
  assert.match(result, /The test sign-in succeeded/);
  assert.match(result, new RegExp(user.email));
  await shot(page, '06-test-succeeded');

  await page.goto(`${srv.base}/enterprise-setup/test-result?lang=fr`);
  assert.equal(await page.getAttribute('html', 'lang'), 'fr');
  assert.match(await page.textContent('#test-result'), /La connexion de test a réussi/);
  await shot(page, '07-test-succeeded-fr');

  const got = await srv.api('GET', `/api/v2/sso-connections/${conn.id}?preload_associations[]=onboarding`);
  assert.equal(got.onboarding.state, 'completed');
  assert.equal(got.onboarding.tutorial_step, 4);
  assert.equal(got.onboarding.provider_type, 'okta');
  await ctx.close();
});

test('an end user signs in with SSO from the application', async () => {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  const { verifier, challenge } = pkce();
  const q = new URLSearchParams({ client_id: app.client_id, redirect_uri: `${appOrigin}/callback`, state: 'st-42',
    scope: 'openid email profile', code_challenge: challenge, code_challenge_method: 'S256', locale: 'en', nonce: 'n-42' });
  await page.goto(`${srv.base}/enterprise/${conn.id}/login?${q}`);
  await shot(page, '08-idp-login');
  await signInAtIdP(page);
  await page.waitForURL((u) => u.href.startsWith(`${appOrigin}/callback`));
  await shot(page, '09-back-in-app');
  const back = new URL(page.url());
  assert.equal(back.searchParams.get('state'), 'st-42');
  const claims = await exchange(back.searchParams.get('code'), verifier);
  assert.equal(claims.email, user.email);
  assert.equal(claims.nonce, 'n-42');
  assert.equal(claims.resource_owner_metadata.saml_nameid !== undefined, true);
  await ctx.close();
});

test('home-realm discovery sends an email of the organization to its IdP', async () => {
  const ctx = await browser.newContext({ locale: 'fr-FR' });
  const page = await ctx.newPage();
  const { verifier, challenge } = pkce();
  const q = new URLSearchParams({ client_id: app.client_id, redirect_uri: `${appOrigin}/callback`, client_state: 'hrd',
    code_challenge: challenge, code_challenge_method: 'S256', locale: 'fr' });
  await page.goto(`${srv.base}/t/${org.domain}/?${q}`);
  await page.fill('input[name=email]', user.email);
  await shot(page, '10-hosted-login');
  await page.getByRole('button', { name: /SSO/ }).click();
  await signInAtIdP(page);
  await page.waitForURL((u) => u.href.startsWith(`${appOrigin}/callback`));
  const back = new URL(page.url());
  assert.equal(back.searchParams.get('state'), 'hrd');
  assert.equal((await exchange(back.searchParams.get('code'), verifier)).email, user.email);
  await ctx.close();
});

test('an IdP-initiated sign-in opens a provider session (prompt=none is silent)', async () => {
  await srv.api('PUT', `/api/v2/sso-connections/${conn.id}`, { allow_idp_initiated: true });
  const sc = await fetch(`${idp.base}/shortcuts/app`, {
    method: 'PUT', body: JSON.stringify({ name: 'app', service_provider: `${srv.base}/enterprise/${conn.id}/metadata` }),
  });
  assert.ok(sc.status < 300, `shortcut: ${sc.status}`);
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  // Open the IdP session, then start the sign-in at the IdP.
  await page.goto(`${idp.base}/login`);
  await signInAtIdP(page);
  await page.waitForLoadState();
  await page.goto(`${idp.base}/login/app`);
  await page.waitForURL((u) => u.href === `${appOrigin}/callback`);
  await shot(page, '11-idp-initiated-landing');

  const { verifier, challenge } = pkce();
  const q = new URLSearchParams({ response_type: 'code', client_id: app.client_id, redirect_uri: `${appOrigin}/callback`,
    scope: 'openid email', state: 'silent', nonce: 'n-silent', prompt: 'none', code_challenge: challenge,
    code_challenge_method: 'S256' });
  await page.goto(`${srv.base}/t/${org.domain}/authorize?${q}`);
  await page.waitForURL((u) => u.href.startsWith(`${appOrigin}/callback?`));
  const back = new URL(page.url());
  assert.equal(back.searchParams.get('error'), null, page.url());
  assert.equal(back.searchParams.get('state'), 'silent');
  const claims = await exchange(back.searchParams.get('code'), verifier);
  assert.equal(claims.email, user.email);
  assert.equal(claims.sci, conn.id);
  await ctx.close();

  // Control: a browser that did not sign in gets login_required.
  const other = await browser.newContext();
  const p2 = await other.newPage();
  await p2.goto(`${srv.base}/t/${org.domain}/authorize?${q}`);
  await p2.waitForURL((u) => u.href.startsWith(`${appOrigin}/callback?`));
  assert.equal(new URL(p2.url()).searchParams.get('error'), 'login_required');
  await other.close();
});
