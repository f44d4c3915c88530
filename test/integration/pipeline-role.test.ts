import { randomBytes } from 'node:crypto';
import { RDSDataClient } from '@aws-sdk/client-rds-data';
import { mockClient } from 'aws-sdk-client-mock';
import { Client } from 'pg';
import type { DataApiSqlClient } from '../../lambdas/adapters/data-api-sql';
import { PostgresSqlClient } from '../../lambdas/adapters/postgres-sql';
import { LeaseService } from '../../lambdas/engine/lease';
import type { SqlClient } from '../../lambdas/engine/sql';
import {
  frameworkMigrationsDirectory,
  loadMigrations,
  migrate,
  toMigration,
} from '../../lambdas/ledger/migrator';
import { grantPipelineRole, PipelineRoleError } from '../../lambdas/ledger/pipeline-role';
import { type AfterDeployResult, afterDeploy } from '../../lambdas/workflow/after-deploy';
import { handleLease } from '../../lambdas/workflow/lease-steps';
import { resolveDate } from '../../lambdas/workflow/resolve-date';
import {
  checkEarlierDates,
  prepareDate,
  runStageTask,
  type StepDependencies,
  validateAndPlan,
} from '../../lambdas/workflow/steps';
import { verifyTask } from '../../lambdas/workflow/verify-tasks';
import { pipeline } from '../fixtures/pipelines/meters';
import * as v2 from '../fixtures/pipelines/meters-validate-v2-with-transitions';
import { DataApiEmulator } from '../support/data-api-emulator';
import { METERS } from '../support/fixture-pipelines';
import { MemoryLeaseStore } from '../support/memory-lease-store';

/**
 * The pipeline's database role on a real PostgreSQL server (roles do not exist in PGlite's single
 * user): a master user like Aurora's (CREATEROLE, owner of the database, no superuser) migrates and
 * grants, as the after-deploy function does; every step then runs connected as the pipeline role.
 */

const serverUrl = process.env.TEST_DATABASE_URL;
const onServer = serverUrl ? describe : describe.skip;
if (!serverUrl) console.warn('No PostgreSQL server (TEST_DATABASE_URL): the pipeline role suite is skipped.');

const suffix = randomBytes(4).toString('hex');
const MASTER = `hs_master_${suffix}`;
const ROLE = `hs_pipeline_${suffix}`;
const DATABASE = `hindsight_role_${suffix}`;
const PASSWORD = `pw-${randomBytes(12).toString('hex')}`;

/** The server's URL, logged in as `user` to this suite's database. */
function urlAs(user: string, database = DATABASE): string {
  const url = new URL(serverUrl ?? 'postgres://localhost/postgres');
  url.username = user;
  url.password = PASSWORD;
  url.pathname = `/${database}`;
  return url.toString();
}

/** A statement's failure as PostgreSQL reports it: its SQLSTATE, and whether the message says why. */
async function refusal(sql: SqlClient, statement: string): Promise<{ code: unknown; message: string }> {
  try {
    await sql.query(statement);
  } catch (error) {
    const { code, message } = error as { code?: unknown; message: string };
    return { code, message };
  }
  return { code: 'none', message: `${statement} succeeded` };
}

