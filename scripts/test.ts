// `npm test`: type-check, then every test file under node's test runner. The PostgreSQL and
// Redis suites run when DATABASE_URL / REDIS_URL are set and skip with a printed reason otherwise.
// --test-force-exit: a handle a failed test left open (a server, a socket) must not keep its file
// running until CI gives up; the failure itself is still reported.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const only = process.argv.slice(2);
const files = only.length
  ? only
  : fs
      .readdirSync(path.join(root, 'test'))
      .filter((f) => f.endsWith('.test.ts'))
      .sort()
      .map((f) => path.join('test', f));

if (!only.length) {
  for (const project of [root, path.join(root, 'console')]) {
    const tsc = spawnSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '--noEmit', '-p', project], { stdio: 'inherit', cwd: root });
    if (tsc.status !== 0) {
      console.error('Type check failed.');
      process.exit(tsc.status ?? 1);
    }
  }
}
// The browser tests drive the built admin console: build it if its sources changed.
const build = spawnSync(process.execPath, [path.join(root, 'scripts/build-console.ts')], { stdio: 'inherit', cwd: root });
if (build.status !== 0) {
  console.error('Building the admin console failed.');
  process.exit(build.status ?? 1);
}
for (const [name, v] of [
  ['DATABASE_URL', 'PostgreSQL'],
  ['REDIS_URL', 'Redis'],
] as const) {
  if (!process.env[name]) console.log(`# ${name} is not set: the ${v} suites will be skipped.`);
}
// A test's time limit only catches a hung test: it is generous (10 minutes), because a browser
// suite on a busy shared 2-core machine takes several times as long as on an idle one, and no
// test may fail for being slow (speed is measured in bench/). GATEHOUSE_TEST_TIMEOUT_MS changes it.
const timeout = Number(process.env.GATEHOUSE_TEST_TIMEOUT_MS) || 600_000;
const res = spawnSync(process.execPath, ['--test', '--test-concurrency=2', `--test-timeout=${timeout}`, '--test-force-exit', ...files], {
  stdio: 'inherit',
  cwd: root,
});
process.exit(res.status ?? 1);
