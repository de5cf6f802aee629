// Instance-wide settings kept in the database (one row per name): values every node must
// agree on, such as the instance secret's check value and the sealed token-hashing key.
import type { Kysely } from 'kysely';
import type { DB } from './schema.ts';

export class InstanceStore {
  readonly db: Kysely<DB>;
  constructor(db: Kysely<DB>) {
    this.db = db;
  }

  async get(name: string): Promise<string | undefined> {
    const row = await this.db.selectFrom('instance_settings').select('value').where('name', '=', name).executeTakeFirst();
    return row?.value;
  }

  /** Set a value; replaces the one there. */
  async set(name: string, value: string): Promise<void> {
    await this.db
      .insertInto('instance_settings')
      .values({ name, value, updated_at: Date.now() })
      .onConflict((oc) => oc.column('name').doUpdateSet({ value, updated_at: Date.now() }))
      .execute();
  }

  /**
   * Set a value only if none is there yet, and answer the value that holds: two nodes starting
   * at once both end up with the first one written.
   */
  async setIfAbsent(name: string, value: string): Promise<string> {
    await this.db
      .insertInto('instance_settings')
      .values({ name, value, updated_at: Date.now() })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
    return (await this.get(name))!;
  }
}
