// The cockpit measured in a real browser (see bench/screens.sh):
// 1. first load: navigation start → KPIs, map and charts drawn, median of 7 cold loads;
// 2. live load: RATE events a minute posted through the API for MINUTES while the cockpit is
//    open; for each event, post → shown in the feed; frame gaps (requestAnimationFrame), long
//    tasks, JS heap before and after, and the feed and marker counts (which must stay capped).
import { parseArgs } from 'node:util';
import { createRequire } from 'node:module';

const require = createRequire(new URL('../ui/package.json', import.meta.url));
const { chromium } = require('playwright-core');

const { values } = parseArgs({ options: {
  base: { type: 'string' }, chromium: { type: 'string', default: '/usr/bin/chromium' },
  rate: { type: 'string', default: '1000' }, minutes: { type: 'string', default: '1' }, password: { type: 'string', default: 'linli-demo' },
} });
const base = values.base;
const rate = Number(values.rate);
const minutes = Number(values.minutes);
const args = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--enable-precise-memory-info'];
const browser = await chromium.launch({ executablePath: values.chromium, args });

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN; };
const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)] : NaN; };

async function token(username) {
  const r = await fetch(`${base}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password: values.password }) });
  const body = await r.json();
  return { token: body.token, session: { token: body.token, expires_at: body.expires_at, user: body.user } };
}

const leader = await token('leader');
const reporter = await token('district_dispatcher');
const context = await browser.newContext({ viewport: { width: 1920, height: 1080 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
await context.addInitScript((session) => localStorage.setItem('linli.session', JSON.stringify(session)), leader.session);

// 1. First load, cold each time (a fresh page, the HTTP cache bypassed by a new context).
const loads = [];
for (let i = 0; i < 7; i++) {
  const fresh = await browser.newContext({ viewport: { width: 1920, height: 1080 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
  await fresh.addInitScript((session) => localStorage.setItem('linli.session', JSON.stringify(session)), leader.session);
  const page = await fresh.newPage();
  await page.goto(`${base}/cockpit/`);
  await page.waitForFunction(() => window.__cockpit && window.__cockpit.loadedAt, null, { timeout: 30000 });
  loads.push(await page.evaluate(() => window.__cockpit.loadedAt)); // performance.now() at drawn: ms since navigation start
  await fresh.close();
}
console.log(`first load (navigation → cockpit drawn), 7 cold loads: median ${median(loads).toFixed(0)} ms, max ${Math.max(...loads).toFixed(0)} ms`);

// 2. Live load.
const page = await context.newPage();
await page.goto(`${base}/cockpit/`);
await page.waitForFunction(() => window.__cockpit && window.__cockpit.loadedAt, null, { timeout: 30000 });
const cdp = await context.newCDPSession(page);
await cdp.send('Performance.enable');
const heap = async () => { await cdp.send('HeapProfiler.collectGarbage'); const m = await cdp.send('Performance.getMetrics'); return m.metrics.find((x) => x.name === 'JSHeapUsedSize').value; };
const heapBefore = await heap();
await page.evaluate(() => {
  window.__bench = { gaps: [], longTasks: 0, seen: new Map() };
  let last = performance.now();
  const tick = (now) => { window.__bench.gaps.push(now - last); last = now; requestAnimationFrame(tick); };
  requestAnimationFrame(tick);
  new PerformanceObserver((list) => { window.__bench.longTasks += list.getEntries().length; }).observe({ entryTypes: ['longtask'] });
  new MutationObserver(() => {
    document.querySelectorAll('#feed .feed-item[data-event-id]').forEach((row) => {
      const id = row.dataset.eventId;
      if (!window.__bench.seen.has(id)) window.__bench.seen.set(id, Date.now());
    });
  }).observe(document.querySelector('#feed'), { childList: true, subtree: true });
});

const communities = await (await fetch(`${base}/api/v1/regions?level=community&limit=50`, { headers: { authorization: `Bearer ${reporter.token}` } })).json();
const places = communities.items.filter((c) => c.position);
const categories = ['env.sanitation', 'traffic.parking', 'safety.fire', 'env.noise', 'prop.service', 'traffic.road'];
const total = Math.round(rate * minutes);
const interval = 60000 / rate;
const posted = new Map();
const started = Date.now();
let failures = 0;
const inflight = [];
for (let i = 0; i < total; i++) {
  const due = started + i * interval;
  const wait = due - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  const place = places[i % places.length];
  const body = {
    source: 'grid_patrol', category: categories[i % categories.length], region_code: place.code, severity: 'minor', title: `压测事件 ${i}`,
    lon: place.position.lon + ((i % 17) - 8) * 0.0003, lat: place.position.lat + ((i % 13) - 6) * 0.0003,
  };
  const sent = Date.now();
  inflight.push(fetch(`${base}/api/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${reporter.token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })
    .then(async (r) => { if (!r.ok) { failures++; return; } const out = await r.json(); posted.set(String(out.event.id), sent); })
    .catch(() => { failures++; }));
}
await Promise.all(inflight);
await page.waitForTimeout(3000);
const result = await page.evaluate(() => ({
  gaps: window.__bench.gaps, longTasks: window.__bench.longTasks, seen: [...window.__bench.seen.entries()],
  feed: window.__cockpit.feed, markers: window.__cockpit.markers,
}));
const heapAfter = await heap();
const seen = new Map(result.seen);
const latencies = [];
for (const [id, sent] of posted) if (seen.has(id)) latencies.push(seen.get(id) - sent);
const gaps = result.gaps.slice(10);
const elapsed = (Date.now() - started) / 1000;
console.log(`live: ${posted.size} events posted in ${elapsed.toFixed(0)} s (${failures} failed), ${latencies.length} seen in the feed`);
console.log(`  post → shown in the feed: median ${median(latencies)} ms, p99 ${pct(latencies, 0.99)} ms`);
console.log(`  frames: median gap ${median(gaps).toFixed(1)} ms, p99 ${pct(gaps, 0.99).toFixed(1)} ms, max ${Math.max(...gaps).toFixed(0)} ms; long tasks (>50 ms): ${result.longTasks}`);
console.log(`  JS heap after GC: ${(heapBefore / 1048576).toFixed(1)} MiB before, ${(heapAfter / 1048576).toFixed(1)} MiB after; feed rows ${result.feed}, map markers ${result.markers}`);
await browser.close();
