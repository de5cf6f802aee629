// Durable file writes: a rename or a new file is only safe across a power cut once its
// directory entry is on disk too, so writers sync the directory after the file.
import fs from 'node:fs';

/** Flush a directory's entries (new names, renames) to disk; a no-op where the system cannot. */
export function syncDir(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    /* not every system syncs directories */
  }
}
