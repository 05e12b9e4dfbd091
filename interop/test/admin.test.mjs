// The admin console in headless Chromium: `examples/server -admin` prints a
// one-time setup link; the first owner opens it, creates their account,
// signs in through the provider's hosted login page, creates an
// organization and a user, edits, disables, mails a password reset link to
// and deletes the user, creates an
// application and rotates its secret (shown once), creates an SSO
// connection with its administrator's onboarding and a setup link to
// copy, reads and exports the
// audit log, switches environment and language, and grants a
// viewer role. The viewer sees no buttons and a POST of theirs is refused
// with 403; an administrator limited to one organization cannot reach
// another's pages. axe-core reports no violation on any page, at 360 px
// wide and on the desktop, and the pages work from the keyboard.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startConsole, auditor, signIn as signInAs, submit } from '../lib/console.mjs';
import { readFileSync, readdirSync, existsSync } from 'node:fs';

let con; let base; let browser; let dir;
const audit = auditor();
const waitFor = (re) => con.waitFor(re);
const signIn = (tab, email, password) => signInAs(tab, base, email, password);

before(async () => {
  con = await startConsole('gatehouse-admin-');
  ({ base, browser, dir } = con);
});

after(async () => {
  if (con) await con.stop();
});

test('admin console: first owner, organizations, users, audit log, roles', async () => {
  const [, link] = await waitFor(/create its first owner with this one-time link[^\n]*\n\s+(\S+)/);
  assert.ok(link.startsWith(`${base}/admin/setup?token=`), link);
  const ctx = await browser.newContext();
  const tab = await ctx.newPage();

  // The setup link: a form; bad input first, then the owner.
  await tab.goto(link);
  await audit(tab, 'setup');
  await tab.getByLabel('Email address', { exact: true }).fill('owner@example.test');
  await tab.getByLabel('Password').fill('short');
  await submit(tab, 'Create the owner');
  await tab.getByRole('alert').waitFor();
  assert.match(await tab.getByRole('alert').textContent(), /password/);
  await audit(tab, 'setup with errors');
  await tab.getByLabel('Password').fill('a long owner password');
  await submit(tab, 'Create the owner');
  await tab.getByRole('heading', { name: 'Owner created' }).waitFor();
  await audit(tab, 'message');

  // Sign in through the provider.
  await signIn(tab, 'owner@example.test', 'a long owner password');
  await audit(tab, 'organizations');

  // Keyboard: the first Tab reaches the skip link, which moves focus to main.
  await tab.keyboard.press('Tab');
  assert.equal(await tab.evaluate(() => document.activeElement.textContent), 'Skip to content');
  await tab.keyboard.press('Enter');
  assert.equal(await tab.evaluate(() => document.activeElement.id), 'main');

  // Create an organization (bad input first).
  await tab.getByRole('link', { name: 'New organization' }).click();
  await audit(tab, 'new organization');
  await tab.getByLabel('Name', { exact: true }).fill('Acme Corp');
  await tab.getByLabel('Country code (ISO 3166-1, two letters)').fill('France');
  await submit(tab, 'Save');
  assert.match(await tab.getByRole('alert').textContent(), /country_name/);
  await audit(tab, 'new organization with errors');
  await tab.getByLabel('Country code (ISO 3166-1, two letters)').fill('FR');
  await tab.getByLabel('Allowed email domains').fill('acme.test');
  await submit(tab, 'Save');
  await tab.getByText('Organization created.').waitFor();
  assert.equal(new URL(tab.url()).pathname, '/admin/orgs/acme-corp');
  await audit(tab, 'organization');

  // Search finds it.
  await tab.goto(`${base}/admin/orgs?q=acme`);
  await tab.getByRole('link', { name: 'Acme Corp' }).waitFor();
  await audit(tab, 'organization search');

  // Users: create, search, edit, disable, enable, delete.
  await tab.goto(`${base}/admin/orgs/acme-corp/users`);
  await audit(tab, 'users');
  await tab.getByRole('link', { name: 'New user' }).click();
  await audit(tab, 'new user');
  await tab.getByLabel('Email address', { exact: true }).fill('ann@acme.test');
  await tab.getByLabel('Given name').fill('Ann');
  await tab.getByLabel('Family name').fill('Smith');
  await submit(tab, 'New user');
  await tab.getByText('User created.').waitFor();
  await audit(tab, 'user');
  await tab.getByLabel('Phone number (E.164)').fill('not a phone');
  await submit(tab, 'Save');
  assert.match(await tab.getByRole('alert').textContent(), /phone_number/);
  await audit(tab, 'user with errors');
  await tab.getByLabel('Phone number (E.164)').fill('+33 1 23 45 67 89');
  await submit(tab, 'Save');
  await tab.getByText('User saved.').waitFor();
  await submit(tab, 'Disable');
  await tab.getByText('User disabled; their sessions ended.').waitFor();
  await submit(tab, 'Enable');
  await tab.getByText('User enabled.').waitFor();
  await submit(tab, 'Send a password reset link');
  await tab.getByText(/A password reset link was mailed/).waitFor();
  let resetMail = '';
  for (let i = 0; i < 100 && !resetMail; i++) {
    for (const f of (existsSync(join(dir, 'mail')) ? readdirSync(join(dir, 'mail')) : [])) {
      const text = readFileSync(join(dir, 'mail', f), 'utf8');
      if (text.includes('ann@acme.test')) resetMail = text;
    }
    if (!resetMail) await new Promise((r) => setTimeout(r, 50));
  }
  assert.match(resetMail, /\/t\/acme-corp\//, 'the reset mail links to the hosted reset page');
  await tab.goto(`${base}/admin/orgs/acme-corp/users?q=smith`);
  await tab.getByRole('link', { name: 'ann@acme.test' }).click();
  await tab.getByRole('link', { name: 'Delete…' }).click();
  await audit(tab, 'delete user');
  await submit(tab, 'Delete the user');
  await tab.getByText('User deleted.').waitFor();

  // An application: created with its secret shown once, then rotated.
  await tab.goto(`${base}/admin/orgs/acme-corp/apps`);
  await audit(tab, 'applications');
  await tab.getByRole('link', { name: 'New application' }).click();
  await audit(tab, 'new application');
  await tab.getByLabel('Name', { exact: true }).fill('Billing');
  await tab.getByLabel(/^Redirect URIs/).fill('not a url');
  await submit(tab, 'Save');
  assert.match(await tab.getByRole('alert').textContent(), /allowed_redirect_urls/);
  await tab.getByLabel(/^Redirect URIs/).fill('https://billing.acme.test/callback');
  await submit(tab, 'Save');
  await tab.getByText('Application created.').waitFor();
  const first = await tab.getByLabel('client_secret').inputValue();
  assert.ok(first.length >= 43, first);
  await audit(tab, 'application with its secret');
  await submit(tab, 'Rotate the client secret');
  const second = await tab.getByLabel('client_secret').inputValue();
  assert.ok(second.length >= 43 && second !== first);
  const clientID = (await tab.locator('dd code').first().textContent()).trim();
  await tab.goto(`${base}/admin/orgs/acme-corp/apps/${clientID}`);
  await tab.getByRole('heading', { name: 'Application' }).waitFor();
  assert.equal(await tab.getByLabel('client_secret').count(), 0, 'the secret is shown again');
  await audit(tab, 'application');

  // An SSO connection to Billing with its administrator's onboarding;
  // a setup link to copy, shown once.
  await tab.goto(`${base}/admin/orgs/acme-corp`);
  await tab.getByRole('link', { name: 'SSO connections' }).click();
  await audit(tab, 'SSO connections');
  await tab.getByLabel(/^IT administrator/).fill('not an email');
  await submit(tab, 'Create the connection');
  assert.match(await tab.getByRole('alert').textContent(), /sso_admin_email/);
  await audit(tab, 'SSO connections with an error');
  await tab.getByLabel('Application users land in').selectOption({ label: 'Billing' });
  await tab.getByLabel(/^IT administrator/).fill('it@acme.test');
  await submit(tab, 'Create the connection');
  await tab.getByText('SSO connection created.').waitFor();
  await audit(tab, 'SSO connection');
  await submit(tab, 'Create a setup link');
  const setupLink = await tab.getByLabel('Setup link', { exact: true }).inputValue();
  assert.ok(setupLink.startsWith(`${base}/enterprise-setup/`), setupLink);
  await audit(tab, 'SSO connection with its setup link');
  const ssoPage = tab.url();
  await tab.goto(`${base}/admin/orgs/acme-corp/sso`);
  await tab.getByRole('cell', { name: 'Not uploaded yet' }).first().waitFor();
  assert.ok(ssoPage.includes('/admin/orgs/acme-corp/sso/'), ssoPage);

  // Audit log, filtered, and its CSV export.
  await tab.goto(`${base}/admin/orgs/acme-corp/events`);
  await audit(tab, 'audit log');
  await tab.getByLabel('Event code').selectOption('USER_DELETED');
  await submit(tab, 'Filter');
  await tab.getByRole('cell', { name: 'USER_DELETED' }).waitFor();
  const csvURL = await tab.getByRole('link', { name: 'Export CSV' }).getAttribute('href');
  const csv = await (await tab.request.get(base + csvURL)).text();
  assert.match(csv, /^id,time,event_code/);
  assert.match(csv, /USER_DELETED/);
  assert.doesNotMatch(csv, /USER_CREATED/);

  // The environment switch, on every page.
  await submit(tab, 'Switch to sandbox');
  await tab.getByText('Sandbox', { exact: true }).waitFor();
  assert.equal(new URL(tab.url()).pathname, '/admin/orgs/acme-corp/events');
  await audit(tab, 'audit log (sandbox)');
  await submit(tab, 'Switch to production');

  // French.
  await tab.getByRole('link', { name: 'Français' }).click();
  await tab.getByRole('heading', { name: "Journal d'audit" }).waitFor();
  await audit(tab, 'audit log');
  await tab.goto(`${base}/admin/orgs`);
  await audit(tab, 'organizations');
  await tab.getByRole('link', { name: 'English' }).click();

  // Roles: the owner creates two users of the account's organization and
  // grants a viewer role and an admin role limited to acme-corp.
  const beta = await (async () => {
    await tab.goto(`${base}/admin/orgs/new`);
    await tab.getByLabel('Name', { exact: true }).fill('Beta');
    await submit(tab, 'Save');
    return 'beta';
  })();
  for (const email of ['viewer@example.test', 'limited@example.test']) {
    await tab.goto(`${base}/admin/orgs/gatehouse/users/new`);
    await tab.getByLabel('Email address', { exact: true }).fill(email);
    await tab.getByLabel('Password').fill('a long member password');
    await submit(tab, 'New user');
    await tab.getByText('User created.').waitFor();
  }
  await tab.getByRole('link', { name: 'Console members' }).click();
  await audit(tab, 'members');
  await tab.getByLabel('Email address', { exact: true }).fill('viewer@example.test');
  await tab.getByLabel('Role', { exact: true }).selectOption('viewer');
  await submit(tab, 'Grant a role');
  await tab.getByText('Role granted.').waitFor();
  await tab.getByLabel('Email address', { exact: true }).fill('limited@example.test');
  await tab.getByLabel('Role', { exact: true }).selectOption('admin');
  await tab.getByRole('textbox', { name: /^Organizations/ }).fill('acme-corp');
  await submit(tab, 'Grant a role');
  await tab.getByText('Role granted.').waitFor();
  await audit(tab, 'members');

  // An API key of the production environment, its secret shown once.
  await tab.getByRole('link', { name: 'API keys' }).click();
  await audit(tab, 'API keys');
  await tab.getByLabel('Name', { exact: true }).fill('reporting');
  await tab.getByRole('textbox', { name: /^Organizations/ }).fill('acme-corp');
  await submit(tab, 'Create the key');
  await tab.getByText('API key created.').waitFor();
  const keySecret = await tab.getByLabel('client_secret').inputValue();
  const keyID = (await tab.locator('.secret dd code').textContent()).trim();
  await audit(tab, 'API keys with a secret');
  const tok = await tab.request.post(`${base}/api/v2/oauth/token`, {
    data: { grant_type: 'client_credentials', client_id: keyID, client_secret: keySecret },
  });
  assert.equal(tok.status(), 200, await tok.text());

  // The owner signs out.
  await submit(tab, 'Sign out');
  await tab.getByRole('heading', { name: 'Signed out' }).waitFor();
  await ctx.close();

  // The viewer: read-only pages without buttons; a forged POST is 403.
  const vctx = await browser.newContext();
  const vtab = await vctx.newPage();
  await signIn(vtab, 'viewer@example.test', 'a long member password');
  for (const path of ['/admin/orgs', '/admin/orgs/acme-corp', '/admin/orgs/acme-corp/users', '/admin/orgs/acme-corp/events',
    '/admin/orgs/acme-corp/sso']) {
    await vtab.goto(base + path);
    assert.equal(await vtab.getByRole('button', { name: 'Save' }).count(), 0, path);
    assert.equal(await vtab.getByRole('button', { name: /Create the connection|Create a setup link/ }).count(), 0, path);
    assert.equal(await vtab.getByRole('link', { name: /New (organization|user)/ }).count(), 0, path);
    await audit(vtab, `viewer ${path}`);
  }
  const csrf = await vtab.locator('input[name=csrf]').first().getAttribute('value');
  const forged = await vtab.request.post(`${base}/admin/orgs/acme-corp`, { form: { csrf, name: 'Owned' } });
  assert.equal(forged.status(), 403);
  await vtab.goto(`${base}/admin/orgs/acme-corp`);
  assert.equal(await vtab.getByLabel('Name', { exact: true }).inputValue(), 'Acme Corp');
  await vctx.close();

  // The administrator limited to acme-corp cannot see beta.
  const lctx = await browser.newContext();
  const ltab = await lctx.newPage();
  await signIn(ltab, 'limited@example.test', 'a long member password');
  assert.equal(await ltab.getByRole('link', { name: 'Beta' }).count(), 0);
  for (const path of [`/admin/orgs/${beta}`, `/admin/orgs/${beta}/users`, `/admin/orgs/${beta}/events`, `/admin/orgs/${beta}/events.csv`,
    `/admin/orgs/${beta}/sso`]) {
    const r = await ltab.request.get(base + path);
    assert.equal(r.status(), 404, path);
  }
  await ltab.goto(`${base}/admin/orgs/${beta}`);
  await audit(ltab, 'not found');
  await lctx.close();
});
