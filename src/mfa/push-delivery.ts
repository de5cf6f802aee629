// How sign-in requests reach a user's Gatehouse Authenticators.
//
// PushDelivery is the seam: `notify` says "something changed for this user's devices" (a
// request waits, was answered elsewhere, a device was removed). Today one delivery exists,
// StreamHub: authenticators that are open keep a server-sent-events stream to some node, and
// a notice on the bus (ops/bus.ts: Redis or PostgreSQL when there are several nodes) reaches
// whichever node holds the stream. A mobile push service (Web Push, APNs, FCM) for phones
// with the app closed would be another PushDelivery that looks up the devices' push tokens
// and sends a wake-up; the device then reads the request over its stream as now.
//
// Notices carry no data (only tenant and user ids): each node reads the requests from the
// store, so a missed or repeated notice does no harm, and after a break in notices every
// stream is refreshed.
import type { Bus } from '../ops/bus.ts';

export interface PushDelivery {
  notify(tenantId: string, userId: string): Promise<void>;
}

/** What a device's stream shows: the requests waiting for the user, or that the device was removed. */
export type Snapshot = { revoked: true } | { revoked: false; requests: unknown[] };

export interface EventSink {
  write(chunk: string): unknown;
  end(): void;
}

interface Entry {
  tenantId: string;
  userId: string;
  deviceId: string;
  sink: EventSink;
  chain: Promise<void>;
}

const TOPIC = 'push';
const HEARTBEAT_MS = 20_000;

export class StreamHub implements PushDelivery {
  readonly #bus: Bus;
  readonly #snapshot: (tenantId: string, userId: string, deviceId: string) => Promise<Snapshot>;
  readonly #streams = new Map<string, Set<Entry>>();
  #subscribed = false;
  #heartbeat: NodeJS.Timeout | undefined;

  constructor(bus: Bus, snapshot: (tenantId: string, userId: string, deviceId: string) => Promise<Snapshot>) {
    this.#bus = bus;
    this.#snapshot = snapshot;
  }

  notify(tenantId: string, userId: string): Promise<void> {
    return this.#bus.publish(TOPIC, `${tenantId} ${userId}`);
  }

  /** Streams open on this node. */
  get size(): number {
    let n = 0;
    for (const s of this.#streams.values()) n += s.size;
    return n;
  }

  /** A device's stream opened on this node: it gets the current requests now and on every change. Returns the detach. */
  attach(tenantId: string, userId: string, deviceId: string, sink: EventSink): () => void {
    // Subscribed on first use: a node no authenticator connects to never listens.
    if (!this.#subscribed) {
      this.#subscribed = true;
      this.#bus.subscribe(
        TOPIC,
        (m) => this.#refresh(m),
        () => {
          for (const k of this.#streams.keys()) this.#refresh(k);
        },
      );
    }
    const key = `${tenantId} ${userId}`;
    const entry: Entry = { tenantId, userId, deviceId, sink, chain: Promise.resolve() };
    let set = this.#streams.get(key);
    if (!set) this.#streams.set(key, (set = new Set()));
    set.add(entry);
    this.#heartbeat ??= setInterval(() => this.#ping(), HEARTBEAT_MS).unref();
    this.#send(entry);
    return () => {
      set.delete(entry);
      if (!set.size) this.#streams.delete(key);
      if (!this.#streams.size) {
        clearInterval(this.#heartbeat);
        this.#heartbeat = undefined;
      }
    };
  }

  /** Server shutdown: streams end (the authenticators reconnect to another node). */
  closeAll(): void {
    for (const set of this.#streams.values()) for (const e of set) e.sink.end();
    this.#streams.clear();
    clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
  }

  #refresh(key: string): void {
    for (const e of this.#streams.get(key) ?? []) this.#send(e);
  }

  // One snapshot at a time per stream, in order: an older one never overwrites a newer one.
  #send(e: Entry): void {
    e.chain = e.chain
      .then(async () => {
        const s = await this.#snapshot(e.tenantId, e.userId, e.deviceId);
        if (s.revoked) {
          e.sink.write('event: revoked\ndata: {}\n\n');
          e.sink.end();
          return;
        }
        e.sink.write(`event: requests\ndata: ${JSON.stringify(s.requests)}\n\n`);
      })
      .catch(() => {
        /* store unavailable: the next notice or the device's reconnect catches up */
      });
  }

  #ping(): void {
    // Keeps proxies and load balancers from closing an idle stream.
    for (const set of this.#streams.values()) for (const e of set) e.sink.write(': ping\n\n');
  }
}
