import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { lockDirectory } from '../lambdas/adapters/directory-lock';
import type { DynamoDbLeaseStore } from '../lambdas/adapters/dynamodb-lease-store';
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
import { environmentClock } from './clock';
import { DYNAMODB_DIRECTORY, LOCK_FILE, POSTGRES_DIRECTORY } from './data-directory';
import { checkDatabaseUrl, DATABASE_URL_OPTION, ProcessMark } from './database-url';
import type { LocalDynamo } from './dynalite-server';
import { keepWasmOnBaselineCompiler } from './wasm-tiering';

export { DEFAULT_DATA_DIR } from './data-directory';
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
  /** Called once the directory is locked, before the database opens (which takes seconds). */
  readonly onLocked?: (dataDir: string) => void;
  /** Told each step of opening that can take a while (`creating the database`), for progress lines. */
  readonly onPhase?: (phase: string) => void;
  /**
   * Where a new data directory's empty database is copied from (made there once): see
   * local/database-template.ts. Without it, PGlite creates the database itself (initdb).
   */
  readonly cacheDirectory?: string;
  /**
   * When dynalite starts: at once, or when the lease is first read or written (commands that never
   * touch the lease, such as `plan`, then never load it). `dynamo` can be read only once started.
   * @default 'now'
   */
  readonly leaseTable?: 'now' | 'on first use';
}

/** The steps' dependencies on a laptop, and what the local runtime needs to run executions. */
export interface LocalServices {
  readonly deps: StepDependencies;
  readonly dataDir: string;
  /** Executions of this process that are running: the local answer to "is the lease holder alive?". */
  readonly running: Set<string>;
  /** The lease: in the database with `databaseUrl`, else in dynalite's lease table in the data directory. */
  readonly leaseStore: LeaseStore;
  /** dynalite on the data directory (its lease table is unused with `databaseUrl`); see `leaseTable`. */
  readonly dynamo: LocalDynamo;
  /** Whether the lease store is open: with `leaseTable: 'on first use'`, not before the lease is used. */
  leaseTableStarted(): boolean;
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
  if (options.databaseUrl === undefined) keepWasmOnBaselineCompiler();
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
    const lock = lockDirectory(join(dataDir, LOCK_FILE), dataDir);
    opened.push(() => lock.release());
    options.onLocked?.(dataDir);
    const postgres = join(dataDir, POSTGRES_DIRECTORY);
    if (options.databaseUrl === undefined) {
      if (!existsSync(postgres) && options.cacheDirectory !== undefined) {
        options.onPhase?.('creating the database');
        const { createDatabaseFromTemplate, hasDatabaseTemplate } = await import('./database-template');
        if (!hasDatabaseTemplate(options.cacheDirectory)) {
          options.onPhase?.(
            'preparing an empty database to copy (PGlite initdb: a minute at most, once per machine)',
          );
        }
        await createDatabaseFromTemplate(postgres, options.cacheDirectory);
      }
      options.onPhase?.('opening the database');
    }
    const sql: SqlClient =
      options.databaseUrl !== undefined
        ? new PostgresSqlClient(options.databaseUrl)
        : await PgliteSqlClient.open(postgres);
    opened.push(() => sql.close());
    options.onPhase?.('applying migrations');
    const migrations = await migrate(sql, loadMigrations(options.migrationsDirectory));

    let dynamo: LocalDynamo | undefined;
    let starting: Promise<LocalDynamo> | undefined;
    const startLeaseTable = (): Promise<LocalDynamo> => {
      starting ??= (async () => {
        options.onPhase?.('starting the local lease table');
        // Loaded here: dynalite and the DynamoDB client are for the commands that use the lease.
        const { ensureLeaseTable, startDynalite } = await import('./dynalite-server');
        const started = await startDynalite(join(dataDir, DYNAMODB_DIRECTORY));
        opened.push(() => started.close());
        await ensureLeaseTable(started.client, LOCAL_LEASE_TABLE);
        dynamo = started;
        return started;
      })();
      return starting;
    };
    if (options.leaseTable !== 'on first use') await startLeaseTable();

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
      let store: DynamoDbLeaseStore | undefined;
      const opening = async () => {
        const { DynamoDbLeaseStore } = await import('../lambdas/adapters/dynamodb-lease-store');
        store ??= new DynamoDbLeaseStore({
          client: (await startLeaseTable()).client,
          tableName: LOCAL_LEASE_TABLE,
        });
        return store;
      };
      leaseStore = {
        read: async () => (await opening()).read(),
        tryWrite: async (next, seen) => (await opening()).tryWrite(next, seen),
      };
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
      now: options.now ?? environmentClock(),
    };
    return {
      deps,
      dataDir,
      running,
      leaseStore,
      get dynamo(): LocalDynamo {
        if (dynamo === undefined)
          throw new Error('The local lease table was not started (leaseTable: on first use).');
        return dynamo;
      },
      leaseTableStarted: () => mark !== undefined || dynamo !== undefined,
      migrations,
      close: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
