// The dispatch console (调度台): dispatching from the queue, live updates, readable errors,
// whistles with the departments' reports, approvals, and a re-login that keeps typed input.
import { assert, rubbishPhoto } from './lib.mjs';

const CJK = /[\u4e00-\u9fa5]/;

/** The grid the demo grid worker is bound to. */
async function gridOf(ctx) {
  const me = await ctx.api('grid_worker', 'GET', '/auth/me');
  return me.user.region_code;
}

/**
 * A new proactive order (held by the street) from a grid patrol finding. A report joins an
 * incident still open from an earlier run; that one's order is terminated and the report repeated.
 */
async function freshOrder(ctx, category, title, evidence = []) {
  const grid = await gridOf(ctx);
  for (let i = 0; i < 3; i += 1) {
    const out = await ctx.api('grid_worker', 'POST', '/events', { source: 'grid_patrol', category, region_code: grid, title, severity: 'major', evidence });
    if (!out.merged && out.order && out.order.status === 'new') return { grid, order: out.order, event: out.event };
    if (out.order && !['closed', 'terminated'].includes(out.order.status)) {
      const current = await ctx.api('leader', 'GET', `/orders/${out.order.id}`);
      await ctx.api('leader', 'POST', `/orders/${out.order.id}/actions`, { action: 'terminate', version: current.version, reason: '测试清理：重新开单' });
    }
  }
  throw new Error(`no fresh ${category} order could be opened`);
}

/** Opens the console as `user` at `hash` and waits for the live link. */
async function openConsole(ctx, user, hash) {
  const page = await ctx.page('desktop');
  await ctx.login(page, user);
  await page.goto(`${ctx.base}/console/${hash}`);
  await page.waitForSelector('#live-state[data-state=online]', { timeout: 10000 });
  return page;
}

const statusOf = (page) => page.$eval('#order-detail .d-title .status', (el) => el.dataset.status).catch(() => null);

async function uploadAs(ctx, user, bytes) {
  await ctx.api(user, 'GET', '/auth/me');
  const response = await fetch(`${ctx.base}/api/v1/media`, { method: 'POST', headers: { authorization: `Bearer ${ctx.tokens[user]}`, 'content-type': 'image/png' }, body: bytes });
  assert.ok(response.ok, `upload: ${response.status}`);
  return (await response.json()).id;
}

