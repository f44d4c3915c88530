/**
 * `hindsight --aws verify` against a deployed stack, AWS replaced by aws-sdk-client-mock: CloudFormation
 * answers the outputs, and the RDS Data API runs every statement for real on an embedded PostgreSQL
 * (test/support/data-api-emulator.ts). Each cell is one BeginTransaction … RollbackTransaction: no
 * commit is ever sent, and no other AWS service is called (no lease, no execution).
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BeginTransactionCommand,
  CommitTransactionCommand,
  RDSDataClient,
  RollbackTransactionCommand,
} from '@aws-sdk/client-rds-data';
import { SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { EXIT } from '../../cli/program';
import { DataApiSqlClient } from '../../lambdas/adapters/data-api-sql';
import { dateRange } from '../../lambdas/engine/dates';
import type { VerifyReport } from '../../lambdas/engine/verify';
import { loadMigrations, migrate } from '../../lambdas/ledger/migrator';
import { runStage } from '../../lambdas/workflow/stage-runner';
import { OUTPUTS } from '../../lib/stack-outputs';
import { pipeline } from '../fixtures/pipelines/meters';
import { runCliInProcess } from '../support/cli-in-process';
import { DataApiEmulator } from '../support/data-api-emulator';
import { METERS } from '../support/fixture-pipelines';
import { fixtureProject } from '../support/fixture-project';
import { databaseChecksum } from '../support/state-checksum';

const cloudFormation = mockClient(CloudFormationClient);
const dynamo = mockClient(DynamoDBClient);
const rds = mockClient(RDSDataClient);
const sfn = mockClient(SFNClient);

const REGION = 'eu-west-1';
const ACCOUNT = '123456789012';
const NOW = new Date('2026-11-24T09:00:00Z');
const DATES = dateRange('2026-11-10', '2026-11-23');
const FIRST = DATES[0];
const LAST = DATES[DATES.length - 1];
/** What the stack was deployed with (hindsight:params): the stages are recomputed with the same. */
const PARAMS = { rowsPerDay: '40' };
const UNBUMPED = ['--stages', join(__dirname, '..', 'fixtures', 'pipelines', 'meters-summarize-unbumped.ts')];
const AWS = ['--aws', '--region', REGION];

