/**
 * The README's `--aws` commands, run as written against a deployed stack that AWS is replaced for:
 * aws-sdk-client-mock answers CloudFormation (the stack's outputs), DynamoDB (a free lease) and Step
 * Functions (executions that succeed), and the RDS Data API runs every statement for real on an
 * embedded PostgreSQL (test/support/data-api-emulator.ts) holding two weeks of the example's v1.
 * The CLI runs in this process so that the mocks reach it; the checkout's `transform` is at v2, so
 * `plan` and `backfill` have the deploy's work to show. No transcript of these is shown: AWS's side
 * is the mocks', not the product's.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { RDSDataClient } from '@aws-sdk/client-rds-data';
import {
  DescribeExecutionCommand,
  DescribeMapRunCommand,
  ListMapRunsCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import { DataApiSqlClient } from '../../lambdas/adapters/data-api-sql';
import { dateRange } from '../../lambdas/engine/dates';
import { loadMigrations, migrate } from '../../lambdas/ledger/migrator';
import { runStage } from '../../lambdas/workflow/stage-runner';
import { OUTPUTS } from '../../lib/stack-outputs';
import { pipeline as deployedPipeline } from '../../pipeline';
import { runCliInProcess } from '../support/cli-in-process';
import { DataApiEmulator } from '../support/data-api-emulator';
import { hindsightArguments } from './readme-commands';
import { REPOSITORY } from './readme-projects';
import { type Transcripts, Walk } from './walk';

const REGION = 'eu-west-1';
const ACCOUNT = '123456789012';
const STACK = 'Hindsight';
const TODAY = '2026-11-24';
const DEPLOYED_DATES = dateRange('2026-11-10', '2026-11-23');

const arn = (service: string, resource: string) => `arn:aws:${service}:${REGION}:${ACCOUNT}:${resource}`;
const stack = {
  daily: arn('states', 'stateMachine:HindsightDaily'),
  backfill: arn('states', 'stateMachine:HindsightBackfill'),
  table: 'Hindsight-LeaseTable-1ABC',
  cluster: arn('rds', 'cluster:hindsight-db'),
  secret: arn('secretsmanager', 'secret:hindsight-db-AbCdEf'),
  database: 'hindsight',
};

/** "From a laptop, against the deployed stack" and `--aws verify`, in the example project `project`. */
export async function awsWalk(project: string, transcripts: Transcripts): Promise<void> {
  const clients = {
    cloudFormation: mockClient(CloudFormationClient),
    dynamo: mockClient(DynamoDBClient),
    rds: mockClient(RDSDataClient),
    sfn: mockClient(SFNClient),
  };
  const region = process.env.AWS_REGION;
  const database = await DataApiEmulator.create();
  try {
    database.route(clients.rds);
    await deployLedger();
    answerAsTheStack(clients);
    const file = join(project, 'pipeline', 'stages', 'transform.ts');
    writeFileSync(file, readFileSync(file, 'utf8').replace('version: 1,', 'version: 2,'));

    const walk = new Walk(project, TODAY, transcripts, inProcess);
    walk.performed('export AWS_REGION=eu-west-1');
    process.env.AWS_REGION = REGION;
    await walk.run('npx hindsight --aws plan');
    await walk.run('npx hindsight --aws status');
    await walk.run('npx hindsight --aws backfill --auto --yes');
    await walk.run('npx hindsight --aws backfill --auto --yes --name after-fix-1 --no-wait');
    await walk.run('npx hindsight --aws run --date 2026-11-23');
    await walk.run('npx hindsight --aws verify --sample 30');
  } finally {
    if (region === undefined) delete process.env.AWS_REGION;
    else process.env.AWS_REGION = region;
    for (const client of Object.values(clients)) client.restore();
    await database.close();
  }
}

/** The deployed database: the migrations, and the example's v1 daily runs over two weeks. */
async function deployLedger(): Promise<void> {
  const sql = new DataApiSqlClient({
    resourceArn: stack.cluster,
    secretArn: stack.secret,
    database: stack.database,
    client: new RDSDataClient({ region: REGION }),
  });
  await migrate(sql, loadMigrations(join(REPOSITORY, 'pipeline', 'migrations')));
  for (const [i, date] of DEPLOYED_DATES.entries()) {
    const executionId = `${stack.daily.replace(':stateMachine:', ':execution:')}:daily-${date}`;
    for (const stage of deployedPipeline.names) {
      await runStage(sql, deployedPipeline, { stage, date, fenceToken: i + 1, executionId }, {});
    }
  }
}

