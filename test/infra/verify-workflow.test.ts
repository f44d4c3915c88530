/**
 * The Verify workflow, deployed with `hindsight:verify` (or a `hindsight:verifySchedule`): its
 * function, its state machine (asserted structurally, then run locally through aws-local-stepfunctions
 * with its Tasks bound to the verify handler's code over PGlite), its alarm, its optional schedule,
 * cdk-nag clean. Without the keys the stack has none of it.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { dateRange } from '../../lambdas/engine/dates';
import type { SqlClient } from '../../lambdas/engine/sql';
import { HANDLERS } from '../../lambdas/workflow/handlers';
import { runStageTask } from '../../lambdas/workflow/steps';
import { readConfig } from '../../lib/config';
import { logicalIdOf } from '../../lib/nag';
import { STORED_DATA_DIFFERS_ERROR, VERIFY_STATES } from '../../lib/verify-workflow';
import {
  type AslDefinition,
  type JsonValue,
  stateMachineFromTemplate,
  type WorkflowDefinition,
} from '../../lib/workflow-definitions';
import { pipeline } from '../fixtures/pipelines/meters';
import { DAILY_EXECUTION, dailyLeaseStore, testDependencies } from '../handlers/support';
import { databaseKinds } from '../support/databases';
import { resourcesOfType, type Synthesized, stateOf, synthesize } from './support';

// aws-local-stepfunctions is an ES module with a CommonJS build: load that build, typed by the module.
type LocalStepFunctions = typeof import('aws-local-stepfunctions', { with: { 'resolution-mode': 'import' }});
const { StateMachine }: LocalStepFunctions = require('aws-local-stepfunctions');
type LocalDefinition = ConstructorParameters<LocalStepFunctions['StateMachine']>[0];

const SCHEDULE = 'cron(0 4 ? * MON *)';

let plain: Synthesized;
let withVerify: Synthesized;
let scheduled: Synthesized;
let verify: WorkflowDefinition;

beforeAll(() => {
  plain = synthesize({ context: { 'hindsight:verify': false } });
  withVerify = synthesize();
  scheduled = synthesize({ context: { 'hindsight:verifySchedule': SCHEDULE, 'hindsight:verifySample': 10 } });
  const found = stateMachineFromTemplate(withVerify.json, 'verify');
  if (!found) throw new Error('No verify state machine in the template.');
  verify = found;
});

const list = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

/** The actions granted to the role of the function running `handler`. */
function actionsOf(synthesized: Synthesized, handler: string): string[] {
  const [fn] = resourcesOfType(synthesized.json, 'AWS::Lambda::Function').filter(
    ([, resource]) =>
      (resource.Metadata as Record<string, unknown> | undefined)?.['hindsight:handler'] === handler,
  );
  if (!fn) throw new Error(`No ${handler} function.`);
  const role = (fn[1].Properties as { Role: { 'Fn::GetAtt': [string, string] } }).Role['Fn::GetAtt'][0];
  return resourcesOfType(synthesized.json, 'AWS::IAM::Policy')
    .filter(([, policy]) =>
      list((policy.Properties as { Roles: Array<{ Ref: string }> }).Roles).some((r) => r.Ref === role),
    )
    .flatMap(([, policy]) =>
      (
        policy.Properties as { PolicyDocument: { Statement: Array<{ Action: string | string[] }> } }
      ).PolicyDocument.Statement.flatMap((statement) => list(statement.Action)),
    );
}

