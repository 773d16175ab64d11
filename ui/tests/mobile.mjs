// The mobile app (小屏) on a phone viewport: a grid worker accepts, checks in, photographs and
// resolves a task; actions taken offline are queued and land exactly once; a resident reports
// with a photo and location, follows the order and rates it at callback; a patrol report.
import { assert, gradientPhoto, world, freshCategory, offset, cleanup, until, phone, stamp } from './lib.mjs';

// --- Set-up through the API -------------------------------------------------------------------

/** A grid-patrol order in the grid worker's grid, dispatched down to the grid by the street. */
async function dispatchedOrder(ctx, title, prefer = []) {
  const w = await world(ctx);
  const at = offset(w.grid.position, 30, -20);
  const category = await freshCategory(ctx, at, prefer);
  const outcome = await ctx.api('grid_worker', 'POST', '/events', {
    source: 'grid_patrol', category, region_code: w.grid.code, lon: at.lon, lat: at.lat, title, description: '端到端测试：巡查发现', severity: 'minor',
  });
  assert.ok(outcome.order, 'a patrol event opens an order');
  assert.equal(outcome.order.status, 'new', 'a fresh order');
  await ctx.api('street_dispatcher', 'POST', `/orders/${outcome.order.id}/actions`, { action: 'dispatch', to: { kind: 'region', code: w.grid.code } });
  return { ...outcome.order, at };
}

async function mediaBytes(ctx, user, id) {
  const response = await fetch(`${ctx.base}/api/v1/media/${encodeURIComponent(id)}`, { headers: { authorization: `Bearer ${ctx.tokens[user]}` } });
  assert.equal(response.status, 200, `media ${id}`);
  return Buffer.from(await response.arrayBuffer());
}

