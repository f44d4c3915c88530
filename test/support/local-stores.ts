import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import type { IsoDate } from '../../lambdas/engine/dates';
import type { Pipeline } from '../../lambdas/engine/pipeline';
import type { SqlExecutor } from '../../lambdas/engine/sql';
import type { PipelineParams } from '../../lambdas/engine/stage';
import type { Transition } from '../../lambdas/engine/transition';
import { readBackfillPlan } from '../../lambdas/ledger/backfill-plans';
import type { BackfillPlanResult } from '../../lambdas/workflow/contracts';
import type { WorkflowDefinitions } from '../../lib/workflow-definitions';
import { type LocalServices, openLocalServices } from '../../local/local-services';
import { type ExecutionOutcome, LocalWorkflows } from '../../local/local-workflows';
import { pipeline as meters } from '../fixtures/pipelines/meters';
import { METERS } from './fixture-pipelines';

/**
 * Where one local installation keeps its state: a data directory (PGlite's files, dynalite's
 * files) and, for the real-server kind, its own database on that server.
 */
export interface LocalStore {
  readonly dataDir: string;
  readonly databaseUrl?: string;
}

/**
 * Makes local installations on one kind of database: empty ones, and copies of a closed one
 * (a copy has the same tables, ledger, fence and lease table, so it continues where the original
 * stopped, as if the same executions had run on it).
 */
export interface LocalStoreKind {
  readonly name: 'pglite' | 'postgres';
  fresh(): Promise<LocalStore>;
  /** A copy of `store`, which must be closed. */
  copy(store: LocalStore): Promise<LocalStore>;
  /** Deletes every store this kind made. */
  dispose(): Promise<void>;
}

function tempDataDir(root: string): string {
  return join(mkdtempSync(join(root, 'store-')), 'data');
}

function pgliteStores(migrationsDirectory: string): LocalStoreKind {
  const root = mkdtempSync(join(tmpdir(), 'hindsight-stores-'));
  const copyOf = (source: string): LocalStore => {
    const dataDir = tempDataDir(root);
    cpSync(source, dataDir, { recursive: true });
    return { dataDir };
  };
  // Creating a PGlite database (initdb) costs seconds; copying a never-used one costs milliseconds.
  let pristine: Promise<string> | undefined;
  const pristineDataDir = async (): Promise<string> => {
    const dataDir = tempDataDir(root);
    // Any pipeline will do: what makes the copy worth having is the migrated database.
    await (await openLocalServices({ dataDir, pipeline: meters, migrationsDirectory })).close();
    return dataDir;
  };
  return {
    name: 'pglite',
    fresh: async () => {
      pristine ??= pristineDataDir();
      return copyOf(await pristine);
    },
    copy: async (store) => copyOf(store.dataDir),
    dispose: async () => rmSync(root, { recursive: true, force: true }),
  };
}

