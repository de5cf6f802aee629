// Start `node src/main.ts` as a process of its own (as operations.test.ts does), for tests of
// start-up itself: what it prints, its exit code, the files it leaves.
import { spawn } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '../..');

export interface Spawned {
  /** true once it printed that it is running; false when it exited first. */
  ready: boolean;
  exited: Promise<number | null>;
  output(): string;
  errors(): string;
  /** Send it a signal (SIGHUP: reload the TLS certificate). */
  signal(sig: NodeJS.Signals): void;
  stop(): Promise<void>;
}

/** Embedded-store settings only (the machine's PostgreSQL/Redis settings must not leak in). `asNobody`: run it as user nobody (setpriv). */
export async function spawnServer(
  dataDir: string,
  port: number,
  env: Record<string, string> = {},
  opts: { asNobody?: boolean /** e.g. ['--workers', '2'] */; args?: string[] } = {},
): Promise<Spawned> {
  const node = [process.execPath, 'src/main.ts', ...(opts.args ?? [])];
  const argv = opts.asNobody ? ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', ...node] : node;
  const child = spawn(argv[0]!, argv.slice(1), {
    cwd: root,
    env: {
      ...process.env,
      DATABASE_URL: '',
      REDIS_URL: '',
      GATEHOUSE_SECRET: '',
      PORT: String(port),
      HOST: '127.0.0.1',
      GATEHOUSE_PUBLIC_URL: `http://127.0.0.1:${port}`,
      GATEHOUSE_DATA_DIR: dataDir,
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  let announced!: (v: boolean) => void;
  const running = new Promise<boolean>((resolve) => {
    announced = resolve;
  });
  child.stdout!.on('data', (d) => {
    out += d;
    if (out.includes('Gatehouse is running')) announced(true);
  });
  child.stderr!.on('data', (d) => {
    err += d;
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      announced(false);
      resolve(code);
    }),
  );
  const ready = await running;
  return {
    ready,
    exited,
    output: () => out,
    errors: () => err,
    signal(sig) {
      if (child.exitCode === null) child.kill(sig);
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
