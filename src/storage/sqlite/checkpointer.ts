// WAL checkpoints copy committed pages into the database file and fsync it. Run inside a
// commit (SQLite's default), that stalls the event loop for milliseconds; so the serving
// connection never checkpoints, and a worker thread with its own connection does it every
// 200 ms, in PASSIVE mode (it never blocks readers or writers).
//
// Under sustained writes a PASSIVE checkpoint never catches up with the end of the log (new
// frames arrive while it copies), so SQLite never gets to start the log over and it grows
// without bound (measured: 150 MB in 20 s of sign-ins). So when the log passes LONG_FRAMES,
// the worker says so; the serving side then holds new writes back (reads go on), the worker
// copies the few frames written since its last pass, and the next write starts the log from
// the beginning. The event loop never waits on a lock for this (a blocking RESTART checkpoint
// did make it wait, and showed in the latency tail).
import { Worker } from 'node:worker_threads';

const WORKER = `
const { DatabaseSync } = require('node:sqlite');
const { workerData, parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const db = new DatabaseSync(workerData.file, { timeout: 1000 });
const passive = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
const pass = () => { try { return passive.get(); } catch { return undefined; /* busy: next time */ } };
// SQLite fsyncs the database file only after a pass that reached the end of the log, which
// under steady writes none does: the pages copied piled up unsynced, and the pass that caught
// up while writes were held paid for all of them (holds of ~20 ms, measured). So the worker
// syncs them before it asks for that pass; holds are then ~5 ms.
const dbFd = fs.openSync(workerData.file, 'r');
const timer = setInterval(() => {
  const r = pass();
  if (r && r.log > workerData.longFrames) {
    try { fs.fdatasyncSync(dbFd); } catch { /* the catching-up pass syncs anyway */ }
    parentPort.postMessage({ type: 'long', log: r.log });
  }
}, workerData.everyMs);
parentPort.on('message', (m) => {
  if (m === 'drain') {
    const r = pass();
    parentPort.postMessage({ type: 'drained', caughtUp: !!r && r.log === r.checkpointed });
    return;
  }
  clearInterval(timer); pass(); db.close(); fs.closeSync(dbFd); parentPort.postMessage({ type: 'closed' });
});
`;

/** Log length (frames of 4 KB) past which the log is started over: 16 MB. */
const LONG_FRAMES = 4096;

export interface Checkpointer {
  /** Called when the log has grown past LONG_FRAMES. */
  onLong(fn: () => void): void;
  /** Copy everything now; call only while no writes can happen. True if the log was caught up. */
  drain(): Promise<boolean>;
  stop(): Promise<void>;
}

/** `onFailure` runs if the worker dies, so the caller can fall back to in-commit checkpoints. */
export function startCheckpointer(file: string, onFailure: (err: Error) => void, everyMs = 200): Checkpointer {
  // A small isolate: the worker only runs one PRAGMA.
  const worker = new Worker(WORKER, {
    eval: true,
    workerData: { file, everyMs, longFrames: LONG_FRAMES },
    resourceLimits: { maxOldGenerationSizeMb: 8, maxYoungGenerationSizeMb: 1, codeRangeSizeMb: 2, stackSizeMb: 1 },
  });
  worker.unref();
  let stopping = false;
  let onLong = () => {};
  let drained: ((caughtUp: boolean) => void) | undefined;
  worker.on('error', (err) => {
    if (!stopping) onFailure(err);
    drained?.(false);
  });
  worker.on('message', (m: { type: string; caughtUp?: boolean }) => {
    if (m.type === 'long') onLong();
    else if (m.type === 'drained') {
      const d = drained;
      drained = undefined;
      d?.(!!m.caughtUp);
    }
  });
  return {
    onLong: (fn) => {
      onLong = fn;
    },
    drain: () =>
      new Promise<boolean>((resolve) => {
        if (stopping) return resolve(false);
        drained = resolve;
        worker.postMessage('drain');
      }),
    stop: () =>
      new Promise<void>((resolve) => {
        stopping = true;
        drained?.(false);
        worker.on('message', (m: { type: string }) => {
          if (m.type === 'closed') void worker.terminate().then(() => resolve());
        });
        worker.once('exit', () => resolve());
        worker.postMessage('stop');
      }),
  };
}
