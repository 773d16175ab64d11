// The leadership cockpit (大屏): it lands for leaders, shows the API's figures, moves live within
// two seconds, drills down to a building's dwellings, stays capped under a burst of events,
// reconnects after a cut, and speaks English on request.
import { assert } from './lib.mjs';

const pct = (v) => (v == null ? '—' : `${(v * 100).toFixed(1)}%`);
const num = (n) => Number(n).toLocaleString('zh-CN');
const int = (text) => Number(String(text).replace(/[^\d]/g, ''));

/** A wall-sized page logged in as `username`, with the cockpit loaded and its side data in. */
async function open(ctx, username = 'leader', path = null) {
  const page = await ctx.page('wall');
  await ctx.login(page, username);
  if (path) await page.goto(`${ctx.base}${path}`);
  await page.waitForFunction(() => window.__cockpit?.ready && window.__cockpit.settled, null, { timeout: 15000 });
  await page.waitForFunction(() => document.getElementById('live-state').dataset.state === 'online', null, { timeout: 5000 });
  return page;
}

/** Waits until the KPIs show what `/cockpit` says (re-asking the API, as counts may move meanwhile). */
async function kpisMatchApi(ctx, page, username, region) {
  let last;
  for (let i = 0; i < 10; i += 1) {
    const report = await ctx.api(username, 'GET', `/cockpit${region ? `?region=${region}` : ''}`);
    const want = {
      '#kpi-orders-today': num(report.orders_today), '#kpi-open': num(report.orders_open), '#kpi-overdue': num(report.orders_overdue),
      '#kpi-events-today': num(report.events_today), '#kpi-closed-today': num(report.orders_closed_today),
      '#kpi-response-rate': pct(report.rates.response_rate), '#kpi-resolution-rate': pct(report.rates.resolution_rate),
      '#kpi-satisfaction-rate': pct(report.rates.satisfaction_rate),
    };
    const ok = await page.waitForFunction((w) => Object.entries(w).every(([sel, text]) => document.querySelector(sel)?.textContent === text), want, { timeout: 1500 })
      .then(() => true, () => false);
    if (ok) return report;
    last = { want, got: await page.evaluate((sels) => Object.fromEntries(sels.map((s) => [s, document.querySelector(s)?.textContent])), Object.keys(want)) };
  }
  assert.fail(`KPIs never matched /cockpit: ${JSON.stringify(last)}`);
}

/** Reports an event as the grid worker in their grid (or at `where` in it); returns the API's outcome. */
async function report(ctx, category, title, severity = 'major', where = null) {
  ctx.gridCode ??= (await ctx.api('grid_worker', 'GET', '/auth/me')).user.region_code;
  return ctx.api('grid_worker', 'POST', '/events', { source: 'grid_patrol', category, region_code: where || ctx.gridCode, title, severity });
}

async function click(page, code) {
  const at = await page.evaluate((c) => window.__cockpit.pixelOf(c), code);
  assert.ok(at, `${code} is drawn on the map`);
  await page.mouse.click(at.x, at.y);
}

