// WAL checkpoints copy committed pages into the database file and fsync it. Run inside a
// commit (SQLite's default), that stalls the event loop for milliseconds; so the serving
// connection never checkpoints, and a worker thread with its own connection does it every
// 200 ms, in PASSIVE mode (it never blocks readers or writers).
//
// Under sustained writes a PASSIVE checkpoint never catches up with the end of the log (new
// frames arrive while it copies), so SQLite never gets to start the log over and it grows
// without bound (measured: 150 MB in 20 s of sign-ins). So when the log passes RESTART_FRAMES,
// the worker runs one RESTART checkpoint: it holds writers back for the few milliseconds the
// remaining frames take to copy, and the next commit starts the log from the beginning.
import { Worker } from 'node:worker_threads';

const WORKER = `
const { DatabaseSync } = require('node:sqlite');
const { workerData, parentPort } = require('node:worker_threads');
const db = new DatabaseSync(workerData.file, { timeout: 1000 });
const passive = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
const restart = db.prepare('PRAGMA wal_checkpoint(RESTART)');
const checkpoint = () => {
  try {
    const r = passive.get();
    if (r && r.log > workerData.restartFrames) restart.get();
  } catch { /* busy: next time */ }
};
const timer = setInterval(checkpoint, workerData.everyMs);
parentPort.on('message', () => { clearInterval(timer); checkpoint(); db.close(); parentPort.postMessage('closed'); });
`;

/** `onFailure` runs if the worker dies, so the caller can fall back to in-commit checkpoints. */
/** Log length (frames of 4 KB) above which a checkpoint restarts the log: 16 MB. */
const RESTART_FRAMES = 4096;

export function startCheckpointer(file: string, onFailure: (err: Error) => void, everyMs = 200): { stop(): Promise<void> } {
  // A small isolate: the worker only runs one PRAGMA.
  const worker = new Worker(WORKER, { eval: true, workerData: { file, everyMs, restartFrames: RESTART_FRAMES }, resourceLimits: { maxOldGenerationSizeMb: 8, maxYoungGenerationSizeMb: 1, codeRangeSizeMb: 2, stackSizeMb: 1 } });
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
