/** The benchmark's databases: an in-memory PGlite (opening one costs seconds, so sections share it). */
import { PgliteSqlClient } from '../lambdas/adapters/pglite-sql';
import type { SqlClient } from '../lambdas/engine/sql';
import { loadMigrations, migrate } from '../lambdas/ledger/migrator';
import { resetDatabase } from '../test/support/databases';
import { source } from './project';

/** A new in-memory PGlite with the migrations applied. */
export async function openMigratedPglite(): Promise<SqlClient> {
  const sql = await PgliteSqlClient.open(undefined);
  await migrate(sql, loadMigrations(source.migrationsDirectory));
  return sql;
}

/** Empties every table but the migration record and resets the fence, as a fresh install has them. */
export async function emptyDatabase(sql: SqlClient): Promise<void> {
  await resetDatabase(sql);
  await sql.query('VACUUM');
}
