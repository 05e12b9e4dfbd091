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
import { startConsole, auditor, signIn as signInAs, submit } from '../lib/console.mjs';

let con; let base; let browser; let dir;
const audit = auditor();
const waitFor = (re) => con.waitFor(re);
const signIn = (tab, email, password) => signInAs(tab, base, email, password);

before(async () => {
  con = await startConsole('gatehouse-admin-tenants-');
  ({ base, browser, dir } = con);
});

after(async () => {
  if (con) await con.stop();
});


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
