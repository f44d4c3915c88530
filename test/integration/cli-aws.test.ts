/**
 * `hindsight --aws …` against a deployed stack, with AWS replaced by aws-sdk-client-mock:
 * CloudFormation answers the stack's outputs, DynamoDB the lease item, Step Functions the
 * executions and Map Runs, and the RDS Data API runs the statements for real on an embedded
 * PostgreSQL (test/support/data-api-emulator.ts). Each test records the exact requests sent.
 */

import { rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  CloudFormationClient,
  CloudFormationServiceException,
  DescribeStacksCommand,
} from '@aws-sdk/client-cloudformation';
import { DynamoDBClient, DynamoDBServiceException, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { ExecuteStatementCommand, RDSDataClient, RDSDataServiceException } from '@aws-sdk/client-rds-data';
import {
  DescribeExecutionCommand,
  DescribeMapRunCommand,
  ExecutionAlreadyExists,
  ListMapRunsCommand,
  SFNClient,
  SFNServiceException,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { EXIT } from '../../cli/program';
import type { StatusReport } from '../../cli/status-view';
import { DataApiSqlClient } from '../../lambdas/adapters/data-api-sql';
import { dateRange } from '../../lambdas/engine/dates';
import { EarlierDatesStaleError } from '../../lambdas/engine/errors';
import { formatPlan, planBackfill } from '../../lambdas/engine/plan';
import { readLedger, toEntry } from '../../lambdas/ledger/ledger-store';
import { loadMigrations, migrate } from '../../lambdas/ledger/migrator';
import { runStage } from '../../lambdas/workflow/stage-runner';
import { OUTPUTS } from '../../lib/stack-outputs';
import { pipeline } from '../fixtures/pipelines/meters';
import { pipeline as validateV2 } from '../fixtures/pipelines/meters-validate-v2';
import { runCliInProcess } from '../support/cli-in-process';
import { DataApiEmulator } from '../support/data-api-emulator';
import { METERS } from '../support/fixture-pipelines';
import { fixtureProject } from '../support/fixture-project';

const cloudFormation = mockClient(CloudFormationClient);
const dynamo = mockClient(DynamoDBClient);
const rds = mockClient(RDSDataClient);
const sfn = mockClient(SFNClient);

const REGION = 'eu-west-1';
const ACCOUNT = '123456789012';
const NOW = new Date('2026-11-24T09:00:00Z');
const FIRST = '2026-11-10';
const LAST = '2026-11-23';
/** The rehearsed change: validate v2, which also drops readings under 0.1 kWh. */
const V2 = ['--stages', join(__dirname, '..', 'fixtures', 'pipelines', 'meters-validate-v2.ts')];
const AWS = ['--aws', '--region', REGION];

const stack = {
  daily: `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:HindsightDaily`,
  backfill: `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:HindsightBackfill`,
  table: 'Hindsight-LeaseTable-1ABC',
  cluster: `arn:aws:rds:${REGION}:${ACCOUNT}:cluster:hindsight-db`,
  secret: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:hindsight-db-AbCdEf`,
  database: 'hindsight',
};
const outputs = [
  { OutputKey: OUTPUTS.dailyStateMachineArn, OutputValue: stack.daily },
  { OutputKey: OUTPUTS.backfillStateMachineArn, OutputValue: stack.backfill },
  { OutputKey: OUTPUTS.leaseTableName, OutputValue: stack.table },
  { OutputKey: OUTPUTS.clusterArn, OutputValue: stack.cluster },
  { OutputKey: OUTPUTS.secretArn, OutputValue: stack.secret },
  { OutputKey: OUTPUTS.databaseName, OutputValue: stack.database },
];
const execution = (machine: string, name: string) =>
  `${machine.replace(':stateMachine:', ':execution:')}:${name}`;

let database: DataApiEmulator;
/** The project the CLI runs in: its cdk.json names the meters fixture. */
let project: string;

/** The deployed stack's answers when nothing goes wrong. */
function deployedStack(): void {
  cloudFormation.on(DescribeStacksCommand, { StackName: 'Hindsight' }).resolves({
    Stacks: [{ StackName: 'Hindsight', StackStatus: 'UPDATE_COMPLETE', CreationTime: NOW, Outputs: outputs }],
  });
  dynamo.on(GetItemCommand).resolves({ Item: { pk: { S: 'lease' }, token: { N: '7' } } });
  database.route(rds);
}

/** An error as the SDK raises one AWS answered with: a service exception named by AWS's error code. */
function awsError(
  Exception: new (options: { name: string; $fault: 'client'; message: string; $metadata: object }) => Error,
  name: string,
  message: string,
): Error {
  return new Exception({ name, $fault: 'client', message, $metadata: {} });
}

/** Runs the CLI in this process (so the mocks apply), piped, on the test's clock, polling at once. */
const cli = (args: readonly string[]) => runCliInProcess(args, { now: NOW, pollMs: 0, cwd: project });

/** Every AWS request made so far, by client, as `Command input` pairs. */
function requests(): string[] {
  return [cloudFormation, dynamo, sfn].flatMap((client) =>
    client.calls().map((call) => {
      const command = call.args[0] as { constructor: { name: string }; input: unknown };
      return `${command.constructor.name} ${JSON.stringify(command.input)}`;
    }),
  );
}

beforeAll(async () => {
  // A ledger as a deployed stack would have it: migrations and two weeks of the v1 pipeline,
  // written through the Data API adapter.
  project = fixtureProject();
  database = await DataApiEmulator.create();
  database.route(rds);
  const sql = new DataApiSqlClient({
    resourceArn: stack.cluster,
    secretArn: stack.secret,
    database: stack.database,
    client: new RDSDataClient({ region: REGION }),
  });
  await migrate(sql, loadMigrations(METERS.migrationsDirectory));
  let token = 0;
  for (const date of dateRange(FIRST, LAST)) {
    token++;
    for (const stage of pipeline.names) {
      await runStage(
        sql,
        pipeline,
        { stage, date, fenceToken: token, executionId: execution(stack.daily, `daily-${date}`) },
        { rowsPerDay: '40' },
      );
    }
  }
});

afterAll(async () => {
  await database?.close();
  if (project) rmSync(project, { recursive: true, force: true });
});

beforeEach(() => {
  for (const client of [cloudFormation, dynamo, rds, sfn]) client.reset();
  deployedStack();
});

describe('hindsight --aws plan', () => {
  it('plans from the deployed ledger, read through the Data API, exactly as the planner does', async () => {
    // Act
    const result = await cli([...AWS, ...V2, 'plan']);

    // Assess
    expect(result).toMatchObject({ code: EXIT.ok, stderr: '' });
    const sql = new DataApiSqlClient({
      resourceArn: stack.cluster,
      secretArn: stack.secret,
      database: stack.database,
      client: new RDSDataClient({ region: REGION }),
    });
    const ledger = (await readLedger(sql)).map(toEntry);
    const plan = planBackfill({
      mode: 'auto',
      pipeline: validateV2,
      ledger,
      today: '2026-11-24',
      maxDays: 3660,
      transitions: [],
      appliedTransitions: new Map(),
    });
    expect(result.stdout).toBe(formatPlan(plan, validateV2));
    expect(result.stdout).toContain(`${FIRST} .. ${LAST}  (14 dates)  from validate`);
    expect(requests()).toEqual([`DescribeStacksCommand {"StackName":"Hindsight"}`]);
  });

  it('reads the stack named by --stack', async () => {
    // Prepare
    cloudFormation.reset();
    cloudFormation.on(DescribeStacksCommand, { StackName: 'Meters-Prod' }).resolves({
      Stacks: [
        { StackName: 'Meters-Prod', StackStatus: 'CREATE_COMPLETE', CreationTime: NOW, Outputs: outputs },
      ],
    });

    // Act
    const result = await cli([...AWS, '--stack', 'Meters-Prod', 'plan', '--json']);

    // Assess
    expect(result.code).toBe(EXIT.ok);
    expect(JSON.parse(result.stdout)).toMatchObject({ dates: [] });
  });
});

describe('hindsight --aws status', () => {
  it('shows the deployed ledger and the lease item', async () => {
    // Prepare
    dynamo.on(GetItemCommand).resolves({
      Item: {
        pk: { S: 'lease' },
        token: { N: '15' },
        holder: { S: execution(stack.backfill, 'deploy-1a2b') },
        kind: { S: 'backfill' },
        expiresAt: { N: String(NOW.getTime() + 600_000) },
        acquiredAt: { N: String(NOW.getTime() - 300_000) },
      },
    });

    // Act
    const result = await cli([...AWS, ...V2, 'status', '--json']);

    // Assess
    expect(result).toMatchObject({ code: EXIT.ok, stderr: '' });
    const report: StatusReport = JSON.parse(result.stdout);
    expect(report).toMatchObject({
      from: FIRST,
      to: LAST,
      counts: { fresh: 14, stale: 56, missing: 0 },
      lease: { holder: execution(stack.backfill, 'deploy-1a2b'), kind: 'backfill', token: 15 },
    });
    expect(report.lastRuns).toHaveLength(5);
    expect(requests()).toEqual([
      `DescribeStacksCommand {"StackName":"Hindsight"}`,
      `GetItemCommand {"TableName":"${stack.table}","Key":{"pk":{"S":"lease"}},"ConsistentRead":true}`,
    ]);
  });
});

describe('hindsight --aws backfill', () => {
  const name = 'after-fix-1';
  const arn = execution(stack.backfill, name);
  const mapRun = `arn:aws:states:${REGION}:${ACCOUNT}:mapRun:HindsightBackfill/${name}:f00d`;

  it('starts the backfill with the console input and follows the Map Run to the end', async () => {
    // Prepare
    sfn.on(StartExecutionCommand).resolves({ executionArn: arn, startDate: NOW });
    sfn
      .on(DescribeExecutionCommand)
      .resolvesOnce({ executionArn: arn, stateMachineArn: stack.backfill, status: 'RUNNING', startDate: NOW })
      .resolvesOnce({ executionArn: arn, stateMachineArn: stack.backfill, status: 'RUNNING', startDate: NOW })
      .resolvesOnce({ executionArn: arn, stateMachineArn: stack.backfill, status: 'RUNNING', startDate: NOW })
      .resolves({
        executionArn: arn,
        stateMachineArn: stack.backfill,
        status: 'SUCCEEDED',
        startDate: NOW,
        output: JSON.stringify({ totals: { dates: 14, stageRuns: 56, fullRerunStageRuns: 70 } }),
      });
    // The Map state has not started at the first look (planning, waiting for the lease).
    sfn
      .on(ListMapRunsCommand)
      .resolvesOnce({ mapRuns: [] })
      .resolves({
        mapRuns: [{ executionArn: arn, mapRunArn: mapRun, stateMachineArn: stack.backfill, startDate: NOW }],
      });
    const counts = (succeeded: number, running: number) => ({
      mapRunArn: mapRun,
      executionArn: arn,
      status: 'RUNNING' as const,
      startDate: NOW,
      maxConcurrency: 1,
      toleratedFailurePercentage: 0,
      toleratedFailureCount: 0,
      itemCounts: {
        pending: 14 - succeeded - running,
        running,
        succeeded,
        failed: 0,
        timedOut: 0,
        aborted: 0,
        total: 14,
        resultsWritten: 0,
      },
      executionCounts: {
        pending: 0,
        running,
        succeeded,
        failed: 0,
        timedOut: 0,
        aborted: 0,
        total: 14,
        resultsWritten: 0,
      },
    });
    sfn
      .on(DescribeMapRunCommand)
      .resolvesOnce(counts(3, 1))
      .resolvesOnce(counts(9, 1))
      .resolves(counts(14, 0));

    // Act
    const result = await cli([...AWS, ...V2, 'backfill', '--auto', '--yes', '--name', name]);

    // Assess
    expect(result).toMatchObject({ code: EXIT.ok, stderr: '' });
    expect(result.stdout).toContain('14 dates to rerun');
    expect(result.stdout).toContain(`Started backfill execution ${arn} on stack Hindsight in ${REGION}.`);
    expect(result.stdout).toContain(
      '[3/14] dates done (running)\n[9/14] dates done (running)\n[14/14] dates done',
    );
    // The mocked execution wrote nothing: read again through the Data API, the ledger is as stale as
    // before, and the CLI says so, naming the command that reruns it.
    expect(result.stdout.split('\n').slice(-3)).toEqual([
      'Backfill done: 14 dates, 56 stage-runs.',
      `Still stale: 14 dates (${FIRST} .. ${LAST}), because code changed: validate v1 → v2.`,
      `Rerun them with: hindsight --aws --region ${REGION} --stages ${V2[1]} backfill --auto`,
    ]);
    expect(requests()).toEqual([
      `DescribeStacksCommand {"StackName":"Hindsight"}`,
      `StartExecutionCommand {"stateMachineArn":"${stack.backfill}","input":"{\\"mode\\":\\"auto\\"}","name":"${name}"}`,
      `DescribeExecutionCommand {"executionArn":"${arn}"}`,
      `ListMapRunsCommand {"executionArn":"${arn}"}`,
      `DescribeExecutionCommand {"executionArn":"${arn}"}`,
      `ListMapRunsCommand {"executionArn":"${arn}"}`,
      `DescribeMapRunCommand {"mapRunArn":"${mapRun}"}`,
      `DescribeExecutionCommand {"executionArn":"${arn}"}`,
      `DescribeMapRunCommand {"mapRunArn":"${mapRun}"}`,
      `DescribeExecutionCommand {"executionArn":"${arn}"}`,
      `DescribeMapRunCommand {"mapRunArn":"${mapRun}"}`,
    ]);
  });

  it('sends an explicit range as the console input, and returns at once with --no-wait', async () => {
    // Prepare
    sfn.on(StartExecutionCommand).resolves({ executionArn: arn, startDate: NOW });

    // Act
    const result = await cli([
      ...AWS,
      'backfill',
      '--from',
      '2026-11-20',
      '--to',
      LAST,
      '--start-stage',
      'trend',
      '--yes',
      '--no-wait',
    ]);

    // Assess
    expect(result).toMatchObject({ code: EXIT.ok, stderr: '' });
    expect(result.stdout).toContain('Not waiting for it (--no-wait)');
    const input = { mode: 'explicit', from: '2026-11-20', to: LAST, startStage: 'trend' };
    expect(requests()).toEqual([
      `DescribeStacksCommand {"StackName":"Hindsight"}`,
      `StartExecutionCommand ${JSON.stringify({ stateMachineArn: stack.backfill, input: JSON.stringify(input) })}`,
    ]);
  });

  it('fails with the execution error and cause, exit 1', async () => {
    // Prepare
    sfn.on(StartExecutionCommand).resolves({ executionArn: arn, startDate: NOW });
    sfn.on(DescribeExecutionCommand).resolves({
      executionArn: arn,
      stateMachineArn: stack.backfill,
      status: 'FAILED',
      startDate: NOW,
      error: 'StageFailedError',
      cause: 'Stage validate failed for 2026-11-15: division by zero',
    });
    sfn.on(ListMapRunsCommand).resolves({ mapRuns: [] });

    // Act
    const result = await cli([...AWS, ...V2, 'backfill', '--auto', '--yes']);

    // Assess
    expect(result.code).toBe(EXIT.failed);
    expect(result.stderr).toBe(
      'Backfill failed: StageFailedError: Stage validate failed for 2026-11-15: division by zero',
    );
  });

  it('starts nothing when the deployed ledger is already fresh', async () => {
    // Act
    const result = await cli([...AWS, 'backfill', '--auto', '--yes']);

    // Assess
    expect(result).toMatchObject({ code: EXIT.ok, stderr: '' });
    expect(result.stdout).toContain('Nothing to do');
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it('refuses an execution name already used, exit 2, naming --name', async () => {
    // Prepare
    sfn
      .on(StartExecutionCommand)
      .rejects(new ExecutionAlreadyExists({ message: `Execution Already Exists: '${arn}'`, $metadata: {} }));

    // Act
    const result = await cli([...AWS, ...V2, 'backfill', '--auto', '--yes', '--name', name]);

    // Assess
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toBe(
      `Invalid --name: got "${name}"; expected a name no execution of this state machine has used in the last 90 days (or no --name: one is generated).\nNothing was changed.`,
    );
  });

  it('fails clearly when Step Functions throttles the start', async () => {
    // Prepare
    sfn
      .on(StartExecutionCommand)
      .rejects(awsError(SFNServiceException, 'ThrottlingException', 'Rate exceeded'));

    // Act
    const result = await cli([...AWS, ...V2, 'backfill', '--auto', '--yes']);

    // Assess
    expect(result.code).toBe(EXIT.failed);
    expect(result.stderr).toBe(
      `AWS throttled states:StartExecution on ${stack.backfill}, even after the SDK's retries ` +
        '(AWS said: ThrottlingException: Rate exceeded). The workflows were not changed by this; wait a minute and run the command again.',
    );
  });
});

