// `gatehouse connector` as a real process (the CLI itself, not the launcher, so that a kill reaches it).
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

const MAIN = path.resolve(import.meta.dirname, '../../src/cli/main.ts');

export interface ConnectorProcess {
  p: ChildProcess;
  exited: Promise<number | null>;
  stderr(): string;
}

/** `env` adds to the environment (GATEHOUSE_CONNECTOR_CODE); `stdin` is written to its standard input (for --code -). */
export function startConnector(
  gatehouseUrl: string,
  name: string,
  stateFile: string,
  args: string[] = [],
  env: Record<string, string> = {},
  stdin?: string,
): ConnectorProcess {
  const p = spawn(process.execPath, [MAIN, 'connector', '--url', gatehouseUrl, '--name', name, '--state', stateFile, ...args], {
    stdio: [stdin === undefined ? 'ignore' : 'pipe', 'ignore', 'pipe'],
    env: { ...process.env, ...env },
  });
  if (stdin !== undefined) p.stdin!.end(stdin);
  let stderr = '';
  p.stderr!.on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((r) => p.once('exit', (code) => r(code)));
  return { p, exited, stderr: () => stderr };
}
