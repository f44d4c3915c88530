import type { SqlClient } from '../../lambdas/engine/sql';
import { MIGRATION_SEQUENCES } from '../../lambdas/ledger/migrator';
import { publicTables } from './state-checksum';

const SNAPSHOT_SCHEMA = 'hindsight_test_snapshot';
const KEEP: readonly string[] = Object.values(MIGRATION_SEQUENCES).map((sequence) => sequence.table);

/**
 * Copies every public table (ledger, history and fence included) into a side schema, so a test
 * can return to this state in milliseconds instead of running the workflows again.
 */
export async function snapshotTables(sql: SqlClient): Promise<void> {
  const tables = (await publicTables(sql)).filter((table) => !KEEP.includes(table));
  await sql.transaction(async (tx) => {
    await tx.query(`DROP SCHEMA IF EXISTS ${SNAPSHOT_SCHEMA} CASCADE`);
    await tx.query(`CREATE SCHEMA ${SNAPSHOT_SCHEMA}`);
    for (const table of tables) {
      await tx.query(`CREATE TABLE ${SNAPSHOT_SCHEMA}.${table} AS TABLE public.${table}`);
    }
  });
}

/** Puts back exactly the rows `snapshotTables` copied; tables created since are emptied. */
export async function restoreTables(sql: SqlClient): Promise<void> {
  const tables = (await publicTables(sql)).filter((table) => !KEEP.includes(table));
  await sql.transaction(async (tx) => {
    await tx.query(`TRUNCATE ${tables.map((table) => `public.${table}`).join(', ')}`);
    for (const table of tables) {
      await tx.query(`INSERT INTO public.${table} SELECT * FROM ${SNAPSHOT_SCHEMA}.${table}`);
    }
  });
}
