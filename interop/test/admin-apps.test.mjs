// The admin console's application page and SSO connection settings in
// headless Chromium: `examples/server -admin` prints a one-time setup
// link; the first owner signs in, creates an organization, a user and an
// application, adds a MetaKey from the application's page (bad input
// first), gives the user a value, reads the JWT sample's decoded claims
// without a user and for that user, deletes the MetaKey after its
// confirmation page, edits an SSO connection's state, seats and user
// policy (bad input first), and finds an organization-limited API key's
// events in the organization's audit log. axe-core reports no violation
// on the pages touched, at 360 px wide and on the desktop.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startConsole, auditor, signIn as signInAs, submit } from '../lib/console.mjs';

let con; let base; let browser; let dir;
const audit = auditor({ oncePerLanguage: false });
const waitFor = (re) => con.waitFor(re);
const signIn = (tab, email, password) => signInAs(tab, base, email, password);

before(async () => {
  con = await startConsole('gatehouse-admin-apps-');
  ({ base, browser, dir } = con);
});

after(async () => {
  if (con) await con.stop();
});

// claim returns the decoded value of a claim in the sample's table of
// token ("access" or "id").
async function claim(tab, token, name) {
  const row = tab.locator(`[aria-labelledby="claims-${token}"] tr`)
    .filter({ has: tab.getByRole('rowheader', { name, exact: true }) });
  return (await row.locator('td pre').textContent()).trim();
}