export const tests = [
  {
    name: 'leader lands on the cockpit, which shows the API’s figures, map and charts',
    async run(ctx) {
      const page = await ctx.page('wall');
      await ctx.login(page, 'leader');
      assert.equal(new URL(page.url()).pathname, '/cockpit/');
      // First load: from the cockpit's navigation start to the figures and map drawn.
      await page.waitForFunction(() => window.__cockpit?.loadedAt != null, null, { timeout: 10000 });
      const firstLoad = await page.evaluate(() => window.__cockpit.loadedAt);
      console.log(`cockpit first load: ${firstLoad} ms`);
      assert.ok(firstLoad < 2000, `first load ${firstLoad} ms is under 2 s`);
      await page.waitForFunction(() => window.__cockpit.settled, null, { timeout: 10000 });

      const api = await kpisMatchApi(ctx, page, 'leader');
      assert.equal(await page.textContent('#title'), `${api.region.name} · 基层治理综合态势`);
      // Scenes: all seven counters, each the API's count (absent = 0).
      const scenes = await page.$$eval('#scenes [data-scene]', (els) => Object.fromEntries(els.map((e) => [e.dataset.scene, Number(e.querySelector('.scene-count').textContent)])));
      assert.deepEqual(Object.keys(scenes).sort(), ['bin_overflow', 'crowd', 'fire_lane_blocked', 'group_rental', 'illegal_parking', 'intrusion', 'throwing']);
      for (const [scene, count] of Object.entries(scenes)) assert.equal(count, api.scenes.find((s) => s.scene === scene)?.count ?? 0, `scene ${scene}`);
      // The map: the registry's geometry in a geo component, areas coloured, devices and events drawn.
      const map = await page.evaluate(() => {
        const option = echarts.getInstanceByDom(document.getElementById('map')).getOption();
        const series = Object.fromEntries(option.series.map((s) => [s.id, s.data.length]));
        return { geo: option.geo.map((g) => g.map), series };
      });
      assert.match(map.geo[1], /^linli-/);
      assert.equal(map.series.pins, api.areas.filter((a) => a.geometry && a.geometry.type !== 'Point').length);
      assert.ok(map.series.devices > 0, 'devices on the map');
      assert.ok(map.series.events > 0, 'event markers on the map');
      // Every chart has data; the feed has rows; the connection is live.
      for (const id of ['chart-categories', 'chart-devices', 'chart-trend', 'chart-areas', 'chart-rate-response']) {
        const n = await page.evaluate((el) => echarts.getInstanceByDom(document.getElementById(el))?.getOption().series.length || 0, id);
        assert.ok(n > 0, `${id} drawn`);
      }
      assert.ok(await page.evaluate(() => window.__cockpit.feed) > 0, 'the feed has events');
      await page.waitForFunction(() => document.getElementById('live-state').dataset.state === 'online', null, { timeout: 5000 });
      await page.waitForTimeout(600); // let the ripples and the bars finish their entrance
      await ctx.shot(page, 'cockpit');
      await page.context().close();
    },
  },
  {
    name: 'a new event shows in the feed and the counters within 2 s, without reloading',
    async run(ctx) {
      const page = await open(ctx);
      await page.evaluate(() => { window.__sameDocument = true; });
      const loads = await page.evaluate(() => window.__cockpit.loads);
      await kpisMatchApi(ctx, page, 'leader');
      const before = { orders: int(await page.textContent('#kpi-orders-today')), events: int(await page.textContent('#kpi-events-today')) };
      // Report until one opens a new order: a report joins an open incident of its category at the
      // same node (多人同诉), so each try names another dwelling of the grid and another category.
      const categories = (await ctx.api('grid_worker', 'GET', '/taxonomy')).map((c) => c.code);
      ctx.gridCode ??= (await ctx.api('grid_worker', 'GET', '/auth/me')).user.region_code;
      const dwellings = (await ctx.api('grid_worker', 'GET', `/regions?within=${ctx.gridCode}&level=dwelling&limit=1000`)).items.map((d) => d.code);
      let opened = null;
      let reported = 0;
      const seed = Math.floor(Date.now() / 1000);
      for (let i = 0; i < 30 && !opened; i += 1) {
        const category = categories[(seed + i) % categories.length];
        const where = dwellings.length ? dwellings[(seed * 7 + i) % dwellings.length] : null;
        const started = Date.now();
        const outcome = await report(ctx, category, '测试实时事件', 'major', where);
        reported += 1;
        await page.waitForSelector(`#feed .feed-item[data-event-id="${outcome.event.id}"]`, { timeout: 2000 });
        const feedMs = Date.now() - started;
        if (!outcome.merged && outcome.order) {
          await page.waitForFunction((n) => Number(document.getElementById('kpi-orders-today').textContent.replace(/[^\d]/g, '')) >= n, before.orders + 1, { timeout: Math.max(1, 2000 - (Date.now() - started)) });
          opened = { ms: Date.now() - started, feedMs, id: outcome.event.id };
        }
      }
      assert.ok(opened, 'some report opened a new order');
      console.log(`  live: feed row after ${opened.feedMs} ms, orders today up after ${opened.ms} ms (${reported} report(s))`);
      assert.ok(int(await page.textContent('#kpi-events-today')) >= before.events + reported, 'events today went up');
      assert.equal(await page.textContent(`#feed .feed-item[data-event-id="${opened.id}"] .title`), '测试实时事件');
      assert.ok(await page.evaluate(() => window.__sameDocument === true), 'no reload');
      assert.equal(await page.evaluate(() => window.__cockpit.loads), loads, 'no reload of the data either');
      assert.ok(await page.evaluate(() => window.__cockpit.lastMessageId) > 0);
      // The exact refetch agrees with the API.
      await kpisMatchApi(ctx, page, 'leader');
      await page.context().close();
    },
  },
  {
    name: 'clicking a street, a community, then a building shows its dwellings with occupancy, masked',
    async run(ctx) {
      const page = await open(ctx);
      const top = await page.evaluate(() => window.__cockpit.region);
      ctx.gridCode ??= (await ctx.api('grid_worker', 'GET', '/auth/me')).user.region_code;
      const chain = await ctx.api('leader', 'GET', `/regions/${ctx.gridCode}/ancestors`);
      const street = chain.find((r) => r.level === 'street');
      const community = chain.find((r) => r.level === 'community');

      await click(page, street.code);
      await page.waitForFunction((c) => window.__cockpit.region === c && window.__cockpit.settled, street.code, { timeout: 10000 });
      assert.equal(new URL(page.url()).searchParams.get('region'), street.code);
      assert.match(await page.textContent('#crumbs'), new RegExp(`${chain[0].name}.*${street.name}`));
      await kpisMatchApi(ctx, page, 'leader', street.code);

      await click(page, community.code);
      await page.waitForFunction((c) => window.__cockpit.region === c && window.__cockpit.settled, community.code, { timeout: 10000 });
      const buildings = await page.evaluate(() => window.__cockpit.buildings());
      assert.ok(buildings.length > 0, 'the community shows its buildings');
      const building = buildings[0];
      await click(page, building.code);
      await page.waitForSelector('#building-panel .dwelling', { timeout: 10000 });
      assert.equal(await page.evaluate(() => window.__cockpit.building), building.code);

      const dwellings = (await ctx.api('leader', 'GET', `/regions?within=${building.code}&level=dwelling&limit=1000`)).items;
      const residents = (await ctx.api('leader', 'GET', `/residents?within=${building.code}&limit=1000`)).items;
      const cells = await page.$$eval('#building-panel .dwelling', (els) => els.map((e) => ({ code: e.dataset.code, n: Number(e.dataset.occupancy), care: e.classList.contains('care') })));
      assert.equal(cells.length, dwellings.length, 'every dwelling has a cell');
      for (const cell of cells) {
        const here = residents.filter((r) => (r.dwellings.length ? r.dwellings.map((d) => d.dwelling_code) : [r.home_code]).includes(cell.code));
        assert.equal(cell.n, here.length, `occupancy of ${cell.code}`);
        assert.equal(cell.care, here.some((r) => r.care_tags.length > 0), `care mark of ${cell.code}`);
      }
      assert.equal(int(await page.textContent('#bp-residents')), residents.length);
      // Open a lived-in dwelling: its residents, as the API gives them to this role.
      const lived = cells.find((c) => c.n > 0);
      await page.click(`#building-panel .dwelling[data-code="${lived.code}"]`);
      const names = await page.$$eval('#building-panel .bp-person b', (els) => els.map((e) => e.textContent));
      assert.equal(names.length, lived.n);
      const me = await ctx.api('leader', 'GET', '/auth/me');
      if (!me.sees_sensitive) for (const name of names) assert.match(name, /\*/, `${name} is masked for the leader`);
      await ctx.shot(page, 'cockpit-building');

      // Back through history: the street, then the top.
      await page.goBack();
      await page.waitForFunction((c) => window.__cockpit.region === c, street.code, { timeout: 10000 });
      await page.goBack();
      await page.waitForFunction((c) => window.__cockpit.region === c, top, { timeout: 10000 });
      await page.context().close();
    },
  },
  {
    name: 'a burst of events keeps the feed and the markers capped and the page responsive',
    async run(ctx) {
      const page = await open(ctx);
      const heapBefore = await page.evaluate(() => performance.memory?.usedJSHeapSize || 0);
      await page.evaluate(() => {
        window.__gap = 0;
        let last = performance.now();
        const tick = (now) => { window.__gap = Math.max(window.__gap, now - last); last = now; requestAnimationFrame(tick); };
        requestAnimationFrame(tick);
      });
      // 1,000 events a minute is ~17 a second; this machine has 2 cores, so the burst is 250 events
      // sent as fast as the API takes them (several times that rate), four at a time.
      const N = 250;
      const started = Date.now();
      let sent = 0;
      let lastId = 0;
      const probes = [];
      const worker = async () => {
        while (sent < N) {
          sent += 1;
          const outcome = await report(ctx, 'env.sanitation', `压力测试事件 ${sent}`, 'minor');
          lastId = Math.max(lastId, outcome.event.id);
        }
      };
      const probe = (async () => {
        while (sent < N) {
          const t0 = Date.now();
          await page.evaluate(() => document.querySelectorAll('#feed .feed-item').length);
          probes.push(Date.now() - t0);
          await new Promise((r) => setTimeout(r, 200));
        }
      })();
      await Promise.all([worker(), worker(), worker(), worker(), probe]);
      const sendMs = Date.now() - started;
      await page.waitForFunction((id) => Number(document.querySelector('#feed .feed-item')?.dataset.eventId) === id, lastId, { timeout: 5000 });
      const caughtUpMs = Date.now() - started;
      const state = await page.evaluate(() => {
        const option = echarts.getInstanceByDom(document.getElementById('map')).getOption();
        return {
          feed: window.__cockpit.feed, markers: window.__cockpit.markers, rows: document.querySelectorAll('#feed li').length,
          drawn: option.series.find((s) => s.id === 'events').data.length, gap: Math.round(window.__gap), heap: performance.memory?.usedJSHeapSize || 0,
        };
      });
      const worstProbe = Math.max(0, ...probes);
      // The map's markers follow within a second (charts redraw at most once a second).
      await page.waitForFunction(() => echarts.getInstanceByDom(document.getElementById('map')).getOption().series.find((s) => s.id === 'events').data.length === 300, null, { timeout: 2500 });
      console.log(`  page stats: ${JSON.stringify(await page.evaluate(() => window.__cockpit.stats))}`);
      console.log(`  burst: ${N} events sent in ${sendMs} ms (${Math.round((N / sendMs) * 60000)}/min), last shown after ${caughtUpMs} ms; feed ${state.feed}, markers ${state.markers} (drawn ${state.drawn}); longest frame gap ${state.gap} ms, slowest probe ${worstProbe} ms; heap ${Math.round(heapBefore / 1e6)} → ${Math.round(state.heap / 1e6)} MB`);
      assert.equal(state.feed, 50, 'the feed is capped at 50 rows');
      assert.equal(state.rows, 50);
      assert.equal(state.markers, 300, 'the markers are capped at 300');
      assert.ok(state.drawn <= 300, 'at most 300 markers drawn');
      assert.ok(worstProbe < 1000, `the page answered within 1 s throughout (slowest ${worstProbe} ms)`);
      assert.ok(state.gap < 1000, `no frame took a second (longest gap ${state.gap} ms)`);
      if (heapBefore) assert.ok(state.heap - heapBefore < 40e6, 'memory stays bounded');
      await kpisMatchApi(ctx, page, 'leader');
      await page.context().close();
    },
  },
  {
    name: 'a cut connection shows its state, reconnects and catches up',
    async run(ctx) {
      const page = await open(ctx);
      await page.waitForFunction(() => document.getElementById('live-state').dataset.state === 'online', null, { timeout: 5000 });
      // Cut the socket and report while it is down: the report arrives once it is back.
      await page.evaluate(() => window.__cockpit.dropLive());
      const outcome = await report(ctx, 'traffic.bike', '断线期间的事件');
      await page.waitForSelector(`#feed .feed-item[data-event-id="${outcome.event.id}"]`, { timeout: 8000 });
      await page.waitForFunction(() => document.getElementById('live-state').dataset.state === 'online', null, { timeout: 8000 });
      assert.match(await page.textContent('#live-state'), /实时连接/);
      // An area outside the leader's jurisdiction gives a readable message, not a blank screen.
      await page.goto(`${ctx.base}/cockpit/?region=999999999`);
      await page.waitForSelector('#error:not([hidden])', { timeout: 5000 });
      const message = await page.textContent('#error');
      assert.ok(message.length > 4 && !/undefined|\[object/.test(message), `readable error: ${message}`);
      await page.context().close();
    },
  },
  {
    name: 'the cockpit switches to English and back; residents may not open it',
    async run(ctx) {
      const page = await open(ctx);
      const loads = await page.evaluate(() => window.__cockpit.loads);
      await page.click('.lang-switch');
      await page.waitForFunction(() => document.documentElement.lang === 'en');
      assert.match(await page.textContent('#title'), /Governance situation/);
      assert.equal(await page.textContent('[data-i18n="kpi.orders_today"]'), 'Orders today');
      assert.equal(await page.textContent('#scenes [data-scene="illegal_parking"] .scene-label'), 'Illegal parking');
      assert.equal(await page.textContent('#live-state'), 'Live');
      assert.match(await page.textContent('#feed .feed-item .sev'), /^(Info|Minor|Major|Critical)$/);
      assert.equal(await page.evaluate(() => window.__cockpit.loads), loads, 'switched without reloading');
      await page.waitForTimeout(1200); // the charts redraw in English with their entrance animation
      await ctx.shot(page, 'cockpit-en');
      await page.click('.lang-switch');
      await page.waitForFunction(() => document.documentElement.lang === 'zh-CN');
      assert.equal(await page.textContent('[data-i18n="kpi.orders_today"]'), '今日工单');
      await page.context().close();

      const resident = await ctx.page('wall');
      await ctx.login(resident, 'resident');
      await resident.goto(`${ctx.base}/cockpit/`);
      await resident.waitForURL((url) => url.pathname !== '/cockpit/', { timeout: 5000 });
      assert.notEqual(new URL(resident.url()).pathname, '/cockpit/');
      await resident.context().close();
    },
  },
];
