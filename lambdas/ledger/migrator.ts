import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MigrationChangedError } from '../engine/errors';
import type { SqlClient, SqlExecutor } from '../engine/sql';
import { splitSqlStatements } from '../engine/sql-script';

/** A schema migration: `NNNN_name.sql`, applied once, in order of its id. */
export interface Migration {
  readonly id: string;
  readonly sql: string;
  readonly checksum: string;
}

export interface MigrationReport {
  /** Ids applied now, in order: Hindsight's own as `hindsight/NNNN_name`, then the pipeline's. */
  readonly applied: readonly string[];
  readonly alreadyApplied: number;
}

/**
 * Two sequences, each recorded in its own table: Hindsight's tables (the ledger, history,
 * transitions applied, backfill plans, due dates) are the framework's, migrated first; the
 * pipeline's tables are the team's, numbered as the team likes.
 */
export const MIGRATION_SEQUENCES = {
  framework: { table: 'hindsight_framework_migrations', prefix: 'hindsight/' },
  pipeline: { table: 'hindsight_schema_migrations', prefix: '' },
} as const;
type Sequence = (typeof MIGRATION_SEQUENCES)[keyof typeof MIGRATION_SEQUENCES];

const MIGRATION_FILE = /^(\d{4}_[a-z0-9_]+)\.sql$/;

/** Hindsight's own migrations (`lambdas/ledger/migrations/`; the bundling copies them next to the Lambda). */
export function frameworkMigrationsDirectory(): string {
  return join(__dirname, 'migrations');
}

/** Reads every `NNNN_name.sql` of `directory`, ordered by id. */
export function loadMigrations(directory: string): Migration[] {
  let files: string[];
  try {
    files = readdirSync(directory);
  } catch (error) {
    throw new MigrationChangedError(
      `The migrations directory ${directory} cannot be read (${(error as Error).message}).`,
    );
  }
  return files
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
 * Brings the database up to date: Hindsight's own migrations first, then the pipeline's, each
 * in its own transaction together with its record. Refuses (before applying anything of a
 * sequence) when an applied migration's file changed or disappeared.
 *
 * Every transaction takes the advisory lock first, before it creates a record table or reads
 * one, so migrators running at the same time (two deploys, two laptops on one database) take
 * turns; and what is applied is read and verified again under the lock before each migration,
 * so one applied meanwhile by another migrator is skipped only when its checksum is this one's.
 */
export async function migrate(
  sql: SqlClient,
  pipelineMigrations: readonly Migration[],
  frameworkMigrations: readonly Migration[] = loadMigrations(frameworkMigrationsDirectory()),
): Promise<MigrationReport> {
  await sql.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [LOCK_KEY]);
    await createRecordTables(tx);
    await adoptLegacyFrameworkRecords(tx, frameworkMigrations);
  });
  const framework = await migrateSequence(sql, MIGRATION_SEQUENCES.framework, frameworkMigrations);
  const pipeline = await migrateSequence(sql, MIGRATION_SEQUENCES.pipeline, pipelineMigrations);
  return {
    applied: [...framework.applied, ...pipeline.applied],
    alreadyApplied: framework.alreadyApplied + pipeline.alreadyApplied,
  };
}

async function createRecordTables(tx: SqlExecutor): Promise<void> {
  for (const { table } of Object.values(MIGRATION_SEQUENCES)) {
    await tx.query(
      `CREATE TABLE IF NOT EXISTS ${table} (
         id TEXT PRIMARY KEY, checksum TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`,
    );
  }
}

/**
 * Hindsight 0.1 kept its own migrations in the pipeline's sequence, as 0001_ledger,
 * 0004_backfill_plans and 0005_due_dates. A database migrated then has those tables already:
 * their records move to the framework's sequence (matched by checksum, so a team's migration that
 * happens to share an id stays where it is), in one transaction, once.
 */