describe('Class: VerifyWorkflow', () => {
  it('is left out with hindsight:verify false: no function, state machine, alarm or rule of its own', () => {
    expect(plain.stack.pipeline.verify).toBeUndefined();
    expect(stateMachineFromTemplate(plain.json, 'verify')).toBeUndefined();
    expect(plain.stack.pipeline.alarms.verifyDifferences).toBeUndefined();
  });

  it('adds one function, with the Data API and its secret but no lease table, and a 15-minute timeout', () => {
    // Assess
    withVerify.template.hasResource('AWS::Lambda::Function', {
      Metadata: Match.objectLike({ 'hindsight:handler': 'verify' }),
      Properties: Match.objectLike({ Runtime: 'nodejs24.x', Timeout: 900, MemorySize: 1024 }),
    });
    const actions = actionsOf(withVerify, 'verify');
    expect(actions).toEqual(
      expect.arrayContaining(['rds-data:BeginTransaction', 'rds-data:RollbackTransaction']),
    );
    expect(actions).toEqual(
      expect.arrayContaining(['rds-data:ExecuteStatement', 'secretsmanager:GetSecretValue']),
    );
    expect(new Set(actions.map((action) => action.split(':')[0]))).toEqual(
      new Set(['rds-data', 'secretsmanager', 'logs', 'xray']),
    );
  });

  it('chooses the dates, verifies them one at a time, reports, and fails when anything differs', () => {
    // Prepare
    const { definition } = verify;
    const map = stateOf(definition, VERIFY_STATES.verifyEachDate);
    const processor = map.ItemProcessor as AslDefinition;

    // Assess: the success path, state by state
    expect(definition.StartAt).toBe(VERIFY_STATES.chooseDates);
    expect(stateOf(definition, VERIFY_STATES.chooseDates)).toMatchObject({
      Type: 'Task',
      Next: VERIFY_STATES.verifyEachDate,
      ResultPath: '$.chosen',
      Parameters: { action: 'choose', 'request.$': '$$.Execution.Input' },
      Catch: [{ ErrorEquals: ['InvalidInputError'], Next: VERIFY_STATES.refuseInvalidInput }],
    });
    expect(map).toMatchObject({
      Type: 'Map',
      ItemsPath: '$.chosen.items',
      MaxConcurrency: 1,
      ResultPath: '$.verified',
      Next: VERIFY_STATES.report,
    });
    expect(Object.keys(processor.States)).toEqual([VERIFY_STATES.verifyDate]);
    expect(stateOf(processor, VERIFY_STATES.verifyDate)).toMatchObject({
      Type: 'Task',
      End: true,
      ResultSelector: { 'date.$': '$.date', 'counts.$': '$.counts', 'differing.$': '$.differing' },
    });
    expect(stateOf(definition, VERIFY_STATES.report)).toMatchObject({
      Next: VERIFY_STATES.anythingDiffers,
      ResultPath: '$.report',
    });
    expect(stateOf(definition, VERIFY_STATES.anythingDiffers)).toMatchObject({
      Type: 'Choice',
      Choices: [{ Variable: '$.report.differs', BooleanEquals: true, Next: VERIFY_STATES.differs }],
      Default: VERIFY_STATES.same,
    });
    expect(stateOf(definition, VERIFY_STATES.differs)).toEqual({
      Type: 'Fail',
      Error: STORED_DATA_DIFFERS_ERROR,
      CausePath: '$.report.summary',
    });
    // A verification of N dates enters N + 5 states: the cost of a 30-date sample is 35 transitions.
    expect(Object.keys(definition.States).sort()).toEqual(
      [
        VERIFY_STATES.chooseDates,
        VERIFY_STATES.refuseInvalidInput,
        VERIFY_STATES.verifyEachDate,
        VERIFY_STATES.report,
        VERIFY_STATES.anythingDiffers,
        VERIFY_STATES.differs,
        VERIFY_STATES.same,
      ].sort(),
    );
    expect(Object.values(verify.tasks).map((task) => task.handler)).toEqual(['verify', 'verify', 'verify']);
  });

  it('is a Standard state machine that logs every event, traces, and holds no lease', () => {
    const [id, machine] = resourcesOfType(withVerify.json, 'AWS::StepFunctions::StateMachine').filter(
      ([, resource]) => (resource.Metadata as Record<string, unknown>)['hindsight:workflow'] === 'verify',
    )[0];
    expect(id).toBe(logicalIdOf(withVerify.stack.pipeline.verify?.stateMachine ?? withVerify.stack));
    expect(machine.Properties).toMatchObject({
      StateMachineType: 'STANDARD',
      LoggingConfiguration: expect.objectContaining({ Level: 'ALL', IncludeExecutionData: true }),
      TracingConfiguration: { Enabled: true },
    });
    expect(JSON.stringify(verify.definition)).not.toMatch(/Lease/);
    withVerify.template.resourceCountIs('AWS::StepFunctions::StateMachine', 3);
  });

  it('alarms on the VerifyDifferences metric: a sum of at least 1 in 5 minutes, notifying the alarm topic', () => {
    // Prepare
    const alarm = withVerify.stack.pipeline.alarms.verifyDifferences;
    const notifying = synthesize({
      context: {
        'hindsight:verify': true,
        'hindsight:alarmTopicArn': 'arn:aws:sns:eu-west-1:123456789012:ops',
      },
    });

    // Assess
    expect(alarm).toBeDefined();
    withVerify.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'Hindsight',
      MetricName: 'VerifyDifferences',
      Dimensions: [{ Name: 'service', Value: 'hindsight' }],
      Statistic: 'Sum',
      Period: 300,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
    });
    withVerify.template.resourceCountIs('AWS::CloudWatch::Alarm', 7);
    notifying.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'VerifyDifferences',
      AlarmActions: ['arn:aws:sns:eu-west-1:123456789012:ops'],
    });
  });

  it('has no schedule unless hindsight:verifySchedule sets one, which starts a sample of hindsight:verifySample dates', () => {
    // Assess
    expect(withVerify.stack.pipeline.verify?.schedule).toBeUndefined();
    const rule = scheduled.stack.pipeline.verify?.schedule;
    expect(rule).toBeDefined();
    scheduled.template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: SCHEDULE,
      State: 'ENABLED',
      Targets: [
        Match.objectLike({
          Arn: { Ref: logicalIdOf(scheduled.stack.pipeline.verify?.stateMachine ?? scheduled.stack) },
          Input: JSON.stringify({ sample: 10 }),
        }),
      ],
    });
  });

  it.each([
    ['with the workflow', () => withVerify],
    ['with its schedule', () => scheduled],
  ])('finds nothing cdk-nag does not accept %s', (_, synthesized) => {
    const report = new AwsSolutionsChecks().validateScope(synthesized().app);
    expect(report.violations.map((violation) => violation.ruleName)).toEqual([]);
  });
});

