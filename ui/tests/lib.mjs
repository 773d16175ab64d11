// What every end-to-end suite shares: the browser (Debian's chromium through playwright-core),
// logging in as a demo role, phone and wall viewports, and calling the API directly.
import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';

export { assert };

export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

export async function launch(executablePath) {
  return chromium.launch({ executablePath, args: CHROMIUM_ARGS });
}

export const VIEWPORTS = {
  wall: { width: 1920, height: 1080 },
  desktop: { width: 1440, height: 900 },
  phone: { width: 390, height: 844 },
};

/**
 * The context suites receive: `base` URL, `password` of the demo users, `shots` (a directory for
 * screenshots, or null), and helpers.
 */
export function context({ browser, base, password, shots }) {
  const ctx = {
    browser, base, password, shots,
    /** A new page in its own browser context (own storage), sized for `viewport`. */
    async page(viewport = 'desktop', options = {}) {
      const isPhone = viewport === 'phone';
      const browserContext = await browser.newContext({
        viewport: VIEWPORTS[viewport] || viewport, isMobile: isPhone, hasTouch: isPhone, locale: 'zh-CN', timezoneId: 'Asia/Shanghai', ...options,
      });
      const page = await browserContext.newPage();
      page.on('pageerror', (e) => console.error(`  [page error] ${e.message}`));
      return page;
    },
    /** Logs `username` in through the login form and waits for its landing screen. */
    async login(page, username, password = ctx.password) {
      await page.goto(`${base}/`);
      await page.fill('#username', username);
      await page.fill('#password', password);
      await Promise.all([page.waitForURL((url) => url.pathname !== '/'), page.click('button[type=submit]')]);
      return page;
    },
    /** Calls the API as `username` (logging in once per user) and returns the parsed body. */
    async api(username, method, path, body) {
      ctx.tokens ??= {};
      if (!ctx.tokens[username]) {
        const login = await fetch(`${base}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password: ctx.password }) });
        assert.equal(login.status, 200, `login ${username}`);
        ctx.tokens[username] = (await login.json()).token;
      }
      const response = await fetch(`${base}/api/v1${path}`, {
        method, headers: { authorization: `Bearer ${ctx.tokens[username]}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined,
      });
      const text = await response.text();
      const data = text ? JSON.parse(text) : null;
      if (!response.ok) throw new Error(`${method} ${path} as ${username}: ${response.status} ${text}`);
      return data;
    },
    /** Saves a screenshot as `<shots>/<name>.png` when screenshots are wanted. */
    async shot(page, name) {
      if (ctx.shots) await page.screenshot({ path: `${ctx.shots}/${name}.png` });
    },
  };
  return ctx;
}
