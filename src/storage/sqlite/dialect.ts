// The embedded store's query driver: node:sqlite under Kysely, with group commit.
//
// A commit in WAL mode writes every page the transaction touched to the log, so a token
// request committing its one insert alone pays for several page writes. Instead, the writes
// that arrive within one turn of the event loop share a transaction: the first opens it, a
// setImmediate commits it, and every caller's promise settles only after that commit. So
// nothing is acknowledged before it is durable, exactly as with one commit per statement.
// A read made while a group is open sees the group's writes, so it too waits for the commit
// (nobody acts on data that a failed commit could still take back).
//
// Explicit transactions (db.transaction()) join the open group as a savepoint; while one
// runs, other queries and the group's commit wait for it to finish.
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import {
  type CompiledQuery,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  type QueryCompiler,
  type QueryResult,
} from 'kysely';

const toSqlite = (v: unknown): SQLInputValue => {
  if (v === undefined) return null;
  if (typeof v === 'boolean') return v ? 1 : 0;
  return v as SQLInputValue;
};

export function openSqlite(file: string): DatabaseSync {
  const db = new DatabaseSync(file, { timeout: 5000 });
  // wal_autocheckpoint = 0: checkpoints run off the event loop (see checkpointer.ts).
  db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA wal_autocheckpoint = 0;');
  return db;
}

// Compiling a statement costs more than running most of ours, and the query layer emits the
// same SQL text for the same query shape, so compiled statements are kept and reused
// (node:sqlite runs them synchronously, so one statement is never used twice at once).
const STATEMENT_CACHE_SIZE = 500;

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
  reject(e: unknown): void;
}
function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => {
    /* observed by the callers that await it */
  });
  return { promise, resolve, reject };
}

export class GroupCommitDriver implements Driver {
  readonly #db: DatabaseSync;
  readonly #statements = new Map<string, { stmt: StatementSync; reader: boolean }>();
  /** The open group: a BEGIN has run and its COMMIT is scheduled. */
  #group: Deferred | undefined;
  /** The connection running an explicit transaction, and what others wait on meanwhile. */
  #txOwner: Connection | undefined;
  #txDone: Deferred | undefined;
  #commitDeferred = false;
  #closed = false;
  /** While set, new writes wait for it (see holdWrites). */
  #held: Promise<void> | undefined;

  readonly #onCommit: () => void;

  constructor(db: DatabaseSync, onCommit: () => void = () => {}) {
    this.#db = db;
    this.#onCommit = onCommit;
  }

  async init(): Promise<void> {
    /* the database is opened by the caller */
  }
  async acquireConnection(): Promise<DatabaseConnection> {
    return new Connection(this);
  }
  async releaseConnection(): Promise<void> {
    /* connections are views of one database */
  }

