// Preloaded with `node --import ./src/boot/ts-cache.js` (npm start, the gatehouse command).
//
// Node runs Gatehouse's TypeScript by stripping the types as it loads each file. The stripper
// is a WebAssembly module that stays in memory once loaded: about a fifth of an idle server's
// footprint. So the stripped text of each source file is kept in node_modules/.cache and
// reused while the file is unchanged; a start that finds every file there never loads the
// stripper. The .ts files stay the only source: an entry is used only when it was made from
// exactly the current text by this Node version, and anything unexpected (no cache, a
// read-only install) falls back to Node's own stripping. Plain JavaScript, as it must be
// loaded before any TypeScript can be.
import { registerHooks, stripTypeScriptTypes } from 'node:module';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const cacheDir = path.join(root, 'node_modules', '.cache', 'gatehouse-ts');
const ours = (file) => file.startsWith(root + path.sep) && !file.includes(`${path.sep}node_modules${path.sep}`);

let writable = true;
function cached(file) {
  const source = fs.readFileSync(file, 'utf8');
  // One entry per source file, named after its path; the first line records what it was made from.
  const stamp = `// ${crypto.createHash('sha256').update(process.version).update('\0').update(source).digest('base64url')}\n`;
  const entry = path.join(cacheDir, `${crypto.createHash('sha256').update(file).digest('hex').slice(0, 32)}.js`);
  try {
    const text = fs.readFileSync(entry, 'utf8');
    if (text.startsWith(stamp)) return text.slice(stamp.length);
  } catch {
    /* not cached yet */
  }
  // Same mode as Node's own loading: types become spaces, so line and column numbers in
  // stack traces still point into the .ts file.
  // (Its "experimental" warning is Node's to give about Node's API, not news for whoever runs us.)
  const emitWarning = process.emitWarning;
  process.emitWarning = () => {};
  let js;
  try {
    js = stripTypeScriptTypes(source, { mode: 'strip' });
  } finally {
    process.emitWarning = emitWarning;
  }
  if (writable) {
    try {
      fs.mkdirSync(cacheDir, { recursive: true });
      const tmp = `${entry}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, stamp + js);
      fs.renameSync(tmp, entry); // whole entries only, even with several processes starting at once
    } catch {
      writable = false;
    }
  }
  return js;
}

registerHooks({
  load(url, context, nextLoad) {
    if (!url.startsWith('file:') || !url.endsWith('.ts')) return nextLoad(url, context);
    const file = fileURLToPath(url);
    if (!ours(file)) return nextLoad(url, context);
    let source;
    try {
      source = cached(file);
    } catch {
      return nextLoad(url, context);
    }
    return { format: 'module', source, shortCircuit: true };
  },
});
