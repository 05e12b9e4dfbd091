// The admin console's Crafter sections in headless Chromium: the first
// owner (from `examples/server -admin`'s one-time setup link) creates an
// organization, then edits its Crafter tenant (verify_new_profiles, roles,
// an attribute definition with its permissions per application, removals
// after their confirmation pages), creates a Crafter access token whose
// id is shown once and works against /api/1, and revokes it. Bad input is
// refused with the field's message. axe-core reports no violation on the
// new pages, at 360 px wide and on the desktop, in English and French.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync, readdirSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { freePort } from '../lib/server.mjs';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
let dir; let proc; let browser; let out = ''; let base;

async function waitFor(re) {
  for (let i = 0; i < 600; i++) {
    const m = out.match(re);
    if (m) return m;
    if (proc.exitCode !== null) throw new Error(`server exited with ${proc.exitCode}\n${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`server printed no ${re}\n${out}`);
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-admin-tenants-'));
  const bin = join(dir, 'gatehouse');
  execFileSync('go', ['build', '-o', bin, './examples/server'], { cwd: repo, stdio: 'inherit' });
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  proc = spawn(bin, ['-admin', '-store', 'memory:', '-addr', `127.0.0.1:${port}`, '-mail-dir', join(dir, 'mail')],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout.on('data', (d) => { out += d; });
  proc.stderr.on('data', (d) => { out += d; });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run'],
  });
});

after(async () => {
  if (browser) await browser.close();
  if (proc && proc.exitCode === null) {
    proc.kill('SIGTERM');
    await new Promise((r) => (proc.exitCode !== null ? r() : proc.on('exit', r)));
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const checked = new Set();

// audit runs axe-core on the page (WCAG 2.1 A and AA rules and best
// practices) at 360 px and at desktop width, and checks that nothing
// overflows the narrow viewport. Each page is checked once per language.
async function audit(tab, label) {
  const key = `${label}|${await tab.evaluate(() => document.documentElement.lang)}`;
  if (checked.has(key)) return;
  checked.add(key);
  for (const width of [360, 1280]) {
    await tab.setViewportSize({ width, height: 800 });
    // Evaluated through the DevTools protocol, not a <script>: the
    // page's CSP (nonces only) stays as it is.
    await tab.evaluate(axeSource);
    const res = await tab.evaluate(() => window.axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
    }));
    const v = res.violations.map((x) => `${x.id}: ${x.help} (${x.nodes.map((n) => n.target.join(' ')).join(', ')})`);
    assert.deepEqual(v, [], `axe violations on ${label} at ${width}px`);
    if (width === 360) {
      const overflow = await tab.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(overflow <= 360, `${label} is ${overflow}px wide at 360px`);
    }
  }
}

async function signIn(tab, email, password) {
  await tab.goto(`${base}/admin/orgs`);
  assert.ok(tab.url().startsWith(`${base}/t/gatehouse/authorize`), tab.url());
  const authz = new URL(tab.url());
  assert.equal(authz.searchParams.get('code_challenge_method'), 'S256');
  await tab.getByLabel('Email address', { exact: true }).fill(email);
  await tab.getByLabel('Password').fill(password);
  await Promise.all([
    tab.waitForURL(`${base}/admin/orgs`),
    tab.getByRole('button', { name: 'Sign in with password' }).click(),
  ]);
}

async function submit(tab, name) {
  await Promise.all([tab.waitForLoadState('load'), tab.getByRole('button', { name, exact: true }).click()]);
  await tab.waitForLoadState('load');
}


test('admin console: Crafter tenant and access tokens', async () => {
  const [, link] = await waitFor(/create its first owner with this one-time link[^\n]*\n\s+(\S+)/);
  const ctx = await browser.newContext();
  const tab = await ctx.newPage();
  await tab.goto(link);
  await tab.getByLabel('Email address', { exact: true }).fill('owner@example.test');
  await tab.getByLabel('Password').fill('a long owner password');
  await submit(tab, 'Create the owner');
  await tab.getByRole('heading', { name: 'Owner created' }).waitFor();
  await signIn(tab, 'owner@example.test', 'a long owner password');

  await tab.getByRole('link', { name: 'New organization' }).click();
  await tab.getByLabel('Name', { exact: true }).fill('Acme Tenants');
  await submit(tab, 'Save');
  await tab.getByText('Organization created.').waitFor();

  // The tenant page, from the organization's page.
  await tab.getByRole('link', { name: 'Crafter tenant' }).click();
  assert.equal(new URL(tab.url()).pathname, '/admin/orgs/acme-tenants/tenant');
  await tab.getByRole('heading', { name: 'Crafter tenant' }).waitFor();
  await audit(tab, 'tenant');

  // verify_new_profiles.
  await tab.getByLabel(/^Verify new profiles/).check();
  await submit(tab, 'Save');
  await tab.getByText('Verification of new profiles saved.').waitFor();
  assert.ok(await tab.getByLabel(/^Verify new profiles/).isChecked());

  // Roles: bad input first, then two roles.
  await tab.getByLabel('New roles').fill(' , ');
  await submit(tab, 'Add the roles');
  assert.match(await tab.getByRole('alert').textContent(), /roles/);
  assert.equal(await tab.getByLabel('New roles').getAttribute('aria-invalid'), 'true');
  await audit(tab, 'tenant with errors');
  await tab.getByLabel('New roles').fill('EDITOR, REVIEWER');
  await submit(tab, 'Add the roles');
  await tab.getByText('Roles added.').waitFor();
  await tab.getByRole('link', { name: 'Remove… REVIEWER' }).waitFor();

  // An attribute definition with its permissions: a bad name first.
  await tab.getByRole('link', { name: 'New attribute definition' }).click();
  await audit(tab, 'new attribute definition');
  await tab.getByLabel('Name', { exact: true }).fill('a.b');
  await submit(tab, 'Add the definition');
  assert.match(await tab.getByRole('alert').textContent(), /must not contain dots/);
  await audit(tab, 'new attribute definition with errors');
  await tab.getByLabel('Name', { exact: true }).fill('plan');
  await tab.getByLabel('Type').selectOption('TEXT');
  await tab.getByLabel(/^Label/).fill('Plan');
  await tab.getByLabel(/^Default value/).fill('free');
  await tab.getByLabel('Application 2', { exact: true }).fill('studio');
  await tab.getByLabel('Write, Application 2').check();
  await submit(tab, 'Add the definition');
  await tab.getByText(/Attribute definition added/).waitFor();
  await tab.getByRole('cell', { name: 'plan' }).first().waitFor();
  await audit(tab, 'tenant with a definition');

  // Edit it: the label, and studio may now only read.
  await tab.getByRole('link', { name: 'Edit plan' }).click();
  await audit(tab, 'attribute definition');
  assert.equal(await tab.getByLabel('Name', { exact: true }).getAttribute('readonly'), '');
  await tab.getByLabel(/^Label/).fill('Pricing plan');
  await tab.getByLabel('Write, Application 2').uncheck();
  await tab.getByLabel('Read, Application 2').check();
  await submit(tab, 'Save');
  await tab.getByText('Attribute definition saved.').waitFor();
  await tab.getByRole('cell', { name: 'Pricing plan' }).waitFor();
  assert.match(await tab.locator('tbody').textContent(), /studio: READ_ATTRIBUTE/);

  // Removals cascade to profiles: each asks first.
  await tab.getByRole('link', { name: 'Remove… REVIEWER' }).click();
  await tab.getByRole('heading', { name: 'Remove this role?' }).waitFor();
  await audit(tab, 'remove a role');
  await submit(tab, 'Remove the role');
  await tab.getByText(/Role removed/).waitFor();
  assert.equal(await tab.locator('code', { hasText: 'REVIEWER' }).count(), 0);
  await tab.getByRole('link', { name: 'Remove… plan' }).click();
  await tab.getByRole('heading', { name: 'Remove this attribute definition?' }).waitFor();
  await audit(tab, 'remove an attribute definition');
  await submit(tab, 'Remove the definition');
  await tab.getByText(/Attribute definition removed/).waitFor();
  await tab.getByText('No attribute definition.').waitFor();

  // In French.
  await tab.getByRole('link', { name: 'Français' }).click();
  await tab.getByRole('heading', { name: 'Tenant Crafter' }).waitFor();
  await audit(tab, 'tenant');
  await tab.getByRole('link', { name: 'English' }).click();

  // A Crafter access token: bad input, then one reading acme-tenants.
  await tab.getByRole('link', { name: 'API keys' }).click();
  await tab.getByRole('heading', { name: 'Crafter access tokens' }).waitFor();
  await audit(tab, 'keys and access tokens');
  await tab.getByLabel(/^Application/).fill('studio');
  await submit(tab, 'Create the token');
  assert.match(await tab.getByRole('alert').textContent(), /tenant_0/);
  await audit(tab, 'access tokens with errors');
  await tab.getByLabel('Tenant 1', { exact: true }).fill('acme-tenants');
  await tab.getByLabel('READ_TENANT, Tenant 1').check();
  await submit(tab, 'Create the token');
  await tab.getByText('Access token created.').waitFor();
  const tokenID = await tab.getByLabel('accessTokenId').inputValue();
  assert.ok(tokenID.length >= 43, tokenID);
  await audit(tab, 'access tokens with a new token');
  const read = await tab.request.get(`${base}/api/1/tenant/acme-tenants.json?accessTokenId=${encodeURIComponent(tokenID)}`);
  assert.equal(read.status(), 200, await read.text());
  const tenant = await read.json();
  assert.equal(tenant.name, 'acme-tenants');
  assert.equal(tenant.verifyNewProfiles, true);
  assert.deepEqual(tenant.availableRoles, ['EDITOR']);
  const denied = await tab.request.post(`${base}/api/1/tenant/acme-tenants/roles/add.json`,
    { form: { accessTokenId: tokenID, role: 'OWNED' } });
  assert.equal(denied.status(), 403, await denied.text());

  // Listed without its id; revoked, it no longer works.
  await tab.goto(`${base}/admin/keys`);
  assert.ok(!(await tab.content()).includes(tokenID), 'the token id is shown again');
  await submit(tab, 'Revoke studio');
  await tab.getByText('Access token revoked.').waitFor();
  const gone = await tab.request.get(`${base}/api/1/tenant/acme-tenants.json?accessTokenId=${encodeURIComponent(tokenID)}`);
  assert.equal(gone.status(), 403);
  await ctx.close();
});