/** AWS as a healthy deployed stack answers: its outputs, a free lease, executions that succeed. */
function answerAsTheStack(clients: {
  cloudFormation: AwsClientStub<CloudFormationClient>;
  dynamo: AwsClientStub<DynamoDBClient>;
  sfn: AwsClientStub<SFNClient>;
}): void {
  const now = new Date(`${TODAY}T12:00:00Z`);
  clients.cloudFormation.on(DescribeStacksCommand, { StackName: STACK }).resolves({
    Stacks: [
      {
        StackName: STACK,
        StackStatus: 'UPDATE_COMPLETE',
        CreationTime: now,
        Outputs: [
          { OutputKey: OUTPUTS.dailyStateMachineArn, OutputValue: stack.daily },
          { OutputKey: OUTPUTS.backfillStateMachineArn, OutputValue: stack.backfill },
          { OutputKey: OUTPUTS.leaseTableName, OutputValue: stack.table },
          { OutputKey: OUTPUTS.clusterArn, OutputValue: stack.cluster },
          { OutputKey: OUTPUTS.secretArn, OutputValue: stack.secret },
          { OutputKey: OUTPUTS.databaseName, OutputValue: stack.database },
        ],
      },
    ],
  });
  clients.dynamo.on(GetItemCommand).resolves({ Item: { pk: { S: 'lease' }, token: { N: '14' } } });
  clients.sfn.on(StartExecutionCommand).callsFake((input: { stateMachineArn: string; name?: string }) => ({
    executionArn: `${input.stateMachineArn.replace(':stateMachine:', ':execution:')}:${input.name ?? 'cli-1'}`,
    startDate: now,
  }));
  clients.sfn.on(DescribeExecutionCommand).callsFake((input: { executionArn: string }) => {
    const daily = input.executionArn.includes(':HindsightDaily:');
    const output = daily
      ? { stages: Object.fromEntries(deployedPipeline.names.map((stage) => [stage, { rowsWritten: 12 }])) }
      : { totals: { dates: 14, stageRuns: 56, fullRerunStageRuns: 70 } };
    return {
      executionArn: input.executionArn,
      stateMachineArn: daily ? stack.daily : stack.backfill,
      status: 'SUCCEEDED',
      startDate: now,
      output: JSON.stringify(output),
    };
  });
  const mapRunArn = arn('states', 'mapRun:HindsightBackfill/cli-1:f00d');
  clients.sfn.on(ListMapRunsCommand).callsFake((input: { executionArn: string }) => ({
    mapRuns: [
      { executionArn: input.executionArn, mapRunArn, stateMachineArn: stack.backfill, startDate: now },
    ],
  }));
  const counts = { pending: 0, running: 0, succeeded: 14, failed: 0, timedOut: 0, aborted: 0, total: 14 };
  clients.sfn.on(DescribeMapRunCommand).resolves({
    mapRunArn,
    executionArn: arn('states', 'execution:HindsightBackfill:cli-1'),
    status: 'SUCCEEDED',
    startDate: now,
    maxConcurrency: 1,
    toleratedFailurePercentage: 0,
    toleratedFailureCount: 0,
    itemCounts: { ...counts, resultsWritten: 0 },
    executionCounts: { ...counts, resultsWritten: 0 },
  });
}

/** Runs a README command in this process, so that the mocks above answer its AWS calls. */
async function inProcess(command: string, options: { cwd: string; today: string }) {
  const args = hindsightArguments(command);
  if (args === undefined) throw new Error(`Not a hindsight command: ${command}`);
  const result = await runCliInProcess(args, {
    now: new Date(`${options.today}T12:00:00Z`),
    pollMs: 0,
    cwd: options.cwd,
  });
  return { code: result.code, output: [result.stdout, result.stderr].filter(Boolean).join('\n') };
}
