import { createHash } from 'node:crypto';
import type { LeaseRecord } from '../../lambdas/engine/lease';
import type { SqlExecutor } from '../../lambdas/engine/sql';
import type { LocalServices } from '../../local/local-services';

/** Everything an input could have changed: every PostgreSQL table and the DynamoDB lease item. */
export interface StateChecksum {
  /** sha256 over every public table's rows, each table in name order, its rows sorted. */
  readonly database: string;
  /** The lease item as DynamoDB holds it; undefined when no lease was ever taken. */
  readonly lease: LeaseRecord | undefined;
}

/** Names of every table in the public schema, sorted. */
export async function publicTables(sql: SqlExecutor): Promise<string[]> {
  const { rows } = await sql.query<{ name: string }>(
    `SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`,
  );
  return rows.map((row) => row.name);
}

/**
 * A checksum of every row of every public table (but those in `except`): equal checksums mean no
 * row was written.
 */
export async function databaseChecksum(
  sql: SqlExecutor,
  options: { readonly except?: readonly string[] } = {},
): Promise<string> {
  const hash = createHash('sha256');
  const skipped = new Set(options.except ?? []);
  for (const table of (await publicTables(sql)).filter((name) => !skipped.has(name))) {
    const { rows } = await sql.query(`SELECT * FROM ${table}`);
    hash.update(`\u0000${table}\u0000`);
    for (const row of rows.map((r) => JSON.stringify(r)).sort()) hash.update(row).update('\n');
  }
  return hash.digest('hex');
}

/** The lease record, read strongly consistent from the local lease store (dynalite, or the database with a URL). */
export function readLease(services: LocalServices): Promise<LeaseRecord | undefined> {
  return services.leaseStore.read();
}

/** The state an input must leave untouched: the database checksum and the lease item. */
export async function stateChecksum(services: LocalServices): Promise<StateChecksum> {
  return { database: await databaseChecksum(services.deps.sql), lease: await readLease(services) };
}
