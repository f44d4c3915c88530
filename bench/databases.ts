/** The benchmark's databases: an in-memory PGlite (opening one costs seconds, so sections share it). */
import { PgliteSqlClient } from '../lambdas/adapters/pglite-sql';
import type { SqlClient } from '../lambdas/engine/sql';
import { defaultMigrationsDirectory, loadMigrations, migrate } from '../lambdas/ledger/migrator';

/** A new in-memory PGlite with the migrations applied. */
export async function openMigratedPglite(): Promise<SqlClient> {
  const sql = await PgliteSqlClient.open(undefined);
  await migrate(sql, loadMigrations(defaultMigrationsDirectory()));
  return sql;
}

/** Empties every table but the migration record and resets the fence, as a fresh install has them. */
export async function emptyDatabase(sql: SqlClient): Promise<void> {
  const { rows } = await sql.query<{ name: string }>(
    `SELECT tablename AS name FROM pg_tables
     WHERE schemaname = 'public' AND tablename <> 'hindsight_schema_migrations'`,
  );
  await sql.transaction(async (tx) => {
    await tx.query(`TRUNCATE ${rows.map((row) => row.name).join(', ')}`);
    await tx.query('INSERT INTO hindsight_fence (id, token) VALUES (1, 0)');
  });
  await sql.query('VACUUM');
}