describe('Function: readConfig (verify keys)', () => {
  const configOf = (context: Record<string, unknown>) =>
    readConfig(new Stack(new App({ context }), 'S').node);

  it('is on by default with no schedule, off with hindsight:verify false, on with a schedule, 30 dates unless told', () => {
    expect(configOf({}).verify).toEqual({ sample: 30 });
    expect(configOf({ 'hindsight:verify': 'false' }).verify).toBeUndefined();
    expect(configOf({ 'hindsight:verify': 'true' }).verify).toEqual({ sample: 30 });
    expect(configOf({ 'hindsight:verifySchedule': SCHEDULE, 'hindsight:verify': false }).verify).toEqual({
      schedule: SCHEDULE,
      sample: 30,
    });
    expect(
      configOf({
        'hindsight:verify': false,
        'hindsight:verifySchedule': false,
        'hindsight:verifySample': '7',
      }).verify,
    ).toBeUndefined();
    expect(configOf({ 'hindsight:verifySchedule': false, 'hindsight:verifySample': '7' }).verify).toEqual({
      sample: 7,
    });
  });

  it('refuses a schedule and a sample it cannot use, naming key, value and accepted form', () => {
    expect(() => configOf({ 'hindsight:verifySchedule': 'weekly', 'hindsight:verifySample': 0 })).toThrow(
      [
        'Invalid Hindsight context in cdk.json:',
        'Invalid hindsight:verifySchedule: got "weekly"; expected an EventBridge expression such as cron(0 4 ? * MON *), or false for no schedule.',
        'Invalid hindsight:verifySample: got 0; expected a whole number of dates from 1 to 366.',
      ].join('\n'),
    );
  });
});

