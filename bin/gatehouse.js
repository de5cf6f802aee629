#!/usr/bin/env node
// The `gatehouse` command. This launcher runs on any Node (the machine's may be old) and
// hands over to the Node 24 runtime that `npm install` pinned into node_modules.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pinned = path.join(root, 'node_modules', 'node', 'bin', 'node');
const [major, minor] = process.versions.node.split('.').map(Number);
const modern = major > 22 || (major === 22 && minor >= 12);
const runtime = fs.existsSync(pinned) ? pinned : modern ? process.execPath : undefined;
if (!runtime) {
  console.error(`Gatehouse needs Node.js 22.12 or newer; run \`npm install\` in ${root} to get the pinned Node 24.`);
  process.exit(1);
}
const child = spawn(runtime, [path.join(root, 'src', 'cli', 'main.ts'), ...process.argv.slice(2)], { stdio: 'inherit' });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
