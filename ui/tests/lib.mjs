// What every end-to-end suite shares: the browser (Debian's chromium through playwright-core),
// logging in as a demo role, phone and wall viewports, and calling the API directly.
import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';
import { deflateSync } from 'node:zlib';

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

// --- Photos made here, so the tests need no files -------------------------------------------------

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function pngChunk(type, data) {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  let crc = 0xffffffff;
  for (const b of body) crc = CRC_TABLE[(crc ^ b) & 0xff] ^ (crc >>> 8);
  const out = Buffer.alloc(8 + body.length);
  out.writeUInt32BE(data.length, 0);
  body.copy(out, 4);
  out.writeUInt32BE((crc ^ 0xffffffff) >>> 0, 4 + body.length);
  return out;
}

/** A real 8-bit RGB PNG of `width`×`height` whose pixel (x, y) is `pixel(x, y)` = [r, g, b]. */
export function png(width, height, pixel) {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8);
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) raw.set(pixel(x, y), y * (width * 3 + 1) + 1 + x * 3);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', header), pngChunk('IDAT', deflateSync(raw)), pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A small gradient photo; each `seed` gives a different picture. */
export const gradientPhoto = (seed = Math.floor(Math.random() * 255), size = 24) =>
  png(size, size, (x, y) => [(seed + x * 9) & 255, (y * 9) & 255, (seed * 3 + x + y) & 255]);

/** A photo of a pile of rubbish on a pavement. */
export function rubbishPhoto() {
  const blobs = [[80, 110, 34, [74, 96, 60]], [130, 118, 28, [40, 40, 44]], [165, 108, 22, [196, 152, 64]], [110, 96, 18, [210, 210, 205]]];
  return png(240, 160, (x, y) => {
    let c = y < 70 ? [176, 200, 222] : [150, 146, 138];
    if (y >= 66 && y < 72) c = [120, 120, 118];
    for (const [bx, by, r, col] of blobs) if ((x - bx) ** 2 + ((y - by) * 1.4) ** 2 < r * r) c = col;
    return c;
  });
}

// --- The demo world the phone suites share: the grid worker's grid, the resident's home ---------

const OPEN_OR_MERGEABLE = 'new,dispatched,accepted,in_progress,suspended,returned,resolved,callback';
export const stamp = () => new Date().toISOString().slice(11, 19).replace(/:/g, '');

export async function world(ctx) {
  if (ctx.mobileWorld) return ctx.mobileWorld;
  const gridWorker = (await ctx.api('grid_worker', 'GET', '/auth/me')).user;
  const resident = (await ctx.api('resident', 'GET', '/auth/me')).user;
  const grid = await ctx.api('grid_worker', 'GET', `/regions/${gridWorker.region_code}`);
  const dwelling = await ctx.api('resident', 'GET', `/regions/${encodeURIComponent(resident.region_code)}`);
  const street = (await ctx.api('street_dispatcher', 'GET', '/auth/me')).user.region_code;
  const taxonomy = await ctx.api('grid_worker', 'GET', '/taxonomy');
  ctx.mobileWorld = { grid, dwelling, street, taxonomy, used: new Set() };
  return ctx.mobileWorld;
}

/**
 * A category with no mergeable order (open, resolved or called back) within 400 m of `at` — a
 * report there opens an order of its own instead of joining another (多人同诉 merges within 200 m).
 */
export async function freshCategory(ctx, at, prefer = []) {
  const w = await world(ctx);
  const shuffled = w.taxonomy.map((c) => c.code).sort(() => Math.random() - 0.5);
  const codes = [...prefer.filter((c) => shuffled.includes(c)), ...shuffled.filter((c) => !prefer.includes(c))].filter((c) => !w.used.has(c));
  for (const code of codes) {
    const page = await ctx.api('district_dispatcher', 'GET', `/orders?within=${w.street}&category=${code}&status=${OPEN_OR_MERGEABLE}&limit=500`);
    const near = page.items.some((o) => (o.position ? metresBetween(o.position, at) < 400 : [w.grid.code, w.dwelling.code, w.grid.parent_code].includes(o.region_code)));
    if (!near) { w.used.add(code); return code; }
  }
  throw new Error('every category has an open order near the test point');
}

function metresBetween(a, b) {
  const rad = Math.PI / 180;
  const h = Math.sin(((b.lat - a.lat) * rad) / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(((b.lon - a.lon) * rad) / 2) ** 2;
  return 2 * 6371008.8 * Math.asin(Math.sqrt(h));
}

/** A point `metres` east and north of `p`. */
export function offset(p, east, north) {
  return { lon: p.lon + east / (111320 * Math.cos((p.lat * Math.PI) / 180)), lat: p.lat + north / 110540 };
}

/** Ends a test's order so that later reports do not merge into it. */
export async function cleanup(ctx, id) {
  try {
    const order = await ctx.api('district_dispatcher', 'GET', `/orders/${id}`);
    if (order.status === 'callback') await ctx.api('district_dispatcher', 'POST', `/orders/${id}/actions`, { action: 'close' });
    else if (!['closed', 'terminated'].includes(order.status)) {
      await ctx.api('district_dispatcher', 'POST', `/orders/${id}/actions`, { action: 'terminate', reason: '端到端测试结束' });
    }
  } catch (_) { /* best effort */ }
}

export async function until(what, probe, timeout = 15000) {
  const end = Date.now() + timeout;
  let last;
  while (Date.now() < end) {
    last = await probe();
    if (last) return last;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export const phone = (at) => ({ geolocation: { latitude: at.lat, longitude: at.lon, accuracy: 12 }, permissions: ['geolocation'] });
