/**
 * `status --database-url`: read straight from the server, without the data directory's lock, PGlite
 * or dynalite (the lease lives in that database with a server, next to the fence). Migrations are
 * applied first, as every command does, so a new database reads as empty rather than failing.
 */
import { SqlLeaseStore } from '../lambdas/adapters/sql-lease-store';
import { loadMigrations, migrate } from '../lambdas/ledger/migrator';
import { ProcessMark } from '../local/database-url';
import type { StatusData } from '../local/status-snapshot';
import { readStatusData } from './status-report';

export async function readServerStatus(
  url: string,
  urlName: string | undefined,
  migrationsDirectory: string,
): Promise<StatusData> {
  // Connecting through the mark first turns a wrong URL into a message that says what to check.
  const mark = await ProcessMark.take(url, urlName);
  try {
    const { PostgresSqlClient } = await import('../lambdas/adapters/postgres-sql');
    const sql = new PostgresSqlClient(url);
    try {
      await migrate(sql, loadMigrations(migrationsDirectory));
      const store = await SqlLeaseStore.open(sql);
      return await readStatusData(sql, () => store.read());
    } finally {
      await sql.close();
    }
  } finally {
    await mark.close();
  }
}
