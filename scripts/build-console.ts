// Builds the admin console (console/, React + Vite) into console/dist. Run by `npm install` /
// `npm ci` (prepare), `npm start` (prestart) and `npm test`, never by hand: it does nothing
// when console/dist was built from exactly the current sources (a hash of them is kept in
// console/dist/.build-hash), so a start costs a few file reads. `--force` builds anyway.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const consoleDir = path.join(root, 'console');
const dist = path.join(consoleDir, 'dist');
const stampFile = path.join(dist, '.build-hash');

/** Everything the bundle is made from: the console's sources, shared rule files it imports, the lock file. */
function sourceHash(): string {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      if (e.name === 'dist' || e.name === 'node_modules') continue;
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else files.push(p);
    }
  };
  walk(consoleDir);
  files.push(path.join(root, 'src/apps/redirect-uris.ts'), path.join(root, 'package-lock.json'));
  const h = crypto.createHash('sha256');
  for (const f of files.sort()) h.update(path.relative(root, f)).update('\0').update(fs.readFileSync(f)).update('\0');
  return h.digest('hex');
}

export async function buildConsole(opts: { force?: boolean; quiet?: boolean } = {}): Promise<'built' | 'fresh' | 'unavailable'> {
  const hash = sourceHash();
  const built = fs.existsSync(path.join(dist, 'index.html'));
  if (!opts.force && built && fs.existsSync(stampFile) && fs.readFileSync(stampFile, 'utf8') === hash) return 'fresh';
  let vite: typeof import('vite');
  try {
    vite = await import('vite');
  } catch {
    // A production install without dev dependencies: serve what is there, or say what to do.
    console.error(
      built
        ? 'Gatehouse: the admin console sources changed but Vite is not installed (dev dependencies omitted); serving the console built before.'
        : 'Gatehouse: the admin console is not built and Vite is not installed. Run `npm ci` (with dev dependencies) to build it; the server runs without it.',
    );
    return 'unavailable';
  }
  const started = Date.now();
  await vite.build({ configFile: path.join(consoleDir, 'vite.config.ts'), logLevel: opts.quiet ? 'error' : 'warn' });
  fs.writeFileSync(stampFile, hash);
  if (!opts.quiet) console.error(`Gatehouse: admin console built into console/dist in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
  return 'built';
}

if (import.meta.main) {
  try {
    await buildConsole({ force: process.argv.includes('--force') });
  } catch (e) {
    console.error(`Gatehouse: building the admin console failed: ${(e as Error).message}`);
    process.exit(1);
  }
}
