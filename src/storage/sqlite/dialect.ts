// Kysely's SqliteDialect speaks the better-sqlite3 statement shape; node:sqlite differs only
// in argument spreading and value types, so this thin wrapper bridges the two.
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import { SqliteDialect, type SqliteDatabase, type SqliteStatement } from 'kysely';

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

export function nodeSqliteDialect(db: DatabaseSync): SqliteDialect {
  const cache = new Map<string, SqliteStatement>();
  const wrap = (stmt: StatementSync): SqliteStatement => ({
    reader: stmt.columns().length > 0,
    all: (p) => stmt.all(...p.map(toSqlite)),
    run: (p) => stmt.run(...p.map(toSqlite)),
    iterate: (p) => stmt.iterate(...p.map(toSqlite)),
  });
  const wrapped: SqliteDatabase = {
    close: () => { cache.clear(); db.close(); },
    prepare(sql: string): SqliteStatement {
      let stmt = cache.get(sql);
      if (!stmt) {
        stmt = wrap(db.prepare(sql));
        if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value!);
        cache.set(sql, stmt);
      }
      return stmt;
    },
  };
  return new SqliteDialect({ database: wrapped });
}
