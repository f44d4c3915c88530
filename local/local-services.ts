import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { lockDirectory } from '../lambdas/adapters/directory-lock';
import { DynamoDbLeaseStore } from '../lambdas/adapters/dynamodb-lease-store';
import { PgliteSqlClient } from '../lambdas/adapters/pglite-sql';
import { PostgresSqlClient } from '../lambdas/adapters/postgres-sql';
import { InvalidInputError } from '../lambdas/engine/errors';
import { LeaseService } from '../lambdas/engine/lease';
import type { Pipeline } from '../lambdas/engine/pipeline';
import type { SqlClient } from '../lambdas/engine/sql';
import type { PipelineParams } from '../lambdas/engine/stage';
import type { Transition } from '../lambdas/engine/transition';
import { loadMigrations, type MigrationReport, migrate } from '../lambdas/ledger/migrator';
import type { StepDependencies } from '../lambdas/workflow/steps';
import { ensureLeaseTable, type LocalDynamo, startDynalite } from './dynalite-server';

export const DEFAULT_DATA_DIR = '.pipeline';
export const LOCAL_LEASE_TABLE = 'hindsight-lease';

export interface LocalServicesOptions {
  /** Where local state lives: PGlite's files, dynalite's files, cached definitions. */
  readonly dataDir: string;
  /** A real PostgreSQL server instead of PGlite. */
  readonly databaseUrl?: string;
  /** The ordered stage list. */
  readonly pipeline: Pipeline;
  /** @default none */
  readonly transitions?: readonly Transition[];
  /** The pipeline's migrations, applied after Hindsight's own. */
  readonly migrationsDirectory: string;
  /** @default none */
  readonly params?: PipelineParams;
  /** @default 3660 */
  readonly maxBackfillDays?: number;
  readonly now?: () => Date;
  /** @default 15 minutes, as in AWS */
  readonly leaseDurationMs?: number;
}

/** The steps' dependencies on a laptop, and what the local runtime needs to run executions. */
export interface LocalServices {
  readonly deps: StepDependencies;
  readonly dataDir: string;
  /** Executions of this process that are running: the local answer to "is the lease holder alive?". */
  readonly running: Set<string>;
  readonly dynamo: LocalDynamo;
  /** What opening applied: the local twin of the after-deploy migrations. */
  readonly migrations: MigrationReport;
  close(): Promise<void>;
}

/**
 * Opens the data directory: locks it against a second process, opens PGlite (or the server
 * at `databaseUrl`), applies migrations and starts dynalite on 127.0.0.1 with the lease table.
 */
export async function openLocalServices(options: LocalServicesOptions): Promise<LocalServices> {
  const dataDir = resolve(options.dataDir);
  const parent = dirname(dataDir);
  if (!existsSync(parent) || !statSync(parent).isDirectory()) {
    throw InvalidInputError.of(
      '--data-dir',
      options.dataDir,
      `a directory whose parent exists (${parent} does not)`,
    );
  }
  if (existsSync(dataDir) && !statSync(dataDir).isDirectory()) {
    throw InvalidInputError.of('--data-dir', options.dataDir, 'a directory (this is a file)');
  }
  mkdirSync(dataDir, { recursive: true });
  const lock = lockDirectory(join(dataDir, 'in-use.lock'), dataDir);
  const opened: Array<() => Promise<void> | void> = [() => lock.release()];
  const closeAll = async () => {
    for (const close of opened.reverse()) await close();
  };
  try {
    const sql: SqlClient = options.databaseUrl
      ? new PostgresSqlClient(options.databaseUrl)
      : await PgliteSqlClient.open(join(dataDir, 'postgres'));
    opened.push(() => sql.close());
    const migrations = await migrate(sql, loadMigrations(options.migrationsDirectory));

    const dynamo = await startDynalite(join(dataDir, 'dynamodb'));
    opened.push(() => dynamo.close());
    await ensureLeaseTable(dynamo.client, LOCAL_LEASE_TABLE);

    const running = new Set<string>();
    const leases = new LeaseService(
      new DynamoDbLeaseStore({ client: dynamo.client, tableName: LOCAL_LEASE_TABLE }),
      { isRunning: async (executionId) => running.has(executionId) },
      options.leaseDurationMs === undefined ? {} : { durationMs: options.leaseDurationMs },
    );
    const deps: StepDependencies = {
      sql,
      pipeline: options.pipeline,
      params: options.params ?? {},
      leases,
      transitions: options.transitions ?? [],
      maxBackfillDays: options.maxBackfillDays ?? 3660,
      now: options.now ?? (() => new Date()),
    };
    return { deps, dataDir, running, dynamo, migrations, close: closeAll };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