describe('hindsight --aws run', () => {
  it('starts the daily workflow for the date and prints what each stage wrote', async () => {
    // Prepare
    const arn = execution(stack.daily, 'run-1');
    sfn.on(StartExecutionCommand).resolves({ executionArn: arn, startDate: NOW });
    const stages = Object.fromEntries(pipeline.names.map((stage, i) => [stage, { rowsWritten: 10 + i }]));
    sfn
      .on(DescribeExecutionCommand)
      .resolvesOnce({ executionArn: arn, stateMachineArn: stack.daily, status: 'RUNNING', startDate: NOW })
      .resolves({
        executionArn: arn,
        stateMachineArn: stack.daily,
        status: 'SUCCEEDED',
        startDate: NOW,
        output: JSON.stringify({ stages }),
      });

    // Act
    const result = await cli([...AWS, 'run', '--date', LAST]);

    // Assess
    expect(result).toMatchObject({ code: EXIT.ok, stderr: '' });
    expect(result.stdout).toMatch(
      new RegExp(`^${LAST}  collect 10 · validate 11 · summarize 12 · trend 13 · report 14`),
    );
    expect(requests()).toEqual([
      `DescribeStacksCommand {"StackName":"Hindsight"}`,
      `StartExecutionCommand {"stateMachineArn":"${stack.daily}","input":"{\\"date\\":\\"${LAST}\\"}"}`,
      `DescribeExecutionCommand {"executionArn":"${arn}"}`,
      `DescribeExecutionCommand {"executionArn":"${arn}"}`,
    ]);
  });

  it('fails with the daily run error when the date did not run', async () => {
    // Prepare
    const arn = execution(stack.daily, 'run-2');
    sfn.on(StartExecutionCommand).resolves({ executionArn: arn, startDate: NOW });
    sfn.on(DescribeExecutionCommand).resolves({
      executionArn: arn,
      stateMachineArn: stack.daily,
      status: 'FAILED',
      startDate: NOW,
      error: 'GaveUpWaitingForLeaseError',
      cause: 'The lease stayed held for 2 hours, so this date did not run.',
    });

    // Act
    const result = await cli([...AWS, 'run', '--date', LAST]);

    // Assess
    expect(result.code).toBe(EXIT.failed);
    expect(result.stderr).toBe(
      `Daily run for ${LAST} failed: GaveUpWaitingForLeaseError: The lease stayed held for 2 hours, so this date did not run.`,
    );
  });

  it('shows a refusal for stale earlier dates with the CLI command in place of the console input', async () => {
    // Prepare: the Lambda error as Step Functions reports it, its message written for the console.
    const arn = execution(stack.daily, 'run-3');
    const refusal = new EarlierDatesStaleError(
      LAST,
      ['2026-11-22'],
      ['2026-11-22 (1 date): rerun from collect'],
    );
    sfn.on(StartExecutionCommand).resolves({ executionArn: arn, startDate: NOW });
    sfn.on(DescribeExecutionCommand).resolves({
      executionArn: arn,
      stateMachineArn: stack.daily,
      status: 'FAILED',
      startDate: NOW,
      error: 'EarlierDatesStaleError',
      cause: JSON.stringify({
        errorType: 'EarlierDatesStaleError',
        errorMessage: refusal.message,
        trace: [],
      }),
    });

    // Act
    const result = await cli([...AWS, 'run', '--date', LAST]);

    // Assess
    expect(refusal.message).toContain('Start the backfill {"mode": "auto"}');
    expect(result.code).toBe(EXIT.failed);
    expect(result.stderr).toBe(
      `Daily run for ${LAST} failed: EarlierDatesStaleError: ${refusal.message.replace(
        'Start the backfill {"mode": "auto"}',
        `Run \`hindsight --aws --region ${REGION} backfill --auto\``,
      )}`,
    );
  });
});

describe('hindsight --aws: AWS errors become clear messages', () => {
  it('names the Data API call and the actions the mode needs when access is denied', async () => {
    // Prepare
    rds
      .on(ExecuteStatementCommand)
      .rejects(
        awsError(
          RDSDataServiceException,
          'AccessDeniedException',
          'User is not authorized to perform: rds-data:ExecuteStatement',
        ),
      );

    // Act
    const result = await cli([...AWS, 'plan']);

    // Assess
    expect(result.code).toBe(EXIT.failed);
    expect(result.stderr).toBe(
      `Access denied: your AWS identity may not call rds-data:ExecuteStatement on ${stack.cluster} ` +
        '(AWS said: AccessDeniedException: User is not authorized to perform: rds-data:ExecuteStatement). ' +
        'Use credentials allowed to call it; the --aws mode calls cloudformation:DescribeStacks, rds-data:ExecuteStatement, ' +
        'secretsmanager:GetSecretValue, dynamodb:GetItem, states:DescribeExecution, states:StartExecution, states:ListMapRuns, states:DescribeMapRun.',
    );
  });

  it('says the lease table throttled, naming the table', async () => {
    // Prepare
    dynamo
      .on(GetItemCommand)
      .rejects(
        awsError(
          DynamoDBServiceException,
          'ThrottlingException',
          'Rate of requests exceeds the allowed throughput.',
        ),
      );

    // Act
    const result = await cli([...AWS, 'status']);

    // Assess
    expect(result.code).toBe(EXIT.failed);
    expect(result.stderr).toContain(`AWS throttled dynamodb:GetItem on table ${stack.table}`);
  });

  it('says there is no such stack, and how to name the deployed one', async () => {
    // Prepare
    cloudFormation.reset();
    cloudFormation
      .on(DescribeStacksCommand)
      .rejects(
        awsError(CloudFormationServiceException, 'ValidationError', 'Stack with id Hindsight does not exist'),
      );

    // Act
    const result = await cli([...AWS, 'status']);

    // Assess
    expect(result.code).toBe(EXIT.failed);
    expect(result.stderr).toBe(
      `There is no stack named Hindsight in ${REGION}. Deploy it with \`npx cdk deploy\`, or name the deployed one ` +
        'with --stack (or hindsight:stackName in cdk.json) and its region with --region.',
    );
  });

  it('refuses a stack without Hindsight outputs, naming the missing ones', async () => {
    // Prepare
    cloudFormation.reset();
    cloudFormation.on(DescribeStacksCommand).resolves({
      Stacks: [
        {
          StackName: 'Hindsight',
          StackStatus: 'CREATE_COMPLETE',
          CreationTime: NOW,
          Outputs: outputs.slice(2),
        },
      ],
    });

    // Act
    const result = await cli([...AWS, 'plan']);

    // Assess
    expect(result.code).toBe(EXIT.failed);
    expect(result.stderr).toContain('has no output DailyStateMachineArn, BackfillStateMachineArn');
  });

  it('says when the credentials are missing or expired', async () => {
    // Prepare
    cloudFormation.reset();
    cloudFormation
      .on(DescribeStacksCommand)
      .rejects(
        awsError(
          CloudFormationServiceException,
          'ExpiredToken',
          'The security token included in the request is expired',
        ),
      );

    // Act
    const result = await cli([...AWS, 'plan']);

    // Assess
    expect(result.code).toBe(EXIT.failed);
    expect(result.stderr).toContain(
      'No valid AWS credentials for cloudformation:DescribeStacks on stack Hindsight in eu-west-1',
    );
  });
});