  async beginTransaction(conn: DatabaseConnection): Promise<void> {
    while (this.#txOwner || this.#held) await (this.#txOwner ? this.#txDone!.promise : this.#held);
    this.#txOwner = conn as Connection;
    this.#txDone = deferred();
    this.#openGroup();
    this.#db.exec('SAVEPOINT gatehouse_tx');
  }

  async commitTransaction(): Promise<void> {
    const group = this.#group;
    try {
      this.#db.exec('RELEASE gatehouse_tx');
    } finally {
      this.#endTransaction();
    }
    await group?.promise;
  }

  async rollbackTransaction(): Promise<void> {
    try {
      if (this.#db.isTransaction) this.#db.exec('ROLLBACK TO gatehouse_tx; RELEASE gatehouse_tx');
    } finally {
      this.#endTransaction();
    }
  }

  async savepoint(_conn: DatabaseConnection, name: string): Promise<void> {
    this.#db.exec(`SAVEPOINT "${name}"`);
  }
  async rollbackToSavepoint(_conn: DatabaseConnection, name: string): Promise<void> {
    this.#db.exec(`ROLLBACK TO "${name}"`);
  }
  async releaseSavepoint(_conn: DatabaseConnection, name: string): Promise<void> {
    this.#db.exec(`RELEASE "${name}"`);
  }

  async destroy(): Promise<void> {
    if (this.#closed) return;
    while (this.#txOwner) await this.#txDone!.promise;
    this.#commit();
    this.#closed = true;
    this.#statements.clear();
    this.#db.close();
  }

  /**
   * Hold new writes (and transactions) back while `during` runs, once the writes already
   * under way are committed; reads go on. For maintenance that needs a moment without
   * writers, without making the event loop wait on a lock.
   */
  holdWrites(during: () => Promise<unknown>): Promise<void> {
    if (this.#held) return this.#held;
    const held = (async () => {
      try {
        while (this.#group || this.#txOwner) {
          if (this.#txOwner) await this.#txDone!.promise;
          else await this.#group!.promise.catch(() => {});
        }
        await during();
      } finally {
        this.#held = undefined;
      }
    })();
    this.#held = held;
    return held;
  }

  async execute(conn: Connection, query: CompiledQuery): Promise<QueryResult<unknown>> {
    while (this.#txOwner && this.#txOwner !== conn) await this.#txDone!.promise;
    const { stmt, reader } = this.#prepare(query.sql);
    // A write (or a read that would join a group) waits while writes are held.
    while (this.#held && this.#txOwner !== conn && (!reader || this.#group)) await this.#held;
    const params = query.parameters.map(toSqlite);
    const inTransaction = this.#txOwner === conn;
    // A read with no group open sees only committed data and can answer at once.
    if (reader && !this.#group) return { rows: stmt.all(...params) as unknown[] };
    if (!inTransaction) this.#openGroup();
    const group = this.#group!;
    let result: QueryResult<unknown>;
    try {
      if (reader) {
        result = { rows: stmt.all(...params) as unknown[] };
      } else {
        const { changes, lastInsertRowid } = stmt.run(...params);
        result = { rows: [], numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid) };
      }
    } catch (e) {
      // Most errors undo just the statement; some (a full disk, I/O) end the transaction,
      // and with it the whole group.
      if (!this.#db.isTransaction && this.#group === group) this.#failGroup(e);
      throw e;
    }
    // Inside an explicit transaction the caller's commit waits for the group instead.
    if (!inTransaction) await group.promise;
    return result;
  }

  #prepare(sql: string) {
    let entry = this.#statements.get(sql);
    if (!entry) {
      const stmt = this.#db.prepare(sql);
      entry = { stmt, reader: stmt.columns().length > 0 };
      if (this.#statements.size >= STATEMENT_CACHE_SIZE) this.#statements.delete(this.#statements.keys().next().value!);
      this.#statements.set(sql, entry);
    }
    return entry;
  }

  #openGroup(): void {
    if (this.#group) return;
    if (this.#closed) throw new Error('the database is closed');
    this.#db.exec('BEGIN');
    this.#group = deferred();
    setImmediate(() => this.#commit());
  }

  #commit(): void {
    const group = this.#group;
    if (!group) return;
    if (this.#txOwner) {
      this.#commitDeferred = true;
      return;
    }
    this.#group = undefined;
    try {
      this.#db.exec('COMMIT');
      group.resolve();
      this.#onCommit();
    } catch (e) {
      try {
        if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
      } catch {
        /* already rolled back */
      }
      group.reject(e);
    }
  }

  #failGroup(e: unknown): void {
    const group = this.#group!;
    this.#group = undefined;
    group.reject(e);
  }

  #endTransaction(): void {
    const done = this.#txDone;
    this.#txOwner = undefined;
    this.#txDone = undefined;
    done?.resolve();
    if (this.#commitDeferred) {
      this.#commitDeferred = false;
      setImmediate(() => this.#commit());
    }
  }
}

class Connection implements DatabaseConnection {
  readonly #driver: GroupCommitDriver;
  constructor(driver: GroupCommitDriver) {
    this.#driver = driver;
  }
  executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    return this.#driver.execute(this, query) as Promise<QueryResult<R>>;
  }
  async *streamQuery<R>(query: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    const { rows } = await this.executeQuery<R>(query);
    for (const row of rows) yield { rows: [row] };
  }
}

/** A Kysely dialect over one GroupCommitDriver. */
export function nodeSqliteDialect(driver: GroupCommitDriver): Dialect {
  return {
    createDriver: (): Driver => driver,
    createQueryCompiler: (): QueryCompiler => new SqliteQueryCompiler(),
    createAdapter: (): DialectAdapter => new SqliteAdapter(),
    // biome-ignore lint/suspicious/noExplicitAny: Kysely's Dialect interface takes Kysely<any>
    createIntrospector: (k: Kysely<any>): DatabaseIntrospector => new SqliteIntrospector(k),
  };
}
