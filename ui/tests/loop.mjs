// The three screens linked (三屏联动), all open at once and never reloaded: a resident reports on
// a phone, the cockpit shows it; the street dispatcher dispatches it from the console; the grid
// worker's phone receives the task, accepts and resolves it with a photo; the resident sees the
// result and rates it; the dispatcher closes it, and the cockpit counts it closed — each change on
// the other screens within 2 s.
import { assert, gradientPhoto, world, freshCategory, offset, until, cleanup, phone, stamp } from './lib.mjs';

const int = (text) => Number(String(text).replace(/[^\d]/g, ''));

/** Waits (at most 2 s after `since`) until `probe` holds in `page`, and returns the delay in ms. */
async function within2s(page, what, since, probe, arg) {
  const left = Math.max(1, 2000 - (Date.now() - since));
  await page.waitForFunction(probe, arg, { timeout: left }).catch(() => assert.fail(`${what} did not show within 2 s`));
  return Date.now() - since;
}

const notReloaded = (page) => page.evaluate(() => window.__sameDocument === true);

export const tests = [
  {
    name: 'report → cockpit → console dispatch → phone resolves with a photo → resident rates → closed, live on every screen',
    async run(ctx) {
      const w = await world(ctx);
      const site = offset(w.grid.position, -35, 25);
      const category = await freshCategory(ctx, site, ['util.power', 'traffic.road', 'prop.service']);
      const title = `e2e 三屏联动 ${stamp()}`;
      const delays = {};
      const pages = [];
      let id = null;
      try {
        // The four screens, each logged in and live.
        const cockpit = await ctx.page('wall');
        const console_ = await ctx.page('desktop');
        const gridPhone = await ctx.page('phone', phone(offset(site, 10, 5)));
        const residentPhone = await ctx.page('phone', phone(site));
        pages.push(cockpit, console_, gridPhone, residentPhone);
        await ctx.login(cockpit, 'leader');
        await cockpit.waitForFunction(() => window.__cockpit?.ready && window.__cockpit.settled, null, { timeout: 15000 });
        await cockpit.waitForSelector('#live-state[data-state=online]', { timeout: 5000 });
        await ctx.login(console_, 'street_dispatcher');
        await console_.goto(`${ctx.base}/console/#/queue`);
        await console_.waitForSelector('#live-state[data-state=online]', { timeout: 10000 });
        await ctx.login(gridPhone, 'grid_worker');
        await gridPhone.locator('#tasks').waitFor();
        await ctx.login(residentPhone, 'resident');
        for (const page of pages) await page.evaluate(() => { window.__sameDocument = true; });
        const kpi = async (name) => int(await cockpit.textContent(`#kpi-${name}`));
        const before = { ordersToday: await kpi('orders-today'), closedToday: await kpi('closed-today') };

        // 1. The resident reports with a photo at where they stand.
        await residentPhone.locator('#report-form #category option').nth(2).waitFor({ state: 'attached' });
        await residentPhone.selectOption('#report-form #category', category);
        await residentPhone.fill('#report-form #title', title);
        await residentPhone.fill('#report-form #description', '楼下路口的问题，已拍照。');
        await residentPhone.setInputFiles('#report-form #report-photo', { name: 'report.png', mimeType: 'image/png', buffer: gradientPhoto(31) });
        await residentPhone.locator('#report-preview img').waitFor();
        await residentPhone.waitForFunction(() => /已获取当前位置/.test(document.querySelector('#report-location').textContent));
        let since = Date.now();
        await residentPhone.click('#report-form button[type=submit]');
        const card = residentPhone.locator('#my-reports .report[data-order-id]', { hasText: title });
        await card.waitFor();
        id = Number(await card.getAttribute('data-order-id'));
        const created = await ctx.api('district_dispatcher', 'GET', `/orders/${id}`);
        assert.equal(created.source, 'resident_app');

        // 2. The cockpit shows the event in its feed and counts the new order.
        delays.cockpitReport = await within2s(cockpit, 'the report on the cockpit', since, ([eventId, n]) =>
          document.querySelector(`#feed .feed-item[data-event-id="${eventId}"]`)
          && Number(document.getElementById('kpi-orders-today').textContent.replace(/[^\d]/g, '')) >= n, [created.event_id, before.ordersToday + 1]);

        // 3. The district passes it to the street; it appears in the street's console queue.
        since = Date.now();
        await ctx.api('district_dispatcher', 'POST', `/orders/${id}/actions`, { action: 'dispatch', to: { kind: 'region', code: w.street } });
        const row = `#queue .order-row[data-order-id="${id}"]`;
        delays.consoleQueue = await within2s(console_, 'the order in the street\'s queue', since, (sel) => !!document.querySelector(sel), row);

        // 4. The dispatcher dispatches it to the grid from the console.
        await console_.click(row);
        await console_.waitForSelector('#order-detail button[data-action=dispatch]');
        await console_.click('#order-detail button[data-action=dispatch]');
        await console_.waitForSelector(`#dispatch-target option[value="region:${w.grid.code}"]`, { state: 'attached' });
        await console_.selectOption('#dispatch-target', `region:${w.grid.code}`);
        await console_.fill('#order-detail .action-form textarea[name=note]', '请网格员到场核实处理');
        since = Date.now();
        await console_.click('#order-detail .action-form button[type=submit]');
        await console_.waitForFunction(() => document.querySelector('#order-detail .d-title .status')?.dataset.status === 'dispatched');

        // 5. The grid worker's phone gets the task without reloading; accept, check in, resolve with a photo.
        const task = gridPhone.locator(`#tasks .task[data-order-id="${id}"]`);
        delays.phoneTask = await within2s(gridPhone, 'the task on the grid worker\'s phone', since, (sel) => !!document.querySelector(sel), `#tasks .task[data-order-id="${id}"]`);
        assert.match(await task.textContent(), new RegExp(title));
        await task.locator('button[data-action=accept]').click();
        await gridPhone.locator(`.task[data-order-id="${id}"][data-status=accepted] button[data-action=checkin]`).click();
        await gridPhone.locator(`.task[data-order-id="${id}"][data-status=in_progress]`).waitFor();
        await gridPhone.locator(`.task[data-order-id="${id}"] [data-action=open]`).first().click();
        await gridPhone.locator('#detail #result').fill('已到场处理完毕，现场照片已上传。');
        const photo = gradientPhoto(77);
        await gridPhone.setInputFiles('#detail #photo', { name: 'done.png', mimeType: 'image/png', buffer: photo });
        await gridPhone.locator('#photo-preview img').waitFor();
        since = Date.now();
        await gridPhone.click('#detail button[data-action=resolve]');

        // 6. The console shows it resolved, with the photo in its history; the resident sees the result.
        delays.consoleResolved = await within2s(console_, 'the resolve on the console', since,
          () => document.querySelector('#order-detail .d-title .status')?.dataset.status === 'resolved');
        const resolved = await ctx.api('street_dispatcher', 'GET', `/orders/${id}`);
        assert.equal(resolved.history.find((e) => e.action === 'resolve').attachments.length, 1, 'the photo is on the resolve entry');
        const rate = `#my-reports .report[data-order-id="${id}"] button[data-satisfaction=satisfied]`;
        delays.residentResult = await within2s(residentPhone, 'the result on the resident\'s phone', since, (sel) => !!document.querySelector(sel), rate);
        assert.match(await residentPhone.textContent(`#my-reports .report[data-order-id="${id}"]`), /已到场处理完毕/);

        // 7. The resident rates it; the console offers closing; the dispatcher closes it.
        since = Date.now();
        await residentPhone.click(rate);
        delays.consoleCallback = await within2s(console_, 'the rating on the console', since,
          () => document.querySelector('#order-detail .d-title .status')?.dataset.status === 'callback');
        await console_.waitForSelector('#order-detail button[data-action=close]');
        await console_.click('#order-detail button[data-action=close]');
        since = Date.now();
        await console_.click('#order-detail .action-form button[type=submit]');

        // 8. The cockpit counts it closed today, and the resident's card shows the rating.
        delays.cockpitClosed = await within2s(cockpit, 'the close on the cockpit', since,
          (n) => Number(document.getElementById('kpi-closed-today').textContent.replace(/[^\d]/g, '')) >= n, before.closedToday + 1);
        await residentPhone.locator(`#my-reports .report[data-order-id="${id}"] .rated`).waitFor();
        const closed = await until('the order to close', async () => {
          const o = await ctx.api('district_dispatcher', 'GET', `/orders/${id}`);
          return o.status === 'closed' ? o : null;
        });
        assert.equal(closed.callback.satisfaction, 'satisfied');
        for (const page of pages) assert.ok(await notReloaded(page), `${page.url()} was not reloaded`);
        console.log(`  linked screens, ms after the action: ${JSON.stringify(delays)}`);
      } finally {
        for (const page of pages) await page.context().close();
        if (id) await cleanup(ctx, id);
      }
    },
  },
];
