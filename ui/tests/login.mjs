// Every role logs in through the form and lands on its own screen.
import { assert } from './lib.mjs';

const LANDING = {
  leader: '/cockpit/', street_leader: '/cockpit/',
  street_dispatcher: '/console/', district_dispatcher: '/console/', community_secretary: '/console/', community_worker: '/console/',
  department_handler: '/console/', data_steward: '/console/', admin: '/console/', integrator: '/console/',
  grid_worker: '/mobile/', resident: '/mobile/',
};

export const tests = [
  {
    name: 'each role lands on its own screen',
    async run(ctx) {
      const page = await ctx.page('desktop');
      for (const [role, screen] of Object.entries(LANDING)) {
        await page.context().clearCookies();
        await page.goto(`${ctx.base}/`);
        await page.evaluate(() => localStorage.clear());
        await ctx.login(page, role);
        assert.equal(new URL(page.url()).pathname, screen, `${role} lands on ${screen}`);
      }
      await page.context().close();
    },
  },
  {
    name: 'a wrong password is refused in Chinese',
    async run(ctx) {
      const page = await ctx.page('desktop');
      await page.goto(`${ctx.base}/`);
      await page.fill('#username', 'leader');
      await page.fill('#password', 'not-the-password');
      await page.click('button[type=submit]');
      await page.waitForFunction(() => document.querySelector('#message').textContent.length > 0);
      assert.match(await page.textContent('#message'), /用户名或密码错误/);
      assert.equal(new URL(page.url()).pathname, '/');
      await page.context().close();
    },
  },
];
