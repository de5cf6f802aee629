// src/boot/ts-cache.js: a start from a warm cache runs the same code without loading Node's
// type stripper (the memory it saves), and an edited source file is never served stale.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dir = path.join(root, 'tmp', `ts-cache-${crypto.randomBytes(4).toString('hex')}`);
fs.mkdirSync(dir, { recursive: true });
after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
  // The probes' cache entries (named after the source path) go too.
  for (const f of ['probe.ts', 'helper.ts']) {
    const entry = crypto.createHash('sha256').update(path.join(dir, f)).digest('hex').slice(0, 32);
    fs.rmSync(path.join(root, 'node_modules', '.cache', 'gatehouse-ts', `${entry}.js`), { force: true });
  }
});

const probe = path.join(dir, 'probe.ts');
const write = (value: number) =>
  fs.writeFileSync(
    probe,
    [
      `import { twice } from './helper.ts';`,
      `const value: number = ${value};`,
      `const stripperLoaded = process.moduleLoadList.some((m: string) => m.includes('amaro'));`,
      `console.log(JSON.stringify({ value: twice(value), stripperLoaded }));`,
    ].join('\n'),
  );
fs.writeFileSync(path.join(dir, 'helper.ts'), 'export const twice = (n: number): number => n * 2;\n');

const run = () => {
  const out = execFileSync(process.execPath, ['--import', path.join(root, 'src', 'boot', 'ts-cache.js'), probe], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return JSON.parse(out.trim()) as { value: number; stripperLoaded: boolean };
};

test('the first run strips and caches; the next runs the cached code without loading the stripper', () => {
  write(1);
  assert.deepEqual(run(), { value: 2, stripperLoaded: true });
  assert.deepEqual(run(), { value: 2, stripperLoaded: false });
});

test('an edited file is stripped again, never served from its old cache entry', () => {
  write(1);
  run();
  write(21);
  assert.deepEqual(run(), { value: 42, stripperLoaded: true });
  assert.deepEqual(run(), { value: 42, stripperLoaded: false });
});