describe('The Verify workflow, run locally', () => {
  const DATES = dateRange('2026-02-10', '2026-02-19');
  let sql: SqlClient;

  beforeAll(async () => {
    sql = await databaseKinds()[0].open();
    const deps = testDependencies(sql, pipeline, { store: dailyLeaseStore() });
    for (const date of DATES) {
      for (const stage of pipeline.names) {
        await runStageTask(deps, stage, { date, token: 1, executionId: DAILY_EXECUTION });
      }
    }
  });

  afterAll(() => sql?.close());

  /** Runs the synthesized Verify definition, each Task bound to the verify handler's step, as the local runtime binds Tasks. */
  async function execute(input: JsonValue): Promise<{ calls: string[]; output: Promise<unknown> }> {
    const deps = testDependencies(sql, pipeline);
    const calls: string[] = [];
    const taskResourceLocalHandlers = Object.fromEntries(
      Object.entries(verify.tasks).map(([stateName, binding]) => [
        stateName,
        async (event: JsonValue) => {
          calls.push(stateName);
          const step = HANDLERS[binding.handler].step;
          if (step === null) throw new Error(`${binding.handler} runs behind no Task.`);
          return JSON.parse(JSON.stringify(await step(deps, event, undefined))) as JsonValue;
        },
      ]),
    );
    const machine = new StateMachine(structuredClone(verify.definition) as LocalDefinition);
    const execution = machine.run(input, {
      overrides: { taskResourceLocalHandlers },
      context: { Execution: { Id: 'arn:aws:states:us-east-1:123456789012:execution:Verify:local-test' } },
    });
    return { calls, output: execution.result };
  }

  async function failureOf(output: Promise<unknown>): Promise<{ error: string; cause: string }> {
    const failure = await output.then(
      () => {
        throw new Error('The execution succeeded');
      },
      (error: unknown) => error,
    );
    const cause = failure instanceof Error ? failure.cause : undefined;
    if (!(cause instanceof Error)) throw new Error(`Not an execution failure: ${String(failure)}`);
    return { error: cause.name, cause: cause.message };
  }

  it('verifies a seeded sample, one "Verify Date" per date, and succeeds with the totals when all is same', async () => {
    // Act
    const run = await execute({ sample: 4, seed: 'weekly-1' });
    const output = await run.output;

    // Assess: N + 2 Lambda invocations for N dates
    expect(output).toMatchObject({
      from: DATES[0],
      to: DATES[DATES.length - 1],
      sample: { size: 4, of: 10, seed: 'weekly-1' },
      totals: { dates: 4, cells: 20, same: 20, differs: 0, failed: 0 },
      differs: false,
    });
    expect(run.calls).toEqual([
      VERIFY_STATES.chooseDates,
      ...Array.from({ length: 4 }, () => VERIFY_STATES.verifyDate),
      VERIFY_STATES.report,
    ]);
  });

  it('fails with StoredDataDiffersError, naming the date, stage and table, when a row was changed', async () => {
    // Prepare
    const date = DATES[6];
    await sql.query(
      `UPDATE meter_daily SET readings = readings + 1 WHERE day = $1::date AND meter_id = (SELECT min(meter_id) FROM meter_daily WHERE day = $1::date)`,
      [date],
    );

    try {
      // Act
      const run = await execute({ from: date, to: date, stages: ['summarize'] });

      // Assess
      expect(await failureOf(run.output)).toEqual({
        error: STORED_DATA_DIFFERS_ERROR,
        cause: [
          `Verified ${date} .. ${date}: 0 same, 1 differ, 0 failed; not verified: 0 stale, 0 missing, 0 skipped.`,
          `${date} summarize: meter_daily 1 only stored, 1 only recomputed`,
        ].join('\n'),
      });
    } finally {
      await sql.query(
        `UPDATE meter_daily SET readings = readings - 1 WHERE day = $1::date AND meter_id = (SELECT min(meter_id) FROM meter_daily WHERE day = $1::date)`,
        [date],
      );
    }
  });

  it('refuses an input it cannot use in "Refuse Invalid Input", before reading anything', async () => {
    const run = await execute({ sample: 0, colour: 'red' });
    expect(await failureOf(run.output)).toEqual({
      error: 'InvalidInputError',
      cause: [
        'Invalid colour: got "red"; expected only the fields from, to, stages, sample, seed.',
        'Invalid sample: got 0; expected a whole number of dates from 1 to 3660.',
      ].join('\n'),
    });
    expect(run.calls).toEqual([VERIFY_STATES.chooseDates]);
  });
});
