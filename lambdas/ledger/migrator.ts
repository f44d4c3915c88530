import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MigrationChangedError } from '../engine/errors';
import type { SqlClient } from '../engine/sql';
import { splitSqlStatements } from '../engine/sql-script';

/** A schema migration: `NNNN_name.sql`, applied once, in order of its id. */
export interface Migration {
  readonly id: string;
  readonly sql: string;
  readonly checksum: string;
}

export interface MigrationReport {
  readonly applied: readonly string[];
  readonly alreadyApplied: number;
}

const MIGRATION_FILE = /^(\d{4}_[a-z0-9_]+)\.sql$/;

/** The migrations shipped with Hindsight (`lambdas/migrations/`; copied next to the Lambda bundle). */
export function defaultMigrationsDirectory(): string {
  return join(__dirname, '..', 'migrations');
}

/** Reads every `NNNN_name.sql` of `directory`, ordered by id. */
export function loadMigrations(directory: string): Migration[] {
  return readdirSync(directory)
    .filter((file) => file.endsWith('.sql'))
    .sort()
    .map((file) => {
      const match = MIGRATION_FILE.exec(file);
      if (!match) {
        throw new MigrationChangedError(
          `Migration file ${file} in ${directory} is not named NNNN_lower_snake_name.sql; rename it.`,
        );
      }
      return toMigration(match[1], readFileSync(join(directory, file), 'utf8'));
    });
}

export function toMigration(id: string, sql: string): Migration {
  // Line endings do not change a migration's meaning; a checkout on Windows must not look "changed".
  const normalised = sql.replace(/\r\n/g, '\n');
  return { id, sql: normalised, checksum: createHash('sha256').update(normalised).digest('hex') };
}

const LOCK_KEY = 7_143_519; // advisory lock id: two deploys never migrate at the same time

/**
 * Applies pending migrations in order, each in its own transaction together with its record.
 * Refuses (before applying anything) when an applied migration's file changed or disappeared.
 */
export async function migrate(sql: SqlClient, migrations: readonly Migration[]): Promise<MigrationReport> {
  await sql.query(
    `CREATE TABLE IF NOT EXISTS hindsight_schema_migrations (
       id TEXT PRIMARY KEY, checksum TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`,
  );
  const applied = await readApplied(sql);
  verifyApplied(applied, migrations);

  const newlyApplied: string[] = [];
  for (const migration of migrations) {
    if (applied.has(migration.id)) continue;
    const ran = await sql.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [LOCK_KEY]);
      const { rowCount } = await tx.query('SELECT 1 FROM hindsight_schema_migrations WHERE id = $1', [
        migration.id,
      ]);
      if (rowCount > 0) return false; // another process applied it while we waited for the lock
      for (const statement of splitSqlStatements(migration.sql)) await tx.query(statement);
      await tx.query('INSERT INTO hindsight_schema_migrations (id, checksum) VALUES ($1, $2)', [
        migration.id,
        migration.checksum,
      ]);
      return true;
    });
    if (ran) newlyApplied.push(migration.id);
  }
  return { applied: newlyApplied, alreadyApplied: applied.size };
}

async function readApplied(sql: SqlClient): Promise<Map<string, string>> {
  const { rows } = await sql.query<{ id: string; checksum: string }>(
    'SELECT id, checksum FROM hindsight_schema_migrations ORDER BY id',
  );
  return new Map(rows.map((row) => [row.id, row.checksum]));
}

function verifyApplied(applied: ReadonlyMap<string, string>, migrations: readonly Migration[]): void {
  const byId = new Map(migrations.map((migration) => [migration.id, migration]));
  const problems: string[] = [];
  for (const [id, checksum] of applied) {
    const migration = byId.get(id);
    if (!migration) {
      problems.push(`Migration ${id} was applied to this database but its file is gone; restore ${id}.sql.`);
    } else if (migration.checksum !== checksum) {
      problems.push(
        `Migration ${id} changed after it was applied (recorded sha256 ${checksum.slice(0, 12)}…, ` +
          `file now ${migration.checksum.slice(0, 12)}…). Applied migrations are immutable: ` +
          `restore the file and put the change in a new migration.`,
      );
    }
  }
  if (problems.length > 0) throw new MigrationChangedError(problems.join('\n'));
}
