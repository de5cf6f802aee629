#!/usr/bin/env node
// The `gatehouse` command. This launcher is plain JavaScript so that it runs on any Node the
// machine has (even an old one), and hands over to the Node 24 runtime that `npm install`
// pinned into node_modules, which runs src/cli/main.ts (TypeScript, by type stripping).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pinned = path.join(root, 'node_modules', 'node', 'bin', 'node');
const [major, minor] = process.versions.node.split('.').map(Number);
const modern = major > 22 || (major === 22 && minor >= 12);
const runtime = fs.existsSync(pinned) ? pinned : modern ? process.execPath : undefined;
if (!runtime) {
  console.error(`Gatehouse needs Node.js 22.12 or newer; run \`npm install\` in ${root} to get the pinned Node 24.`);
  process.exit(1);
}

// ts-cache.js keeps the stripped sources so the type stripper need not be loaded (see there).
// --no-allocation-site-pretenuring: see NODE_FLAGS in docs/operations.md (latency under load).
const child = spawn(
  runtime,
  [
    '--no-allocation-site-pretenuring',
    '--import',
    pathToFileURL(path.join(root, 'src', 'boot', 'ts-cache.js')).href,
    path.join(root, 'src', 'cli', 'main.ts'),
    ...process.argv.slice(2),
  ],
  { stdio: 'inherit' },
);
child.on('error', (err) => {
  console.error(`Could not run ${runtime} (${err.message}). Run \`npm install\` in ${root} to get the pinned Node 24.`);
  process.exit(1);
});
// Forward stop signals (a service manager may signal only this process). Ctrl-C in a terminal
// reaches the child directly as well; `gatehouse start` ignores that duplicate. SIGHUP too:
// `gatehouse start` with GATEHOUSE_TLS_CERT reloads its certificate on it (else it stops).
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'])
  process.on(sig, () => {
    if (child.exitCode === null && child.signalCode === null) child.kill(sig);
  });
child.on('exit', (code, signal) => process.exit(code ?? 128 + (os.constants.signals[signal] ?? 0)));
