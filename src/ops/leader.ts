// Which node runs the scheduled work. With the embedded store there is one process, and it
// leads. On PostgreSQL, the leader is the node holding a session advisory lock on a
// dedicated connection: PostgreSQL releases it when that connection ends, so when the leader
// dies (even by kill -9) or loses its database, another node takes the lock at its next try.
import type pg from 'pg';
import type { Logger } from 'pino';

export interface Leadership {
  readonly isLeader: boolean;
  /** Called with true when this node becomes the leader, false when it stops being one. */
  onChange(fn: (leader: boolean) => void): void;
  close(): Promise<void>;
}

export class SoleLeader implements Leadership {
  readonly isLeader = true;
  onChange(fn: (leader: boolean) => void): void {
    queueMicrotask(() => fn(true));
  }
  async close(): Promise<void> {}
}

// pg_try_advisory_lock(classid, objid): 'gate' and a number for the scheduler.
const LOCK = [0x67617465, 1] as const;

export class PostgresLeadership implements Leadership {
  #leader = false;
  #client: pg.Client | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  readonly #listeners: ((leader: boolean) => void)[] = [];
  readonly #newClient: () => pg.Client;
  readonly #logger: Logger;
  readonly #everyMs: number;

  /** Tries for the lock now and every `everyMs`; while leading, checks the connection as often. */
  constructor(newClient: () => pg.Client, logger: Logger, everyMs = 2000) {
    this.#newClient = newClient;
    this.#logger = logger;
    this.#everyMs = everyMs;
    void this.#tick();
  }

  get isLeader(): boolean {
    return this.#leader;
  }
  onChange(fn: (leader: boolean) => void): void {
    this.#listeners.push(fn);
    if (this.#leader) queueMicrotask(() => fn(true));
  }

  #set(leader: boolean): void {
    if (leader === this.#leader) return;
    this.#leader = leader;
    this.#logger.info(leader ? 'this node now runs the scheduled work' : 'this node no longer runs the scheduled work');
    for (const fn of this.#listeners) fn(leader);
  }

  async #tick(): Promise<void> {
    if (this.#closed) return;
    try {
      if (this.#client) {
        await this.#client.query('SELECT 1'); // still connected, so still holding the lock
      } else {
        const client = this.#newClient();
        client.on('error', () => {
          /* seen as 'end' */
        });
        client.on('end', () => {
          if (this.#client === client) {
            this.#client = undefined;
            this.#set(false);
          }
        });
        await client.connect();
        const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS locked', [...LOCK]);
        if (rows[0]?.locked) {
          this.#client = client;
          this.#set(true);
        } else await client.end();
      }
    } catch {
      // The database is away: whoever it was, this node is not leading now.
      const client = this.#client;
      this.#client = undefined;
      this.#set(false);
      await client?.end().catch(() => {});
    }
    if (!this.#closed) {
      this.#timer = setTimeout(() => void this.#tick(), this.#everyMs);
      this.#timer.unref();
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    const client = this.#client;
    this.#client = undefined;
    this.#set(false);
    await client?.end().catch(() => {});
  }
}