function postgresStores(serverUrl: string): LocalStoreKind {
  const root = mkdtempSync(join(tmpdir(), 'hindsight-stores-'));
  const created: string[] = [];
  const admin = async <T>(work: (client: Client) => Promise<T>): Promise<T> => {
    const client = new Client({ connectionString: serverUrl });
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  };
  const createDatabase = async (template?: string): Promise<string> => {
    const name = `hindsight_store_${randomBytes(6).toString('hex')}`;
    await admin((client) =>
      client.query(`CREATE DATABASE ${name}${template === undefined ? '' : ` TEMPLATE ${template}`}`),
    );
    created.push(name);
    const url = new URL(serverUrl);
    url.pathname = `/${name}`;
    return url.toString();
  };
  return {
    name: 'postgres',
    fresh: async () => ({ dataDir: tempDataDir(root), databaseUrl: await createDatabase() }),
    copy: async (store) => {
      if (store.databaseUrl === undefined) throw new Error('A postgres store without its database.');
      const dataDir = tempDataDir(root);
      cpSync(store.dataDir, dataDir, { recursive: true });
      const source = new URL(store.databaseUrl).pathname.slice(1);
      return { dataDir, databaseUrl: await createDatabase(source) };
    },
    dispose: async () => {
      await admin(async (client) => {
        for (const name of created) await client.query(`DROP DATABASE IF EXISTS ${name}`);
      });
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** PGlite always; the real server when the global setup found or started one. */
export function localStoreKinds(migrationsDirectory: string = METERS.migrationsDirectory): LocalStoreKind[] {
  const url = process.env.TEST_DATABASE_URL;
  return url ? [pgliteStores(migrationsDirectory), postgresStores(url)] : [pgliteStores(migrationsDirectory)];
}

/** An open local installation: its services and the workflows over them, as `hindsight` opens them. */
export interface LocalSession {
  readonly services: LocalServices;
  readonly workflows: LocalWorkflows;
  /** Runs the daily workflow for each date in turn; throws unless every execution succeeded. */
  daily(dates: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

/** What else a session may need: the pipeline's migrations and transitions. */
export interface SessionOptions {
  /** @default the meters fixture's migrations */
  readonly migrationsDirectory?: string;
  /** @default none */
  readonly transitions?: readonly Transition[];
}

export async function openLocalSession(
  store: LocalStore,
  pipeline: Pipeline,
  params: PipelineParams,
  definitions: WorkflowDefinitions,
  options: SessionOptions = {},
): Promise<LocalSession> {
  const services = await openLocalServices({
    dataDir: store.dataDir,
    ...(store.databaseUrl === undefined ? {} : { databaseUrl: store.databaseUrl }),
    pipeline,
    params,
    migrationsDirectory: options.migrationsDirectory ?? METERS.migrationsDirectory,
    ...(options.transitions ? { transitions: options.transitions } : {}),
  });
  try {
    const workflows = await LocalWorkflows.create(services, definitions, { pauseMs: 20 });
    return {
      services,
      workflows,
      daily: async (dates) => {
        for (const date of dates) succeeded(`daily ${date}`, await workflows.start('daily', { date }).done);
      },
      close: () => services.close(),
    };
  } catch (error) {
    await services.close();
    throw error;
  }
}

/** Opens a session on `store`, runs `work`, and closes it whatever happens. */
export async function withLocalSession<T>(
  store: LocalStore,
  pipeline: Pipeline,
  params: PipelineParams,
  definitions: WorkflowDefinitions,
  work: (session: LocalSession) => Promise<T>,
  options: SessionOptions = {},
): Promise<T> {
  const session = await openLocalSession(store, pipeline, params, definitions, options);
  try {
    return await work(session);
  } finally {
    await session.close();
  }
}

function succeeded(what: string, outcome: ExecutionOutcome): unknown {
  if (outcome.status !== 'SUCCEEDED') throw new Error(`${what} ended ${JSON.stringify(outcome)}`);
  return outcome.output;
}

/**
 * The dates a backfill execution planned, `[date, startStage]` in order, as "Validate And Plan"
 * stored them (a dry run or an empty plan stores none).
 */
export async function plannedDates(sql: SqlExecutor, executionId: string): Promise<Array<[IsoDate, string]>> {
  return (await readBackfillPlan(sql, executionId)).map((planned) => [planned.date, planned.startStage]);
}

/** A backfill's output (the plan it carried out); throws unless the execution succeeded with one. */
export function backfillOutput(outcome: ExecutionOutcome): BackfillPlanResult {
  const output = succeeded('backfill', outcome);
  if (!isPlanResult(output)) throw new Error(`Not a backfill plan: ${JSON.stringify(output)}`);
  return output;
}

function isPlanResult(output: unknown): output is BackfillPlanResult {
  return (
    output !== null &&
    typeof output === 'object' &&
    'positions' in output &&
    Array.isArray(output.positions) &&
    'totals' in output
  );
}
