// Runs the end-to-end suites against a running Linli demo in a real headless browser.
//   node ui/tests/e2e.mjs --base http://127.0.0.1:8080 [--chromium /usr/bin/chromium]
//                         [--password linli-demo] [--shots DIR] [--only NAME]
// Each suite file exports `tests`: [{ name, run(ctx) }]. Exits non-zero if any test fails.
import { parseArgs } from 'node:util';
import { launch, context } from './lib.mjs';

const { values } = parseArgs({
  options: {
    base: { type: 'string' }, chromium: { type: 'string', default: '/usr/bin/chromium' }, password: { type: 'string', default: 'linli-demo' },
    shots: { type: 'string' }, only: { type: 'string' },
  },
});
if (!values.base) {
  console.error('usage: node ui/tests/e2e.mjs --base URL [--chromium PATH] [--password P] [--shots DIR] [--only NAME]');
  process.exit(2);
}

const SUITES = ['login.mjs', 'cockpit.mjs', 'console.mjs', 'mobile.mjs', 'loop.mjs'];
const browser = await launch(values.chromium);
const ctx = context({ browser, base: values.base.replace(/\/$/, ''), password: values.password, shots: values.shots || null });
let failed = 0;
let ran = 0;
for (const file of SUITES) {
  let suite;
  try {
    suite = await import(new URL(file, import.meta.url));
  } catch (e) {
    if (e.code === 'ERR_MODULE_NOT_FOUND') continue;
    throw e;
  }
  for (const test of suite.tests) {
    const name = `${file.replace('.mjs', '')}: ${test.name}`;
    if (values.only && !name.includes(values.only)) continue;
    const started = Date.now();
    ran += 1;
    try {
      await test.run(ctx);
      console.log(`ok   ${name} (${Date.now() - started} ms)`);
    } catch (e) {
      failed += 1;
      console.log(`FAIL ${name} (${Date.now() - started} ms)\n     ${String(e.stack || e).split('\n').slice(0, 6).join('\n     ')}`);
    }
  }
}
await browser.close();
console.log(`${ran - failed} passed, ${failed} failed`);
process.exit(failed || !ran ? 1 : 0);