test('admin console: MetaKeys, JWT sample, SSO connection settings, API-key events', async () => {
  const [, link] = await waitFor(/create its first owner with this one-time link[^\n]*\n\s+(\S+)/);
  const ctx = await browser.newContext();
  const tab = await ctx.newPage();
  await tab.goto(link);
  await tab.getByLabel('Email address', { exact: true }).fill('owner@example.test');
  await tab.getByLabel('Password').fill('a long owner password');
  await submit(tab, 'Create the owner');
  await tab.getByRole('heading', { name: 'Owner created' }).waitFor();
  await signIn(tab, 'owner@example.test', 'a long owner password');

  // An organization, a user and an application.
  await tab.goto(`${base}/admin/orgs/new`);
  await tab.getByLabel('Name', { exact: true }).fill('Acme Corp');
  await submit(tab, 'Save');
  await tab.getByText('Organization created.').waitFor();
  await tab.goto(`${base}/admin/orgs/acme-corp/users/new`);
  await tab.getByLabel('Email address', { exact: true }).fill('ann@acme.test');
  await tab.getByLabel('Given name').fill('Ann');
  await submit(tab, 'New user');
  await tab.getByText('User created.').waitFor();
  const userPage = tab.url();
  await tab.goto(`${base}/admin/orgs/acme-corp/apps/new`);
  await tab.getByLabel('Name', { exact: true }).fill('Billing');
  await tab.getByLabel(/^Redirect URIs/).fill('https://billing.acme.test/callback');
  await tab.getByLabel('Token signing algorithm').selectOption('ES256');
  await submit(tab, 'Save');
  await tab.getByText('Application created.').waitFor();
  const clientID = (await tab.locator('dd code').first().textContent()).trim();
  const appPage = `${base}/admin/orgs/acme-corp/apps/${clientID}`;
  await tab.goto(appPage);
  await tab.getByText('No MetaKey.').waitFor();
  await audit(tab, 'application without MetaKeys');

  // A MetaKey: bad input first (the field's message), then a good one.
  await tab.getByLabel('Key name').fill('bad name!');
  await submit(tab, 'Add the MetaKey');
  assert.match(await tab.getByRole('alert').textContent(), /metakey_name/);
  assert.equal(await tab.getByLabel('Key name').inputValue(), 'bad name!');
  await audit(tab, 'application with a MetaKey error');
  await tab.getByLabel('Key name').fill('plan');
  await tab.getByLabel('Type', { exact: true }).selectOption('string');
  await submit(tab, 'Add the MetaKey');
  await tab.getByText('MetaKey added.').waitFor();
  await tab.getByRole('cell', { name: 'plan', exact: true }).waitFor();

  // The JWT sample without a user: the claims of the application's
  // tokens, the MetaKey described in resource_owner_metadata.
  await tab.getByText('Sample without a user').waitFor();
  assert.equal(await claim(tab, 'access', 'cid'), `"${clientID}"`);
  assert.equal(await claim(tab, 'access', 'jtt'), '"access"');
  assert.equal(await claim(tab, 'access', 'sub'), 'null');
  assert.match(await claim(tab, 'id', 'resource_owner_metadata'), /"plan": \{[\s\S]*"type": "string"/);
  assert.equal(await tab.locator('#sample-subject code').textContent(), 'ES256');
  await audit(tab, 'application with a MetaKey and the JWT sample');

  // The user's value, then the sample for that user.
  await tab.goto(userPage);
  const meta = tab.locator('form[aria-labelledby="metadata"]');
  await meta.getByLabel(/^plan/).fill('gold');
  await submit(tab, 'Save', meta);
  await tab.getByText('MetaData saved.').waitFor();
  await tab.goto(appPage);
  await tab.getByLabel(/^For the user/).fill('ann@acme.test');
  await submit(tab, 'Show the sample');
  await tab.getByText('Sample for ann@acme.test').waitFor();
  const sub = await claim(tab, 'access', 'sub');
  assert.match(sub, /^"[0-9a-f-]{36}"$/);
  assert.ok(new URL(userPage).pathname.endsWith(`/${JSON.parse(sub)}`), `${sub} is not ${userPage}`);
  assert.equal(await claim(tab, 'id', 'email'), '"ann@acme.test"');
  assert.equal(await claim(tab, 'id', 'given_name'), '"Ann"');
  assert.match(await claim(tab, 'id', 'resource_owner_metadata'), /"plan": "gold"/);
  await tab.getByText('Decoded JSON').first().click();
  assert.match(await tab.locator('details pre').first().textContent(), /"jtt": "access"/);
  await audit(tab, 'JWT sample for a user');
  // An unknown user: the field's message.
  await tab.getByLabel(/^For the user/).fill('nobody@acme.test');
  await submit(tab, 'Show the sample');
  assert.match(await tab.getByRole('alert').textContent(), /sample_user/);
  await audit(tab, 'JWT sample with an unknown user');

  // Delete the MetaKey: a confirmation page, then it is gone.
  await tab.goto(appPage);
  await submit(tab, 'Delete plan');
  await tab.getByRole('heading', { name: 'Delete a MetaKey' }).waitFor();
  await audit(tab, 'delete a MetaKey');
  await submit(tab, 'Delete the MetaKey and its values');
  await tab.getByText('MetaKey deleted, with its value on every user.').waitFor();
  await tab.getByText('No MetaKey.').waitFor();

  // An SSO connection, then its settings: bad seats first.
  await tab.goto(`${base}/admin/orgs/acme-corp/sso`);
  await tab.getByLabel('Application users land in').selectOption({ label: 'Billing' });
  await tab.getByLabel(/^IT administrator/).fill('it@acme.test');
  await submit(tab, 'Create the connection');
  await tab.getByText('SSO connection created.').waitFor();
  await audit(tab, 'SSO connection with its settings');
  assert.ok(await tab.getByLabel(/^Active/).isChecked());
  await tab.getByLabel('Seats', { exact: true }).fill('many');
  await submit(tab, 'Save');
  assert.match(await tab.getByRole('alert').textContent(), /seats_limit/);
  await audit(tab, 'SSO connection settings with an error');
  await tab.getByLabel('Seats', { exact: true }).fill('10');
  await tab.getByLabel(/^Active/).uncheck();
  await tab.getByLabel('User policy', { exact: true }).selectOption('user_registered');
  await submit(tab, 'Save');
  await tab.getByText('Connection saved.').waitFor();
  await tab.getByRole('definition').filter({ hasText: /^Disabled$/ }).waitFor();
  await tab.getByRole('definition').filter({ hasText: /^10$/ }).waitFor();
  assert.equal(await tab.getByLabel('User policy', { exact: true }).inputValue(), 'user_registered');
  assert.equal(await tab.getByLabel(/^Active/).isChecked(), false);
  await audit(tab, 'SSO connection saved');

  // An API key limited to acme-corp: its creation is in acme-corp's log.
  await tab.goto(`${base}/admin/keys`);
  await tab.getByLabel('Name', { exact: true }).fill('reporting');
  await tab.getByRole('textbox', { name: /^Organizations/ }).fill('acme-corp');
  await submit(tab, 'Create the key');
  await tab.getByText('API key created.').waitFor();
  const keyID = (await tab.locator('.secret dd code').textContent()).trim();
  await tab.goto(`${base}/admin/orgs/acme-corp/events?code=CREDENTIAL_CREATED`);
  await tab.getByRole('cell', { name: 'CREDENTIAL_CREATED' }).waitFor();
  await tab.getByText(keyID).waitFor();
  await audit(tab, 'audit log with an API key event');
  await ctx.close();
});
