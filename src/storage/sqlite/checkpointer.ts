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

/** `onFailure` runs if the worker dies, so the caller can fall back to in-commit checkpoints. */
export function startCheckpointer(file: string, onFailure: (err: Error) => void, everyMs = 200): { stop(): Promise<void> } {
  // A small isolate: the worker only runs one PRAGMA.
  const worker = new Worker(WORKER, { eval: true, workerData: { file, everyMs }, resourceLimits: { maxOldGenerationSizeMb: 8, maxYoungGenerationSizeMb: 1, codeRangeSizeMb: 2, stackSizeMb: 1 } });
  worker.unref();
  let stopping = false;
  worker.on('error', (err) => { if (!stopping) onFailure(err); });
  return {
    stop: () => new Promise<void>((resolve) => {
      stopping = true;
      worker.once('message', () => { void worker.terminate().then(() => resolve()); });
      worker.once('exit', () => resolve());
      worker.postMessage('stop');
    }),
  };
}
