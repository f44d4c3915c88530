import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { lockDirectory } from '../lambdas/adapters/directory-lock';
import { DynamoDbLeaseStore } from '../lambdas/adapters/dynamodb-lease-store';
import { PgliteSqlClient } from '../lambdas/adapters/pglite-sql';
import { PostgresSqlClient } from '../lambdas/adapters/postgres-sql';
import { SqlLeaseStore } from '../lambdas/adapters/sql-lease-store';
import { InvalidInputError } from '../lambdas/engine/errors';
import { type HolderLiveness, LeaseService, type LeaseStore } from '../lambdas/engine/lease';
import type { Pipeline } from '../lambdas/engine/pipeline';
import type { SqlClient } from '../lambdas/engine/sql';
import type { PipelineParams } from '../lambdas/engine/stage';
import type { Transition } from '../lambdas/engine/transition';
import { loadMigrations, type MigrationReport, migrate } from '../lambdas/ledger/migrator';
import type { StepDependencies } from '../lambdas/workflow/steps';
import { checkDatabaseUrl, DATABASE_URL_OPTION, ProcessMark } from './database-url';
import { ensureLeaseTable, type LocalDynamo, startDynalite } from './dynalite-server';

export const DEFAULT_DATA_DIR = '.pipeline';
export const LOCAL_LEASE_TABLE = 'hindsight-lease';

export interface LocalServicesOptions {
  /** Where local state lives: PGlite's files, dynalite's files, cached definitions. */
  readonly dataDir: string;
  /**
   * A real PostgreSQL server instead of PGlite. The lease then lives in that database too, next
   * to the fence, shared by every data directory using it.
   */
  readonly databaseUrl?: string;
  /**
   * How the user gave `databaseUrl` (`--database-url`, `DATABASE_URL`), for messages.
   * @default '--database-url'
   */
  readonly databaseUrlName?: string;
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
  /** The lease: in the database with `databaseUrl`, else in dynalite's lease table in the data directory. */
  readonly leaseStore: LeaseStore;
  /** dynalite on the data directory (its lease table is unused with `databaseUrl`). */
  readonly dynamo: LocalDynamo;
  /** What opening applied: the local twin of the after-deploy migrations. */
  readonly migrations: MigrationReport;
  close(): Promise<void>;
}

/**
 * Opens the data directory: locks it against a second process, opens PGlite (or the server
 * at `databaseUrl`, checked and connected to first), applies migrations and starts dynalite on
 * 127.0.0.1 with the lease table (with `databaseUrl`, the lease is kept in the database instead).
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
  const urlName = options.databaseUrlName ?? DATABASE_URL_OPTION;
  if (options.databaseUrl !== undefined) checkDatabaseUrl(options.databaseUrl, urlName);
  // With a server, connect before touching anything: a wrong URL changes nothing.
  const mark =
    options.databaseUrl === undefined ? undefined : await ProcessMark.take(options.databaseUrl, urlName);
  const opened: Array<() => Promise<void> | void> = mark ? [() => mark.close()] : [];
  const closeAll = async () => {
    for (const close of opened.reverse()) await close();
  };
  try {
    mkdirSync(dataDir, { recursive: true });
    const lock = lockDirectory(join(dataDir, 'in-use.lock'), dataDir);
    opened.push(() => lock.release());
    const sql: SqlClient =
      options.databaseUrl !== undefined
        ? new PostgresSqlClient(options.databaseUrl)
        : await PgliteSqlClient.open(join(dataDir, 'postgres'));
    opened.push(() => sql.close());
    const migrations = await migrate(sql, loadMigrations(options.migrationsDirectory));

    const dynamo = await startDynalite(join(dataDir, 'dynamodb'));
    opened.push(() => dynamo.close());
    await ensureLeaseTable(dynamo.client, LOCAL_LEASE_TABLE);

    const running = new Set<string>();
    let leaseStore: LeaseStore;
    let liveness: HolderLiveness;
    if (mark) {
      // One lease per database, next to the fence: a holder of another process (another data
      // directory on this database) runs for as long as that process holds its mark.
      const store = await SqlLeaseStore.open(sql, { owner: mark.owner });
      leaseStore = store;
      liveness = {
        isRunning: async (executionId) => {
          if (running.has(executionId)) return true;
          const owner = await store.ownerOf(executionId);
          return (
            owner !== null &&
            owner !== undefined &&
            owner !== mark.owner &&
            (await ProcessMark.held(sql, owner))
          );
        },
      };
    } else {
      leaseStore = new DynamoDbLeaseStore({ client: dynamo.client, tableName: LOCAL_LEASE_TABLE });
      liveness = { isRunning: async (executionId) => running.has(executionId) };
    }
    const leases = new LeaseService(
      leaseStore,
      liveness,
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
    return { deps, dataDir, running, leaseStore, dynamo, migrations, close: closeAll };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
