// A test application page for @cryptr/cryptr-spa-js (a browser bundle):
// a tiny HTTP server on its own loopback origin serves the SPA's UMD build
// and a page that creates the client, handles the callback and exposes the
// result as window.result; headless Chromium (Debian chromium, driven by
// playwright-core) loads it.
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { freePort } from './server.mjs';

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

// startSpa registers a single-page application for org, serves the bundle
// (a path to a cryptr-spa-js UMD file) on a fresh origin, and launches
// Chromium. extra is merged into the SPA's configuration.
export async function startSpa(srv, org, bundlePath, extra = {}) {
  const bundle = readFileSync(bundlePath);
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const app = await srv.api('POST', `/api/v2/org/${org.domain}/applications`, {
    name: 'spa', application_type: 'react', allowed_redirect_urls: [`${origin}/`], allowed_origins_cors: [origin],
    allowed_web_origins: [origin], allowed_logout_urls: [`${origin}/`], default_origin_cors: origin,
  });
  const config = { tenant_domain: org.domain, client_id: app.client_id, cryptr_base_url: srv.base,
    default_locale: 'en', default_slo_after_revoke: false, dedicated_server: false, ...extra };
  const web = createServer((req, res) => {
    if (req.url.startsWith('/cryptr-spa-js.umd.js')) {
      res.writeHead(200, { 'content-type': 'text/javascript' });
      res.end(bundle);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(page(config));
  });
  await new Promise((r) => web.listen(port, '127.0.0.1', r));
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run'],
  });
  return {
    origin, app, browser,
    // open returns a new tab on the application page with its logs.
    async open() {
      const ctx = await browser.newContext();
      const tab = await ctx.newPage();
      const logs = [];
      tab.on('console', (m) => logs.push(m.text()));
      tab.on('response', (r) => {
        if (r.request().method() !== 'GET') logs.push(`${r.request().method()} ${r.url()} ${r.status()}`);
      });
      await tab.goto(`${origin}/`);
      await tab.waitForFunction(() => window.ready === true);
      return { ctx, tab, logs };
    },
    async close() {
      await browser.close();
      await new Promise((r) => web.close(r));
    },
  };
}