onServer('The pipeline role on a real PostgreSQL server', () => {
  let server: Client;
  let master: SqlClient;
  let asPipeline: SqlClient;
  let deployed: AfterDeployResult;
  const leaseStore = new MemoryLeaseStore();
  const deps = (overrides: Partial<StepDependencies> = {}): StepDependencies => ({
    sql: asPipeline,
    pipeline,
    params: { rowsPerDay: '20' },
    leases: new LeaseService(leaseStore, { isRunning: async () => false }),
    transitions: [],
    maxBackfillDays: 3660,
    now: () => new Date('2026-11-24T02:00:00Z'),
    ...overrides,
  });

  beforeAll(async () => {
    server = new Client({ connectionString: serverUrl });
    await server.connect();
    await server.query(`CREATE ROLE ${MASTER} LOGIN CREATEROLE CREATEDB PASSWORD '${PASSWORD}'`);
    await server.query(`CREATE DATABASE ${DATABASE} OWNER ${MASTER}`);
    master = new PostgresSqlClient(urlAs(MASTER));
    asPipeline = new PostgresSqlClient(urlAs(ROLE));
    // Act (for every test below): the after-deploy function, master user and pipeline role apart.
    deployed = await afterDeploy(
      deps(),
      {
        framework: loadMigrations(frameworkMigrationsDirectory()),
        pipeline: loadMigrations(METERS.migrationsDirectory),
      },
      { startAuto: async () => ({ executionArn: 'arn:deploy', alreadyStarted: false }) },
      { deploymentId: 'role', autoBackfill: false },
      { sql: master, pipelineRole: async () => ({ username: ROLE, password: PASSWORD }) },
    );
  });

  afterAll(async () => {
    await asPipeline?.close();
    await master?.close();
    // The pools' backends end shortly after their sockets close; the database can go once they have.
    for (let attempt = 0; attempt < 50; attempt++) {
      const { rows } = await server.query('SELECT 1 FROM pg_stat_activity WHERE datname = $1', [DATABASE]);
      if (rows.length === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await server.query(`DROP DATABASE IF EXISTS ${DATABASE}`);
    await server.query(`DROP ROLE IF EXISTS ${ROLE}`);
    await server.query(`DROP ROLE IF EXISTS ${MASTER}`);
    await server.end();
  });

  it('after a deploy: the master user owns every table, the pipeline role logs in with nothing more', async () => {
    // Assess
    expect(deployed.pipelineRole).toMatchObject({ role: ROLE, created: true, schemas: ['public'] });
    const { rows: owners } = await master.query(
      `SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'`,
    );
    expect(owners).toEqual([{ tableowner: MASTER }]);
    const { rows: roles } = await server.query(
      `SELECT rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolpassword IS NOT NULL AS has_password,
              (SELECT count(*)::int FROM pg_auth_members WHERE member = a.oid) AS memberships
         FROM pg_authid a WHERE rolname = $1`,
      [ROLE],
    );
    expect(roles).toEqual([
      {
        rolcanlogin: true,
        rolsuper: false,
        rolcreatedb: false,
        rolcreaterole: false,
        has_password: true,
        memberships: 0,
      },
    ]);
  });

  it('runs a daily run, a backfill with a transition and a verification, ledger included, as the pipeline role', async () => {
    // Prepare
    const date = '2026-11-20';
    const daily = deps();
    const changed = deps({ pipeline: v2.pipeline, transitions: v2.transitions });

    // Act: the daily run's steps, in order
    await resolveDate(daily, { date });
    const lease = await handleLease(daily, { action: 'acquire', kind: 'daily', executionId: 'exec-daily' });
    if (!('token' in lease)) throw new Error('the daily run should hold the lease');
    await checkEarlierDates(daily, { date });
    for (const stage of pipeline.names) {
      await runStageTask(daily, stage, { date, token: lease.token, executionId: 'exec-daily' });
    }
    await handleLease(daily, {
      action: 'release',
      kind: 'daily',
      executionId: 'exec-daily',
      token: lease.token,
    });
    // Act: validate v2 changes; the backfill plans, applies the transition and reruns the date
    const planned = await validateAndPlan(changed, {
      request: { mode: 'auto' },
      executionId: 'exec-backfill',
    });
    const held = await handleLease(changed, {
      action: 'acquire',
      kind: 'backfill',
      executionId: 'exec-backfill',
    });
    if (!('token' in held)) throw new Error('the backfill should hold the lease');
    const prepared = await prepareDate(changed, {
      position: 0,
      executionId: 'exec-backfill',
      token: held.token,
    });
    for (const stage of prepared.stages) {
      await runStageTask(changed, stage, { date, token: prepared.token, executionId: 'exec-backfill' });
    }
    await handleLease(changed, {
      action: 'release',
      kind: 'backfill',
      executionId: 'exec-backfill',
      token: prepared.token,
    });
    const verified = await verifyTask(changed, {
      action: 'date',
      date,
      stages: [...v2.pipeline.names],
      historyStart: date,
    });

    // Assess
    expect(planned.positions).toEqual([0]);
    expect(prepared.transitionsApplied).toEqual(['0001_delete_rejected_readings']);
    expect(verified).toMatchObject({
      counts: { same: v2.pipeline.names.length, differs: 0, failed: 0, stale: 0 },
    });
    const count = async (table: string) =>
      (await asPipeline.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]?.n;
    expect({
      stageState: await count('hindsight_stage_state'),
      runHistory: await count('hindsight_run_history'),
      transitionsApplied: await count('hindsight_transitions_applied'),
      dueDates: await count('hindsight_due_dates'),
      backfillPlans: await count('hindsight_backfill_plans'),
      rejectedReadings: await count('rejected_readings'),
    }).toEqual({
      stageState: pipeline.names.length,
      runHistory: pipeline.names.length + prepared.stages.length,
      transitionsApplied: 1,
      dueDates: 1,
      backfillPlans: 1,
      rejectedReadings: 0,
    });
    const { rows } = await asPipeline.query<{ token: number }>('SELECT token FROM hindsight_fence');
    expect(rows).toEqual([{ token: prepared.token + 1 }]);
  });

  it('refuses the pipeline role every CREATE, ALTER and DROP, and any write to the migration records', async () => {
    // Act
    const refused = {
      createTable: await refusal(asPipeline, 'CREATE TABLE scratch (id INTEGER)'),
      createSchema: await refusal(asPipeline, 'CREATE SCHEMA scratch'),
      createIndex: await refusal(asPipeline, 'CREATE INDEX scratch ON meter_readings (day)'),
      alterTable: await refusal(asPipeline, 'ALTER TABLE meter_readings ADD COLUMN note TEXT'),
      dropTable: await refusal(asPipeline, 'DROP TABLE hindsight_fence'),
      truncate: await refusal(asPipeline, 'TRUNCATE hindsight_run_history'),
      createRole: await refusal(asPipeline, 'CREATE ROLE scratch'),
      recordMigration: await refusal(
        asPipeline,
        "INSERT INTO hindsight_schema_migrations (id, checksum) VALUES ('9999_x', 'x')",
      ),
      forgetMigration: await refusal(asPipeline, 'DELETE FROM hindsight_framework_migrations'),
    };

    // Assess: each is refused for want of a privilege (SQLSTATE 42501), and nothing changed
    for (const [what, { code, message }] of Object.entries(refused)) {
      expect({ what, code }).toEqual({ what, code: '42501' });
      expect(message).toMatch(/permission denied|must be owner/);
    }
    const { rows } = await master.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public' AND tableowner <> $1`,
      [MASTER],
    );
    expect(rows).toEqual([{ n: 0 }]);
    expect((await asPipeline.query('SELECT id FROM hindsight_schema_migrations')).rows).toEqual([
      { id: '0001_meters' },
    ]);
  });

  it("covers a later migration's tables and sequences, and takes the secret's new password", async () => {
    // Prepare
    const later = [
      ...loadMigrations(METERS.migrationsDirectory),
      toMigration(
        '0002_meter_notes',
        'CREATE TABLE meter_notes (id SERIAL PRIMARY KEY, note TEXT NOT NULL);',
      ),
    ];
    const passwordOf = async () =>
      (await server.query('SELECT rolpassword FROM pg_authid WHERE rolname = $1', [ROLE])).rows[0]
        ?.rolpassword;
    const before = await passwordOf();

    // Act
    await migrate(master, later);
    const regranted = await grantPipelineRole(master, { username: ROLE, password: `${PASSWORD}-rotated` });
    const inserted = await asPipeline.query<{ id: number }>(
      "INSERT INTO meter_notes (note) VALUES ('checked') RETURNING id",
    );

    // Assess
    expect(regranted).toMatchObject({ role: ROLE, created: false, canCreateIn: [] });
    expect(inserted.rows).toEqual([{ id: 1 }]);
    expect(await refusal(asPipeline, 'DROP TABLE meter_notes')).toMatchObject({ code: '42501' });
    expect(await passwordOf()).not.toEqual(before);
  });

  it('refuses an existing role that has more than a login, and says where PUBLIC still lets it create', async () => {
    // Prepare
    const wide = `${ROLE}_wide`;
    await server.query(`CREATE ROLE ${wide} LOGIN CREATEDB`);
    await master.query('GRANT CREATE ON SCHEMA public TO PUBLIC');

    // Act
    const refused = await grantPipelineRole(master, { username: wide, password: PASSWORD }).catch(
      (error: unknown) => error,
    );
    const reported = await grantPipelineRole(master, { username: ROLE, password: PASSWORD });

    // Assess
    expect(refused).toBeInstanceOf(PipelineRoleError);
    expect((refused as Error).message).toContain(`Cannot use ${wide} as the pipeline role: it has CREATEDB`);
    expect(reported.canCreateIn).toEqual(['schema public']);
    await master.query('REVOKE CREATE ON SCHEMA public FROM PUBLIC');
    await server.query(`DROP ROLE ${wide}`);
  });

  it('refuses credentials naming the master user itself, or a name that is no plain role name', async () => {
    await expect(grantPipelineRole(master, { username: MASTER, password: PASSWORD })).rejects.toThrow(
      PipelineRoleError,
    );
    await expect(grantPipelineRole(master, { username: MASTER, password: PASSWORD })).rejects.toThrow(
      `the pipeline secret names ${MASTER}, the user that migrates`,
    );
    await expect(
      grantPipelineRole(master, { username: 'pipeline"; DROP TABLE hindsight_fence; --', password: 'x' }),
    ).rejects.toThrow('Invalid username in the pipeline secret');
    expect((await master.query('SELECT token FROM hindsight_fence')).rowCount).toBe(1);
  });
});

describe('The pipeline role through the Data API (emulated on PGlite)', () => {
  const rds = mockClient(RDSDataClient);
  let database: DataApiEmulator;
  let sql: DataApiSqlClient;
  beforeAll(async () => {
    database = await DataApiEmulator.create();
    database.route(rds);
    sql = database.sqlClient();
    await migrate(sql, loadMigrations(METERS.migrationsDirectory));
  });
  afterAll(async () => {
    await database?.close();
    rds.restore();
  });

  it('sends every grant statement as the Data API takes it, a password with quote and backslash included', async () => {
    // Act
    const report = await grantPipelineRole(sql, { username: 'hindsight_pipeline', password: "it's\\ok" });
    // PGlite has one session: the role is put on for a moment rather than logged in as.
    await sql.query('SET ROLE hindsight_pipeline');
    const wrote = await sql.query("INSERT INTO hindsight_due_dates (day) VALUES ('2026-11-20')");
    const refused = await refusal(sql, 'CREATE TABLE scratch (id INTEGER)');
    await sql.query('RESET ROLE');

    // Assess
    expect(report).toMatchObject({
      role: 'hindsight_pipeline',
      created: true,
      schemas: ['public'],
      canCreateIn: [],
    });
    expect(wrote.rowCount).toBe(1);
    expect(refused.message).toMatch(/permission denied/);
  });
});
