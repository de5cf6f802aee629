// Kysely's SqliteDialect speaks the better-sqlite3 statement shape; node:sqlite differs only
// in argument spreading and value types, so this thin wrapper bridges the two.
import { DatabaseSync, type SQLInputValue } from 'node:sqlite';
import { SqliteDialect, type SqliteDatabase, type SqliteStatement } from 'kysely';

const toSqlite = (v: unknown): SQLInputValue => {
  if (v === undefined) return null;
  if (typeof v === 'boolean') return v ? 1 : 0;
  return v as SQLInputValue;
};

export function openSqlite(file: string): DatabaseSync {
  const db = new DatabaseSync(file, { timeout: 5000 });
  db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;');
  return db;
}

export function nodeSqliteDialect(db: DatabaseSync): SqliteDialect {
  const wrapped: SqliteDatabase = {
    close: () => db.close(),
    prepare(sql: string): SqliteStatement {
      const stmt = db.prepare(sql);
      return {
        reader: stmt.columns().length > 0,
        all: (p) => stmt.all(...p.map(toSqlite)),
        run: (p) => stmt.run(...p.map(toSqlite)),
        iterate: (p) => stmt.iterate(...p.map(toSqlite)),
      };
    },
  };
  return new SqliteDialect({ database: wrapped });
}