const LEGACY_FRAMEWORK_IDS: Readonly<Record<string, string>> = {
  '0001_ledger': '0001_ledger',
  '0004_backfill_plans': '0002_backfill_plans',
  '0005_due_dates': '0003_due_dates',
};

/** Inside the migrations' transaction, under the lock. */
async function adoptLegacyFrameworkRecords(
  tx: SqlExecutor,
  frameworkMigrations: readonly Migration[],
): Promise<void> {
  const { framework, pipeline } = MIGRATION_SEQUENCES;
  const byId = new Map(frameworkMigrations.map((migration) => [migration.id, migration]));
  const { rowCount: adopted } = await tx.query(`SELECT 1 FROM ${framework.table} LIMIT 1`);
  if (adopted > 0) return;
  const legacy = await readApplied(tx, pipeline.table);
  for (const [legacyId, checksum] of legacy) {
    const current = LEGACY_FRAMEWORK_IDS[legacyId];
    if (current === undefined || byId.get(current)?.checksum !== checksum) continue;
    await tx.query(`INSERT INTO ${framework.table} (id, checksum) VALUES ($1, $2)`, [current, checksum]);
    await tx.query(`DELETE FROM ${pipeline.table} WHERE id = $1`, [legacyId]);
  }
}

async function migrateSequence(
  sql: SqlClient,
  sequence: Sequence,
  migrations: readonly Migration[],
): Promise<MigrationReport> {
  // Under the lock: what is applied, verified, before anything of the sequence is applied.
  const pending = await sql.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [LOCK_KEY]);
    const applied = await readApplied(tx, sequence.table);
    verifyApplied(applied, migrations, sequence);
    return migrations.filter((migration) => !applied.has(migration.id));
  });

  const newlyApplied: string[] = [];
  for (const migration of pending) {
    const ran = await sql.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [LOCK_KEY]);
      // Again under the lock: another migrator may have applied this one, or others, meanwhile;
      // it counts as applied only when it is this very migration (same checksum).
      const applied = await readApplied(tx, sequence.table);
      verifyApplied(applied, migrations, sequence);
      if (applied.has(migration.id)) return false;
      for (const statement of splitSqlStatements(migration.sql)) await tx.query(statement);
      await tx.query(`INSERT INTO ${sequence.table} (id, checksum) VALUES ($1, $2)`, [
        migration.id,
        migration.checksum,
      ]);
      return true;
    });
    if (ran) newlyApplied.push(`${sequence.prefix}${migration.id}`);
  }
  return { applied: newlyApplied, alreadyApplied: migrations.length - newlyApplied.length };
}

async function readApplied(sql: SqlExecutor, table: string): Promise<Map<string, string>> {
  const { rows } = await sql.query<{ id: string; checksum: string }>(
    `SELECT id, checksum FROM ${table} ORDER BY id`,
  );
  return new Map(rows.map((row) => [row.id, row.checksum]));
}

function verifyApplied(
  applied: ReadonlyMap<string, string>,
  migrations: readonly Migration[],
  sequence: Sequence,
): void {
  const byId = new Map(migrations.map((migration) => [migration.id, migration]));
  const owner = sequence === MIGRATION_SEQUENCES.framework ? "Hindsight's own migration" : 'Migration';
  const problems: string[] = [];
  for (const [id, checksum] of applied) {
    const migration = byId.get(id);
    if (!migration) {
      problems.push(
        `${owner} ${id} was applied to this database but its file is gone; restore ${id}.sql ` +
          '(or, if this database belongs to another pipeline, use a new one: locally, another --data-dir).',
      );
    } else if (migration.checksum !== checksum) {
      problems.push(
        `${owner} ${id} changed after it was applied (recorded sha256 ${checksum.slice(0, 12)}…, ` +
          `file now ${migration.checksum.slice(0, 12)}…). Applied migrations are immutable: ` +
          `restore the file and put the change in a new migration.`,
      );
    }
  }
  if (problems.length > 0) throw new MigrationChangedError(problems.join('\n'));
}
