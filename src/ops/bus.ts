// Change notices between Gatehouse nodes. A node that changes something other nodes keep in
// memory (a tenant's engine: its keys, settings, claim names) drops its own copy at once and
// publishes a notice; every other node drops what it kept when the notice arrives, and each
// rebuilds it from the store on next use (forgetOnChange below).
//
// Redis pub/sub when REDIS_URL is set, PostgreSQL LISTEN/NOTIFY when only DATABASE_URL is,
// and in-process for the embedded store (one node). Notices are hints to reload, never data:
// a node that missed some (its subscription was down) reloads everything when it is back.
import type { Redis } from 'ioredis';
import type pg from 'pg';
import type { Logger } from 'pino';

export type Handler = (message: string) => void;

/**
 * The one rule for everything a node keeps in memory from the store (tenants' engines, app
 * profiles, upstreams, policies): the node that makes a change forgets its own copy at once,
 * before the change is answered, so that it serves the change to the very next request (it
 * reads its own writes); then it tells the other nodes, which forget theirs when the notice
 * arrives (well within a second, see docs/operations.md). When this node's own notice comes
 * back later, it only drops a fresh copy again: one extra reload, never a stale answer.
 *
 * Subscribes `forget` (and `forgetAll`, for after a break in notices) and returns the function
 * a writer calls after its write is stored.
 */
export function forgetOnChange(bus: Bus, topic: string, forget: (key: string) => void, forgetAll: () => void): (key: string) => Promise<void> {
  bus.subscribe(topic, forget, forgetAll);
  return (key) => {
    forget(key);
    return bus.publish(topic, key);
  };
}

export interface Bus {
  readonly kind: 'local' | 'redis' | 'postgres';
  publish(topic: string, message: string): Promise<void>;
  /** `onResync` runs when the subscription came back after a break: notices may have been missed. */
  subscribe(topic: string, handler: Handler, onResync?: () => void): void;
  close(): Promise<void>;
}

/**
 * Tests only: hold every notice back this long before handlers see it, as a slow network or a
 * busy node would, to show that nothing relies on notices arriving fast (test/suites/read-own-writes.ts).
 */
export const holdNotices = { ms: 0 };
const later = (deliver: () => void): void => {
  if (holdNotices.ms > 0) setTimeout(deliver, holdNotices.ms).unref();
  else deliver();
};

export class LocalBus implements Bus {
  readonly kind = 'local' as const;
  readonly #handlers = new Map<string, Handler[]>();
  async publish(topic: string, message: string): Promise<void> {
    const handlers = this.#handlers.get(topic) ?? [];
    later(() => {
      for (const h of handlers) h(message);
    });
  }
  subscribe(topic: string, handler: Handler): void {
    this.#handlers.set(topic, [...(this.#handlers.get(topic) ?? []), handler]);
  }
  async close(): Promise<void> {
    this.#handlers.clear();
  }
}

abstract class RemoteBus implements Bus {
  abstract readonly kind: 'redis' | 'postgres';
  protected readonly handlers = new Map<string, Handler[]>();
  protected readonly resyncs: (() => void)[] = [];
  protected readonly logger: Logger;
  constructor(logger: Logger) {
    this.logger = logger;
  }
  abstract publish(topic: string, message: string): Promise<void>;
  abstract close(): Promise<void>;
  subscribe(topic: string, handler: Handler, onResync?: () => void): void {
    this.handlers.set(topic, [...(this.handlers.get(topic) ?? []), handler]);
    if (onResync) this.resyncs.push(onResync);
  }
  protected deliver(topic: string, message: string): void {
    later(() => this.#deliver(topic, message));
  }
  #deliver(topic: string, message: string): void {
    for (const h of this.handlers.get(topic) ?? []) {
      try {
        h(message);
      } catch (err) {
        this.logger.error({ err, topic }, 'change notice handler failed');
      }
    }
  }
  protected resync(): void {
    this.logger.info('change notices: subscription restored; reloading what this node keeps in memory');
    for (const r of this.resyncs) r();
  }
}

export class RedisBus extends RemoteBus {
  readonly kind = 'redis' as const;
  readonly #pub: Redis;
  readonly #sub: Redis;
  readonly #prefix: string;
  #ready = false;

  /** `redis` publishes; a duplicate connection subscribes (a subscribed connection can do nothing else). */
  static async open(redis: Redis, prefix: string, logger: Logger): Promise<RedisBus> {
    const bus = new RedisBus(redis, prefix, logger);
    await bus.#sub.connect();
    await bus.#sub.psubscribe(`${prefix}bus:*`);
    bus.#ready = true;
    return bus;
  }

  private constructor(redis: Redis, prefix: string, logger: Logger) {
    super(logger);
    this.#pub = redis;
    this.#prefix = prefix;
    this.#sub = redis.duplicate({ lazyConnect: true, enableOfflineQueue: true, maxRetriesPerRequest: null });
    this.#sub.on('error', () => {
      /* reported by the main connection's handler */
    });
    this.#sub.on('pmessage', (_pattern: string, channel: string, message: string) => this.deliver(channel.slice(`${prefix}bus:`.length), message));
    // ioredis re-subscribes after a reconnect; notices published meanwhile are lost, so reload.
    this.#sub.on('ready', () => {
      if (this.#ready) this.resync();
    });
  }

  async publish(topic: string, message: string): Promise<void> {
    await this.#pub.publish(`${this.#prefix}bus:${topic}`, message);
  }

  async close(): Promise<void> {
    this.#sub.disconnect();
  }
}

export class PostgresBus extends RemoteBus {
  readonly kind = 'postgres' as const;
  readonly #pool: pg.Pool;
  readonly #connect: () => pg.Client;
  #client: pg.Client | undefined;
  #closed = false;
  #retry: NodeJS.Timeout | undefined;

  static async open(pool: pg.Pool, connect: () => pg.Client, logger: Logger): Promise<PostgresBus> {
    const bus = new PostgresBus(pool, connect, logger);
    await bus.#listen(false);
    return bus;
  }

  private constructor(pool: pg.Pool, connect: () => pg.Client, logger: Logger) {
    super(logger);
    this.#pool = pool;
    this.#connect = connect;
  }

  // One dedicated connection LISTENs; when it breaks, it is reopened every two seconds.
  async #listen(resync: boolean): Promise<void> {
    const client = this.#connect();
    client.on('error', () => {
      /* handled by 'end' */
    });
    client.on('end', () => {
      if (this.#client === client) this.#client = undefined;
      if (!this.#closed) {
        this.#retry = setTimeout(() => void this.#listen(true).catch(() => {}), 2000);
        this.#retry.unref();
      }
    });
    client.on('notification', (n) => {
      const sep = (n.payload ?? '').indexOf('\n');
      if (n.channel === 'gatehouse_bus' && sep > 0) this.deliver(n.payload!.slice(0, sep), n.payload!.slice(sep + 1));
    });
    try {
      await client.connect();
      await client.query('LISTEN gatehouse_bus');
    } catch (e) {
      await client.end().catch(() => {});
      throw e;
    }
    this.#client = client;
    if (resync) this.resync();
  }

  async publish(topic: string, message: string): Promise<void> {
    await this.#pool.query('SELECT pg_notify($1, $2)', ['gatehouse_bus', `${topic}\n${message}`]);
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retry);
    await this.#client?.end().catch(() => {});
  }
}
