// This build's version (package.json), for messages that must say which Gatehouse refused.
import fs from 'node:fs';

let version: string | undefined;
export function gatehouseVersion(): string {
  return (version ??= (JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version);
}