export const tests = [
  {
    name: 'grid worker accepts, checks in, photographs and resolves a task',
    async run(ctx) {
      const title = `e2e 楼道堆物 ${stamp()}`;
      const order = await dispatchedOrder(ctx, title, ['env.sanitation', 'safety.fire', 'prop.service']);
      const here = offset(order.at, 25, 10); // about 27 m from the order's place
      const page = await ctx.page('phone', phone(here));
      try {
        await ctx.login(page, 'grid_worker');
        assert.equal(new URL(page.url()).pathname, '/mobile/');
        const card = page.locator(`#tasks .task[data-order-id="${order.id}"]`);
        await card.waitFor();
        assert.match(await card.textContent(), new RegExp(title));
        assert.match(await card.textContent(), /办结时限/, 'the SLA countdown shows');
        assert.match(await card.locator('.status').first().textContent(), /已派发/);
        assert.match(await card.locator('a[data-action=navigate]').getAttribute('href'), /^geo:40\.\d+,116\.\d+/);
        await page.waitForFunction((id) => /距您/.test(document.querySelector(`.task[data-order-id="${id}"]`)?.textContent || ''), order.id);
        await ctx.shot(page, 'mobile');

        await card.locator('button[data-action=accept]').click();
        await page.locator(`.task[data-order-id="${order.id}"][data-status=accepted] button[data-action=checkin]`).click();
        await page.locator(`.task[data-order-id="${order.id}"][data-status=in_progress]`).waitFor();
        await page.locator(`.task[data-order-id="${order.id}"] [data-action=open]`).first().click();
        await page.locator('#detail #result').fill('已联系物业清理楼道堆物，现场恢复通畅。');
        const photo = gradientPhoto(7);
        await page.setInputFiles('#detail input[type=file]#photo', { name: 'site.png', mimeType: 'image/png', buffer: photo });
        await page.locator('#photo-preview img').waitFor();
        assert.equal(await page.getAttribute('#detail #photo', 'capture'), 'environment');
        await page.click('#detail button[data-action=resolve]');

        const done = await until('the order to be resolved', async () => {
          const o = await ctx.api('grid_worker', 'GET', `/orders/${order.id}`);
          return o.status === 'resolved' ? o : null;
        });
        const resolve = done.history.find((e) => e.action === 'resolve');
        assert.equal(resolve.attachments.length, 1, 'the photo is attached to the resolve entry');
        assert.deepEqual(await mediaBytes(ctx, 'grid_worker', resolve.attachments[0]), photo, 'the very photo taken');
        assert.equal(resolve.data?.result ?? done.result, '已联系物业清理楼道堆物，现场恢复通畅。');
        const start = done.history.find((e) => e.action === 'start');
        assert.ok(start?.data?.position, 'check-in recorded a position');
        assert.ok(Math.abs(start.data.position.lat - here.lat) < 1e-6 && Math.abs(start.data.position.lon - here.lon) < 1e-6, 'the phone\'s position');
        assert.ok(start.data.distance_m > 10 && start.data.distance_m < 60, `distance from the place: ${start.data.distance_m}`);
        assert.equal(done.history.filter((e) => e.action === 'accept').length, 1);
        // The detail shows the check-in in its history.
        await page.waitForFunction(() => /到场打卡/.test(document.querySelector('#detail .timeline')?.textContent || ''));
      } finally {
        await page.context().close();
        await cleanup(ctx, order.id);
      }
    },
  },
  {
    name: 'actions taken offline are queued, survive a reload and sync exactly once',
    async run(ctx) {
      const order = await dispatchedOrder(ctx, `e2e 井盖松动 ${stamp()}`, ['traffic.road']);
      const page = await ctx.page('phone', phone(order.at));
      try {
        await ctx.login(page, 'grid_worker');
        const card = `#tasks .task[data-order-id="${order.id}"]`;
        await page.locator(card).waitFor();
        await page.waitForFunction(() => !!navigator.serviceWorker.controller, null, { timeout: 15000 });

        await page.context().setOffline(true);
        await page.locator(`${card} button[data-action=accept]`).click();
        await page.locator(`${card}.queued[data-status=accepted]`).waitFor();
        assert.equal(await page.textContent('#pending-count'), '1');
        await page.locator(`${card} [data-action=open]`).first().click();
        const note = `离线备注 ${stamp()}`;
        await page.locator('#detail #note').fill(note);
        await page.click('#detail button[data-action=comment]');
        await page.waitForFunction(() => document.querySelector('#pending-count').textContent === '2');
        await page.click('#detail [data-action=back]');

        // The app opens offline (service worker) with the queue and the task list kept.
        await page.reload();
        await page.locator(`${card}.queued`).waitFor();
        assert.equal(await page.textContent('#pending-count'), '2');
        assert.equal(await page.isVisible('#offline-banner'), true, 'the offline banner shows');
        let server = await ctx.api('grid_worker', 'GET', `/orders/${order.id}`);
        assert.equal(server.status, 'dispatched', 'nothing reached the server while offline');
        // Meanwhile the street changes the order (a new version): the queued accept still lands.
        await ctx.api('street_dispatcher', 'POST', `/orders/${order.id}/actions`, { action: 'comment', note: '请尽快处理' });

        await page.context().setOffline(false);
        await page.waitForFunction(() => document.querySelector('#pending-count').textContent === '0', null, { timeout: 30000 });
        await page.locator(`${card}:not(.queued)[data-status=accepted]`).waitFor();
        // A further flush and a reload must not send anything again.
        await page.evaluate(() => window.dispatchEvent(new Event('online')));
        await page.reload();
        await page.locator(card).waitFor();
        await page.waitForTimeout(1500);
        server = await ctx.api('grid_worker', 'GET', `/orders/${order.id}`);
        assert.equal(server.status, 'accepted');
        assert.equal(server.history.filter((e) => e.action === 'accept').length, 1, 'accepted exactly once');
        assert.equal(server.history.filter((e) => e.action === 'comment' && e.note === note).length, 1, 'commented exactly once');
      } finally {
        await page.context().close();
        await cleanup(ctx, order.id);
      }
    },
  },
  {
    name: 'an offline check-in and a resolve with a photo wait in the queue and land in order',
    async run(ctx) {
      const order = await dispatchedOrder(ctx, `e2e 消防通道堵塞 ${stamp()}`, ['safety.fire', 'prop.service']);
      await ctx.api('grid_worker', 'POST', `/orders/${order.id}/actions`, { action: 'accept' });
      const here = offset(order.at, -15, 0);
      const page = await ctx.page('phone', phone(here));
      try {
        await ctx.login(page, 'grid_worker');
        const card = `#tasks .task[data-order-id="${order.id}"]`;
        await page.locator(`${card}[data-status=accepted]`).waitFor();
        await page.waitForFunction(() => !!navigator.serviceWorker.controller, null, { timeout: 15000 });
        await page.context().setOffline(true);
        await page.locator(`${card} button[data-action=checkin]`).click();
        await page.locator(`${card}.queued[data-status=in_progress]`).waitFor();
        await page.locator(`${card} [data-action=open]`).first().click();
        await page.locator('#detail #result').fill('已清理消防通道杂物');
        const photo = gradientPhoto(150);
        await page.setInputFiles('#detail #photo', { name: 'fire-lane.png', mimeType: 'image/png', buffer: photo });
        await page.locator('#photo-preview img').waitFor();
        await page.click('#detail button[data-action=resolve]');
        await page.waitForFunction(() => document.querySelector('#pending-count').textContent === '2');
        // The photo is kept in IndexedDB across a reload.
        await page.reload();
        await page.locator('#detail .queued-note').waitFor();
        await page.click('#detail [data-action=back]');
        await page.locator(`${card}.queued[data-status=resolved]`).waitFor();
        await page.context().setOffline(false);
        await page.waitForFunction(() => document.querySelector('#pending-count').textContent === '0', null, { timeout: 30000 });
        const done = await until('the order to be resolved', async () => {
          const o = await ctx.api('grid_worker', 'GET', `/orders/${order.id}`);
          return o.status === 'resolved' ? o : null;
        });
        const actions = done.history.map((e) => e.action);
        assert.deepEqual(actions.slice(actions.indexOf('accept')), ['accept', 'start', 'resolve'], 'in order, once each');
        const start = done.history.find((e) => e.action === 'start');
        assert.ok(Math.abs(start.data.position.lon - here.lon) < 1e-6, 'the position taken offline');
        const resolve = done.history.find((e) => e.action === 'resolve');
        assert.deepEqual(await mediaBytes(ctx, 'grid_worker', resolve.attachments[0]), photo);
      } finally {
        await page.context().close();
        await cleanup(ctx, order.id);
      }
    },
  },
  {
    name: 'resident reports with photo and location, follows it and rates it at callback',
    async run(ctx) {
      const w = await world(ctx);
      const here = offset(w.dwelling.position, -40, 35);
      const category = await freshCategory(ctx, here, ['traffic.road', 'prop.service', 'util.power']);
      const page = await ctx.page('phone', phone(here));
      let id = null;
      try {
        await ctx.login(page, 'resident');
        assert.equal(new URL(page.url()).pathname, '/mobile/');
        const title = `e2e 路灯不亮 ${stamp()}`;
        await page.locator('#report-form #category option').nth(2).waitFor({ state: 'attached' });
        await page.selectOption('#report-form #category', category);
        await page.fill('#report-form #title', title);
        await page.fill('#report-form #description', '小区东门路灯连续三晚不亮，夜间出行不便。');
        const photo = gradientPhoto(99);
        await page.setInputFiles('#report-form #report-photo', { name: 'lamp.png', mimeType: 'image/png', buffer: photo });
        await page.locator('#report-preview img').waitFor();
        await page.waitForFunction(() => /已获取当前位置/.test(document.querySelector('#report-location').textContent));
        await ctx.shot(page, 'mobile-report');
        await page.click('#report-form button[type=submit]');

        const card = page.locator('#my-reports .report[data-order-id]', { hasText: title });
        await card.waitFor();
        id = Number(await card.getAttribute('data-order-id'));
        const order = await ctx.api('district_dispatcher', 'GET', `/orders/${id}`);
        assert.equal(order.source, 'resident_app');
        assert.equal(order.category, category);
        assert.ok(Math.abs(order.position.lat - here.lat) < 1e-6 && Math.abs(order.position.lon - here.lon) < 1e-6, 'the phone\'s position');
        const event = await ctx.api('district_dispatcher', 'GET', `/events/${order.event_id}`);
        assert.equal(event.evidence.length, 1);
        assert.deepEqual(await mediaBytes(ctx, 'district_dispatcher', event.evidence[0]), photo, 'the photo reported');

        // The order travels: the district dispatches to the grid, the grid worker resolves.
        await ctx.api('district_dispatcher', 'POST', `/orders/${id}/actions`, { action: 'dispatch', to: { kind: 'region', code: w.grid.code } });
        await ctx.api('grid_worker', 'POST', `/orders/${id}/actions`, { action: 'accept' });
        await ctx.api('grid_worker', 'POST', `/orders/${id}/actions`, { action: 'resolve', result: '已更换路灯灯泡，恢复照明。' });

        await page.click('#mine-refresh');
        const rated = page.locator(`#my-reports .report[data-order-id="${id}"]`);
        await rated.locator('button[data-satisfaction=satisfied]').waitFor();
        assert.match(await rated.textContent(), /已更换路灯灯泡/, 'the result shows');
        await rated.locator('button[data-satisfaction=satisfied]').click();
        const called = await until('the callback', async () => {
          const o = await ctx.api('district_dispatcher', 'GET', `/orders/${id}`);
          return o.status === 'callback' ? o : null;
        });
        assert.equal(called.callback.satisfaction, 'satisfied');
        assert.equal(called.callback.solved, true);
        assert.equal(called.callback.channel, 'requester');
        await page.locator(`#my-reports .report[data-order-id="${id}"] .rated`).waitFor();
        assert.match(await page.textContent(`#my-reports .report[data-order-id="${id}"] .rated`), /满意/);
      } finally {
        await page.context().close();
        if (id) await cleanup(ctx, id);
      }
    },
  },
  {
    name: 'grid worker files a patrol report with a photo',
    async run(ctx) {
      const w = await world(ctx);
      const here = offset(w.grid.position, -60, 40);
      const category = await freshCategory(ctx, here, ['traffic.bike', 'traffic.parking', 'env.sanitation']);
      const page = await ctx.page('phone', phone(here));
      let id = null;
      try {
        await ctx.login(page, 'grid_worker');
        await page.click('#tabbar [data-tab=report]');
        const title = `e2e 巡查 共享单车堆放 ${stamp()}`;
        await page.locator('#report-form #category option').nth(2).waitFor({ state: 'attached' });
        await page.selectOption('#report-form #category', category);
        await page.fill('#report-form #title', title);
        await page.fill('#report-form #description', '地铁站口共享单车大量堆放，占用盲道。');
        await page.click('#report-form #severity input[value=major] + span');
        const photo = gradientPhoto(42);
        await page.setInputFiles('#report-form #report-photo', { name: 'patrol.png', mimeType: 'image/png', buffer: photo });
        await page.locator('#report-preview img').waitFor();
        await page.waitForFunction(() => /已获取当前位置/.test(document.querySelector('#report-location').textContent));
        await page.click('#report-form button[type=submit]');
        await page.waitForFunction(() => document.querySelector('#report-form #title').value === '');

        const event = await until('the patrol event', async () => {
          const events = await ctx.api('street_dispatcher', 'GET', `/events?source=grid_patrol&category=${category}&within=${w.grid.code}&limit=20`);
          return events.items.find((e) => e.title === title);
        });
        assert.equal(event.severity, 'major');
        assert.equal(event.region_code, w.grid.code);
        assert.ok(Math.abs(event.position.lat - here.lat) < 1e-6, 'the phone\'s position');
        assert.equal(event.evidence.length, 1);
        assert.deepEqual(await mediaBytes(ctx, 'street_dispatcher', event.evidence[0]), photo);
        const incident = await ctx.api('street_dispatcher', 'GET', `/incidents/${event.incident_id}`);
        id = incident.order_id;
        const order = await ctx.api('street_dispatcher', 'GET', `/orders/${id}`);
        assert.equal(order.proactive, true, 'a patrol opens a proactive order (未诉先办)');
        // It is listed under 我的 → 我的巡查上报.
        await page.click('#tabbar [data-tab=me]');
        await page.locator(`#tab-me .report[data-order-id="${id}"]`).waitFor();
      } finally {
        await page.context().close();
        if (id) await cleanup(ctx, id);
      }
    },
  },
  {
    name: 'an expired session sends to login and keeps what was typed',
    async run(ctx) {
      const w = await world(ctx);
      const page = await ctx.page('phone', phone(w.dwelling.position));
      try {
        await ctx.login(page, 'resident');
        await page.fill('#report-form #title', '楼道灯坏了');
        await page.fill('#report-form #description', '3单元2层楼道灯不亮');
        // The session ends elsewhere (revoked), then the app calls the API.
        await page.evaluate(async () => {
          const s = JSON.parse(localStorage.getItem('linli.session'));
          await fetch('/api/v1/auth/logout', { method: 'POST', headers: { Authorization: `Bearer ${s.token}` } });
        });
        await page.click('#tabbar [data-tab=mine]');
        await page.waitForURL((url) => url.pathname === '/' && url.searchParams.get('expired') === '1');
        assert.match(await page.textContent('#message'), /登录已过期/);
        await page.fill('#username', 'resident');
        await page.fill('#password', ctx.password);
        await Promise.all([page.waitForURL((url) => url.pathname === '/mobile/'), page.click('button[type=submit]')]);
        await page.click('#tabbar [data-tab=report]');
        assert.equal(await page.inputValue('#report-form #title'), '楼道灯坏了');
        assert.equal(await page.inputValue('#report-form #description'), '3单元2层楼道灯不亮');
      } finally {
        await page.context().close();
      }
    },
  },
  {
    name: 'the app is Chinese by default and switches to English',
    async run(ctx) {
      const page = await ctx.page('phone');
      try {
        await ctx.login(page, 'grid_worker');
        assert.match(await page.textContent('#tabbar'), /任务.*上报.*我的/);
        const manifest = await (await fetch(`${ctx.base}/mobile/manifest.webmanifest`)).json();
        assert.equal(manifest.start_url, '/mobile/');
        assert.ok(manifest.icons.some((i) => i.type === 'image/svg+xml'));
        await page.click('#lang-slot .lang-switch');
        await page.waitForFunction(() => /Tasks/.test(document.querySelector('#tabbar')?.textContent || ''));
        assert.match(await page.textContent('#tabbar'), /Tasks.*Report.*Me/);
        await page.click('#lang-slot .lang-switch');
        await page.waitForFunction(() => /任务/.test(document.querySelector('#tabbar')?.textContent || ''));
      } finally {
        await page.context().close();
      }
    },
  },
];