describe('hindsight --aws: bad usage is refused before any AWS call', () => {
  it.each([
    [
      ['--aws', '--database-url', 'postgres://127.0.0.1/x', 'plan'],
      'Invalid --database-url: got "postgres://127.0.0.1/x"; expected no --database-url with --aws',
    ],
    [
      ['--aws', '--param', 'rowsPerDay=10', 'status'],
      'Invalid --param: got "rowsPerDay=10"; expected no --param with --aws',
    ],
    [
      [...AWS, '--stack', 'my stack', 'plan'],
      'Invalid --stack: got "my stack"; expected a CloudFormation stack name',
    ],
    [
      ['--aws', '--region', 'Ireland', 'plan'],
      'Invalid --region: got "Ireland"; expected an AWS region such as eu-west-1',
    ],
    [['--stack', 'Hindsight', 'plan'], 'Invalid --stack: got "Hindsight"; expected --stack only with --aws'],
    [
      [...AWS, 'backfill', '--auto', '--name', 'a b'],
      'Invalid --name: got "a b"; expected an execution name of 1 to 80',
    ],
    [['backfill', '--auto', '--no-wait'], 'Invalid --no-wait: got true; expected --no-wait only with --aws'],
    [[...AWS, 'migrate'], 'Invalid --aws: got true; expected no --aws with migrate'],
    [[...AWS, 'lock', '--check'], 'Invalid --aws: got true; expected no --aws with lock'],
    [[...AWS, 'start'], 'Invalid --aws: got true; expected no --aws with start'],
    [
      ['--region', 'eu-west-1', 'lock', '--check'],
      'Invalid --region: got "eu-west-1"; expected --region only with --aws',
    ],
    [
      [...AWS, 'run', '--date', '2026-11-24'],
      'Invalid --date: got "2026-11-24"; expected a date up to yesterday',
    ],
    [
      [...AWS, 'backfill', '--from', '2026-11-20', '--to', '2026-11-10', '--start-stage', 'trend'],
      'Invalid --to: got "2026-11-10"',
    ],
  ])('refuses %j', async (args, message) => {
    // Act
    const result = await cli(args);

    // Assess
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toContain(message);
    expect(result.stderr).toContain('Nothing was changed.');
    expect(requests()).toEqual([]);
    expect(rds.calls()).toHaveLength(0);
  });
});
