// Building a query with the query layer costs more than running it on SQLite. For the few
// statements on every token request, build once with named placeholders and reuse the SQL
// text: the compiled parameters are matched back to names by the sentinel values.
import { CompiledQuery, type Compilable, type Kysely, type QueryResult } from 'kysely';
import type { DB } from './schema.ts';

export function prepare<N extends string>(db: Kysely<DB>, names: readonly N[], build: (p: Record<N, never>) => Compilable) {
  const sentinel = (n: string) => `\u0000param:${n}`;
  const placeholders = Object.fromEntries(names.map((n) => [n, sentinel(n)])) as Record<N, never>;
  const compiled = build(placeholders).compile();
  const order = compiled.parameters.map((p) => {
    const name = names.find((n) => sentinel(n) === p);
    if (!name) throw new Error(`prepare: a parameter of "${compiled.sql}" is not a named placeholder`);
    return name;
  });
  return <R>(values: Record<N, unknown>): Promise<QueryResult<R>> =>
    db.executeQuery<R>(
      CompiledQuery.raw(
        compiled.sql,
        order.map((n) => values[n]),
      ),
    );
}
