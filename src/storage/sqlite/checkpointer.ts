// WAL checkpoints copy committed pages into the database file and fsync it. Run inside a
// commit (SQLite's default), that stalls the event loop for milliseconds; so the serving
// connection never checkpoints, and a worker thread with its own connection does it every
// second, in PASSIVE mode (it never blocks readers or writers).
import { Worker } from 'node:worker_threads';

const WORKER = `
const { DatabaseSync } = require('node:sqlite');
const { workerData, parentPort } = require('node:worker_threads');
const db = new DatabaseSync(workerData.file, { timeout: 1000 });
const checkpoint = () => { try { db.exec('PRAGMA wal_checkpoint(PASSIVE)'); } catch { /* busy: next time */ } };
const timer = setInterval(checkpoint, workerData.everyMs);
parentPort.on('message', () => { clearInterval(timer); checkpoint(); db.close(); parentPort.postMessage('closed'); });
`;

export function startCheckpointer(file: string, everyMs = 200): { stop(): Promise<void> } {
  const worker = new Worker(WORKER, { eval: true, workerData: { file, everyMs } });
  worker.unref();
  return {
    stop: () => new Promise<void>((resolve) => {
      worker.once('message', () => { void worker.terminate().then(() => resolve()); });
      worker.once('exit', () => resolve());
      worker.postMessage('stop');
    }),
  };
}