const stack = {
  cluster: `arn:aws:rds:${REGION}:${ACCOUNT}:cluster:hindsight-db`,
  secret: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:hindsight-db-AbCdEf`,
  database: 'hindsight',
};
const outputs = [
  {
    OutputKey: OUTPUTS.dailyStateMachineArn,
    OutputValue: `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:D`,
  },
  {
    OutputKey: OUTPUTS.backfillStateMachineArn,
    OutputValue: `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:B`,
  },
  { OutputKey: OUTPUTS.leaseTableName, OutputValue: 'Hindsight-LeaseTable-1ABC' },
  { OutputKey: OUTPUTS.clusterArn, OutputValue: stack.cluster },
  { OutputKey: OUTPUTS.secretArn, OutputValue: stack.secret },
  { OutputKey: OUTPUTS.databaseName, OutputValue: stack.database },
];

let database: DataApiEmulator;
let project: string;
/** The ledger's database through the Data API adapter, for the test's own reads and edits. */
let sql: DataApiSqlClient;

const cli = (args: readonly string[]) =>
  runCliInProcess([...AWS, ...args], { now: NOW, pollMs: 0, cwd: project });

beforeAll(async () => {
  project = fixtureProject(METERS, { 'hindsight:params': PARAMS });
  database = await DataApiEmulator.create();
  database.route(rds);
  sql = new DataApiSqlClient({
    resourceArn: stack.cluster,
    secretArn: stack.secret,
    database: stack.database,
    client: new RDSDataClient({ region: REGION }),
  });
  await migrate(sql, loadMigrations(METERS.migrationsDirectory));
  for (const date of DATES) {
    for (const stage of pipeline.names) await runStage(sql, pipeline, { stage, date, fenceToken: 1 }, PARAMS);
  }
});

afterAll(async () => {
  await database?.close();
  if (project) rmSync(project, { recursive: true, force: true });
});

beforeEach(() => {
  for (const client of [cloudFormation, dynamo, rds, sfn]) client.reset();
  cloudFormation.on(DescribeStacksCommand, { StackName: 'Hindsight' }).resolves({
    Stacks: [{ StackName: 'Hindsight', StackStatus: 'UPDATE_COMPLETE', CreationTime: NOW, Outputs: outputs }],
  });
  database.route(rds);
});

describe('hindsight --aws verify', () => {
  it('finds clean data the same through the Data API, rolls back every transaction, and changes nothing', async () => {
    // Prepare
    const before = await databaseChecksum(sql);
    rds.resetHistory();

    // Act
    const result = await cli(['verify', '--json']);

    // Assess
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: EXIT.ok, stderr: '' });
    const report = JSON.parse(result.stdout) as VerifyReport;
    expect(report).toMatchObject({ from: FIRST, to: LAST });
    expect(report.totals).toEqual({
      dates: 14,
      cells: 70,
      same: 70,
      differs: 0,
      failed: 0,
      stale: 0,
      missing: 0,
      skipped: 0,
    });
    expect(rds.commandCalls(BeginTransactionCommand)).toHaveLength(70);
    expect(rds.commandCalls(RollbackTransactionCommand)).toHaveLength(70);
    expect(rds.commandCalls(CommitTransactionCommand)).toHaveLength(0);
    expect([dynamo.calls(), sfn.calls()]).toEqual([[], []]);
    expect(await databaseChecksum(sql)).toBe(before);
  });

  it('exits 1 on a changed, a deleted and an extra row, naming each table, date and row', async () => {
    // Prepare
    const [changedDate, extraDate] = [DATES[1], DATES[5]];
    const original = (
      await sql.query(`SELECT * FROM meter_trend WHERE day = $1::date ORDER BY meter_id LIMIT 1`, [
        changedDate,
      ])
    ).rows[0];
    await sql.query(`UPDATE meter_trend SET days_in_window = 1 WHERE day = $1::date AND meter_id = $2`, [
      changedDate,
      original.meter_id as string,
    ]);
    const deleted = (
      await sql.query(
        `DELETE FROM rejected_readings WHERE (day, meter_id, reading_no) IN
           (SELECT day, meter_id, reading_no FROM rejected_readings ORDER BY day, meter_id, reading_no LIMIT 1)
         RETURNING *`,
      )
    ).rows[0];
    await sql.query(
      `INSERT INTO meter_readings (day, meter_id, reading_no, kwh, status) VALUES ($1::date, 'M99', 999, 1.5, 'ok')`,
      [extraDate],
    );

    try {
      // Act
      const result = await cli(['verify']);

      // Assess: trend's changed row, validate's missing rejection, collect's extra reading
      expect(result.code).toBe(EXIT.failed);
      expect(result.stdout).toContain(
        `    trend on ${changedDate}, table meter_trend: 1 row only stored, 1 row only recomputed (20 stored, 20 recomputed)\n` +
          `      only stored      ${JSON.stringify({ ...original, days_in_window: 1 })}\n` +
          `      only recomputed  ${JSON.stringify(original)}`,
      );
      expect(result.stdout).toContain(
        `    validate on ${String(deleted.day)}, table rejected_readings: 0 rows only stored, 1 row only recomputed`,
      );
      expect(result.stdout).toContain(`      only recomputed  ${JSON.stringify(deleted)}`);
      expect(result.stdout).toContain(
        `    collect on ${extraDate}, table meter_readings: 1 row only stored, 0 rows only recomputed (41 stored, 40 recomputed)\n` +
          `      only stored      {"day":"${extraDate}","meter_id":"M99","reading_no":999,"kwh":"1.500","status":"ok"}`,
      );
      // The extra reading also reaches what validate recomputes from it: that cell differs too.
      expect(result.stdout).toContain(
        `    validate on ${extraDate}, table valid_readings: 0 rows only stored, 1 row only recomputed`,
      );
      expect(result.stderr).toMatch(/^Verify found 4 cells differing/);
      expect(rds.commandCalls(CommitTransactionCommand)).toHaveLength(0);
    } finally {
      await sql.query(`DELETE FROM meter_readings WHERE meter_id = 'M99'`);
      await sql.query(`UPDATE meter_trend SET days_in_window = $3 WHERE day = $1::date AND meter_id = $2`, [
        changedDate,
        original.meter_id as string,
        original.days_in_window as number,
      ]);
      await sql.query(
        'INSERT INTO rejected_readings (day, meter_id, reading_no, reason) VALUES ($1::date, $2, $3, $4)',
        [
          String(deleted.day),
          deleted.meter_id as string,
          deleted.reading_no as number,
          deleted.reason as string,
        ],
      );
    }
  });

  it('finds a stage changed without a version bump on exactly the dates it computes differently', async () => {
    // Prepare
    const { rows } = await sql.query<{ day: string }>(
      'SELECT DISTINCT day FROM valid_readings WHERE kwh < 0.1 ORDER BY day',
    );
    const changed = rows.map((row) => row.day);

    // Act
    const result = await cli([...UNBUMPED, 'verify', '--json']);

    // Assess
    expect(result.code).toBe(EXIT.failed);
    const report = JSON.parse(result.stdout) as VerifyReport;
    const differing = report.dates.flatMap(({ date, cells }) =>
      cells.filter((cell) => cell.outcome !== 'same').map((cell) => `${date} ${cell.stage} ${cell.outcome}`),
    );
    expect(changed.length).toBeGreaterThan(0);
    expect(differing).toEqual(changed.map((date) => `${date} summarize differs`));
  });

  it('refuses the local options with --aws, before calling AWS', async () => {
    const result = await cli(['--param', 'rowsPerDay=20', 'verify']);
    expect(result).toMatchObject({ code: EXIT.usage });
    expect(result.stderr).toContain('Invalid --param');
    expect(cloudFormation.calls()).toHaveLength(0);
  });
});