export const tests = [
  {
    name: 'the street dispatcher dispatches an order from the queue to a grid',
    async run(ctx) {
      const photo = await uploadAs(ctx, 'grid_worker', rubbishPhoto());
      const { grid, order } = await freshOrder(ctx, 'env.sanitation', '巡查发现：小区东门垃圾堆放', [photo]);
      const page = await openConsole(ctx, 'street_dispatcher', '#/queue');
      const row = `#queue .order-row[data-order-id="${order.id}"]`;
      await page.waitForSelector(row);
      assert.match(await page.textContent(row), /剩余|超期/, 'the row shows an SLA countdown');
      await page.click(row);
      await page.waitForSelector('#order-detail button[data-action=dispatch]');
      assert.equal(await statusOf(page), 'new');
      await page.click('#order-detail button[data-action=dispatch]');
      await page.waitForSelector(`#dispatch-target option[value="region:${grid}"]`, { state: 'attached' });
      if (order.suggested_org_code) assert.equal(await page.inputValue('#dispatch-target'), `organisation:${order.suggested_org_code}`, 'the suggested organisation is preselected');
      await page.selectOption('#dispatch-target', `region:${grid}`);
      await page.fill('#order-detail .action-form textarea[name=note]', '请网格员尽快到场清理，完成后拍照回传');
      await page.waitForSelector('#order-detail .evidence-list img.evidence[src]');
      await page.waitForSelector('#order-detail .map svg');
      await ctx.shot(page, 'console');
      await page.click('#order-detail .action-form button[type=submit]');
      await page.waitForFunction(() => document.querySelector('#order-detail .d-title .status')?.dataset.status === 'dispatched');
      await page.waitForSelector('#order-detail .timeline .entry[data-action=dispatch]');
      assert.match(await page.textContent('#order-detail .timeline .entry[data-action=dispatch]'), /派单/);
      assert.match(await page.textContent('#order-detail .holder-now'), /网格/);
      const after = await ctx.api('street_dispatcher', 'GET', `/orders/${order.id}`);
      assert.equal(after.status, 'dispatched');
      assert.deepEqual({ kind: after.holder.kind, code: after.holder.code }, { kind: 'region', code: grid });
      assert.equal(after.history.at(-1).note, '请网格员尽快到场清理，完成后拍照回传');
      await page.context().close();
    },
  },
  {
    name: 'a change made elsewhere shows without reload',
    async run(ctx) {
      const { grid, order } = await freshOrder(ctx, 'env.garbage_sorting', '巡查发现：垃圾未分类投放');
      const dispatched = await ctx.api('street_dispatcher', 'POST', `/orders/${order.id}/actions`, { action: 'dispatch', version: order.version, to: { kind: 'region', code: grid } });
      const page = await openConsole(ctx, 'street_dispatcher', `#/queue/${order.id}`);
      await page.click('.seg button[data-scope=all]');
      await page.waitForSelector(`#queue .order-row[data-order-id="${order.id}"][data-status=dispatched]`);
      await page.waitForFunction(() => document.querySelector('#order-detail .d-title .status')?.dataset.status === 'dispatched');
      const marker = await page.evaluate(() => { window.__notReloaded = true; return true; });
      const started = Date.now();
      await ctx.api('grid_worker', 'POST', `/orders/${order.id}/actions`, { action: 'accept', version: dispatched.order.version, note: '收到，马上到' });
      await page.waitForFunction(() => document.querySelector('#order-detail .d-title .status')?.dataset.status === 'accepted', null, { timeout: 2000 });
      await page.waitForSelector(`#queue .order-row[data-order-id="${order.id}"][data-status=accepted]`, { timeout: 2000 });
      await page.waitForSelector('#order-detail .timeline .entry[data-action=accept]', { timeout: 2000 });
      assert.ok(Date.now() - started < 2000, 'within 2 s');
      assert.equal(await page.evaluate(() => window.__notReloaded), marker, 'the page was not reloaded');
      assert.match(await page.textContent('#order-detail .d-notice'), /grid_worker/);
      await page.context().close();
    },
  },
  {
    name: 'an illegal action shows a readable Chinese error',
    async run(ctx) {
      const { grid, order } = await freshOrder(ctx, 'traffic.parking', '巡查发现：消防通道违停');
      const page = await openConsole(ctx, 'street_dispatcher', `#/queue/${order.id}`);
      await page.waitForSelector('#order-detail button[data-action=dispatch]');
      // Terminating is for leaders and district dispatchers: it is not offered to the street.
      assert.equal(await page.$('#order-detail button[data-action=terminate]'), null);
      // The order changes state elsewhere while the dispatch form is open: the state no longer allows it.
      await page.click('#order-detail button[data-action=dispatch]');
      await page.waitForSelector(`#dispatch-target option[value="region:${grid}"]`, { state: 'attached' });
      await page.selectOption('#dispatch-target', `region:${grid}`);
      const current = await ctx.api('leader', 'GET', `/orders/${order.id}`);
      await ctx.api('leader', 'POST', `/orders/${order.id}/actions`, { action: 'terminate', version: current.version, reason: '与其他工单重复' });
      await page.waitForFunction(() => document.querySelector('#order-detail .d-title .status')?.dataset.status === 'terminated', null, { timeout: 3000 });
      assert.ok(await page.isVisible('#order-detail .action-form .form-warn'), 'the open form warns the state changed');
      await page.click('#order-detail .action-form button[type=submit]');
      await page.waitForFunction(() => /不允许/.test(document.querySelector('#order-detail .form-error')?.textContent || ''));
      const illegal = await page.textContent('#order-detail .form-error');
      assert.match(illegal, CJK);
      assert.match(illegal, /工单当前状态不允许此操作/);
      assert.match(illegal, /派单/);
      assert.match(illegal, /已终止/);
      assert.doesNotMatch(illegal, /illegal_transition|cannot /);
      await page.context().close();
    },
  },
  {
    name: 'a whistle summons a department and shows its reports',
    async run(ctx) {
      const page = await openConsole(ctx, 'street_dispatcher', '#/whistles');
      await page.click('#view-whistles .new-whistle');
      await page.waitForSelector('#whistle-detail form.whistle-form');
      const title = `吹哨测试：清水园社区积水 ${Date.now() % 100000}`;
      await page.fill('#whistle-detail input[name=title]', title);
      await page.selectOption('#whistle-detail select[name=urgency]', 'emergency');
      await page.check('#whistle-detail input[name=departments][value="dept.urban_mgmt"]');
      await page.check('#whistle-detail input[name=departments][value="dept.water"]');
      await page.click('#whistle-detail form.whistle-form button[type=submit]');
      const row = '#whistle-detail .summons-row[data-org="dept.urban_mgmt"]';
      await page.waitForSelector(row);
      assert.match(await page.textContent(`${row} .summons-status`), /未响应/);
      const id = Number(new URL(page.url()).hash.split('/')[2]);
      assert.ok(id > 0, 'the new whistle is open');
      await page.waitForSelector(`#whistles .whistle-row[data-whistle-id="${id}"]`);
      // The department reports; the console follows without reload.
      await ctx.api('department_handler', 'POST', `/whistles/${id}/reports`, { step: 'acknowledge', note: '收到，正在赶往' });
      await page.waitForFunction((sel) => /已响应/.test(document.querySelector(sel)?.textContent || ''), `${row} .summons-status`, { timeout: 2000 });
      await ctx.api('department_handler', 'POST', `/whistles/${id}/reports`, { step: 'check_in', lon: 116.3156, lat: 40.0725 });
      await page.waitForFunction((sel) => /已到场/.test(document.querySelector(sel)?.textContent || ''), `${row} .summons-status`, { timeout: 2000 });
      assert.match(await page.textContent(row), /按时/);
      assert.match(await page.textContent('#whistle-detail .summons-row[data-org="dept.water"] .summons-status'), /未响应/);
      assert.match(await page.textContent(`#whistles .whistle-row[data-whistle-id="${id}"]`), /1\/2/);
      const whistle = await ctx.api('street_dispatcher', 'GET', `/whistles/${id}`);
      assert.equal(whistle.title, title);
      assert.ok(whistle.summons.find((s) => s.org.code === 'dept.urban_mgmt').checked_in_at);
      await page.context().close();
    },
  },
  {
    name: 'a community application appears and the street approves it',
    async run(ctx) {
      const page = await openConsole(ctx, 'street_dispatcher', '#/approvals');
      await page.waitForSelector('#approvals .application-row, #approvals .empty');
      const title = `申请：清水园社区楼道堆物清理 ${Date.now() % 100000}`;
      const application = await ctx.api('community_secretary', 'POST', '/applications', {
        kind: 'work_order', title, description: '3号楼楼道长期堆放杂物，存在消防隐患',
        request: { category: 'env.sanitation', region_code: '110114001001', title: '楼道堆物清理', description: '3号楼楼道堆物' },
      });
      const row = `#approvals .application-row[data-application-id="${application.id}"]`;
      await page.waitForSelector(row, { timeout: 2000 });
      assert.match(await page.textContent(row), /待审批/);
      await page.click(row);
      await page.waitForSelector('#application-detail button[data-decision=approve]');
      await page.click('#application-detail button[data-decision=approve]');
      await page.waitForFunction(() => /已批准/.test(document.querySelector('#application-detail .d-title .status')?.textContent || ''));
      await page.waitForSelector(`${row}[data-status=approved]`);
      await page.waitForSelector('#application-detail a[href^="#/queue/"]');
      const after = await ctx.api('street_dispatcher', 'GET', `/applications/${application.id}`);
      assert.equal(after.status, 'approved');
      assert.ok(after.result_id, 'approval opened an order');
      const order = await ctx.api('street_dispatcher', 'GET', `/orders/${after.result_id}`);
      assert.deepEqual(order.history.slice(0, 2).map((h) => h.action), ['applied', 'approved']);
      await page.context().close();
    },
  },
  {
    name: 'an expired session sends to login and keeps the typed note',
    async run(ctx) {
      const { grid, order } = await freshOrder(ctx, 'env.noise', '巡查发现：夜间施工噪声');
      const page = await openConsole(ctx, 'street_dispatcher', `#/queue/${order.id}`);
      await page.click('#order-detail button[data-action=dispatch]');
      await page.waitForSelector(`#dispatch-target option[value="region:${grid}"]`, { state: 'attached' });
      await page.selectOption('#dispatch-target', `region:${grid}`);
      const note = '夜间22点后仍在施工，请网格员核实并劝阻';
      await page.fill('#order-detail .action-form textarea[name=note]', note);
      await page.evaluate(() => {
        const s = JSON.parse(localStorage.getItem('linli.session'));
        s.token = 'lk_expired-token-for-test';
        localStorage.setItem('linli.session', JSON.stringify(s));
      });
      await Promise.all([
        page.waitForURL((url) => url.pathname === '/'),
        page.click('#order-detail .action-form button[type=submit]'),
      ]);
      await page.waitForFunction(() => document.querySelector('#message')?.textContent.length > 0);
      assert.match(await page.textContent('#message'), /登录已过期/);
      await page.fill('#username', 'street_dispatcher');
      await page.fill('#password', ctx.password);
      await Promise.all([page.waitForURL((url) => url.pathname === '/console/'), page.click('button[type=submit]')]);
      await page.waitForSelector('#order-detail .action-form textarea[name=note]');
      await page.waitForFunction((text) => document.querySelector('#order-detail .action-form textarea[name=note]')?.value === text, note, { timeout: 5000 });
      assert.equal(await page.inputValue('#dispatch-target'), `region:${grid}`, 'the chosen target is kept too');
      const untouched = await ctx.api('street_dispatcher', 'GET', `/orders/${order.id}`);
      assert.equal(untouched.status, 'new', 'nothing was sent with the bad token');
      // Sending now works, and the draft is forgotten.
      await page.click('#order-detail .action-form button[type=submit]');
      await page.waitForFunction(() => document.querySelector('#order-detail .d-title .status')?.dataset.status === 'dispatched');
      const drafts = await page.evaluate(() => localStorage.getItem('linli.draft./console/') || '');
      assert.ok(!drafts.includes(note), 'the draft is cleared after sending');
      await page.context().close();
    },
  },
];
