/**
 * Issue 15, "Liveness", in the synthesized stack: the lease outlasts every stretch a holder goes
 * without renewing it (checked at every synth), every Task retries a cluster still resuming, the
 * Tasks that renew the lease may read and write its item, and the release of a stopped execution's
 * lease has a failure destination with an alarm on it.
 */
import { Duration } from 'aws-cdk-lib';
import { benchCost } from '../../bench/cost';
import { DatabaseStillResumingError } from '../../lambdas/adapters/data-api-sql';
import { DEFAULT_LEASE_DURATION_MS, DEFAULT_RENEW_INTERVAL_MS } from '../../lambdas/engine/lease';
import {
  checkLeaseCoverage,
  DEPLOYED_LEASE,
  LEASE_MARGIN,
  leaseCoverage,
  uncoveredGaps,
} from '../../lib/lease-coverage';
import { logicalIdOf } from '../../lib/nag';
import { RELEASE_ON_STATUSES } from '../../lib/release-on-abort';
import {
  type AslDefinition,
  type AslState,
  allStates,
  stateMachineFromTemplate,
  type WorkflowDefinitions,
} from '../../lib/workflow-definitions';
import { pipeline } from '../fixtures/pipelines/meters';
import { resourcesOfType, type Synthesized, synthesize } from './support';

let owned: Synthesized;

beforeAll(() => {
  owned = synthesize();
});

const minutes = (seconds: number) => `${(seconds / 60).toFixed(1)} min`;

/** A deep copy of the definitions with `state` of `workflow` changed by `change`. */
function withState(
  definitions: WorkflowDefinitions,
  workflow: keyof WorkflowDefinitions,
  name: string,
  change: (state: AslState) => AslState,
): WorkflowDefinitions {
  const copy: WorkflowDefinitions = structuredClone(definitions);
  const states = copy[workflow].definition.States;
  const state = states[name];
  if (state === undefined) throw new Error(`No state ${name}`);
  states[name] = change(state);
  return copy;
}

describe('Lease coverage, checked at synth', () => {
  it('keeps every holder’s lease: no stretch between two renewals (margin included) outlasts what a renewal guarantees', () => {
    // Act
    const coverage = checkLeaseCoverage(owned.definitions);

    // Assess: every Task under the lease renews it, in both workflows
    const stageTasks = pipeline.names.map((name) => `Run ${name.charAt(0).toUpperCase()}${name.slice(1)}`);
    expect(coverage.renewPoints).toEqual({
      daily: ['Acquire Lease', 'Check Earlier Dates', ...stageTasks],
      backfill: ['Acquire Lease', 'Prepare Date', ...stageTasks],
    });
    expect(coverage.coveredSeconds).toBe((DEFAULT_LEASE_DURATION_MS - DEFAULT_RENEW_INTERVAL_MS) / 1000);
    const [longest] = coverage.gaps;
    expect(longest).toBeDefined();
    expect((longest?.seconds ?? Infinity) + coverage.marginSeconds).toBeLessThanOrEqual(
      coverage.coveredSeconds,
    );
    console.log(
      `Lease coverage: a renewal guarantees ${minutes(coverage.coveredSeconds)} (15 min lease less the 1 min renew ` +
        `interval); the longest stretch without one is ${minutes(longest?.seconds ?? 0)} ` +
        `(${longest?.workflow}: ${longest?.path.join(' → ')}: one 10.5 min attempt and its longest retry wait), ` +
        `+ ${minutes(coverage.marginSeconds)} margin. Renew points: daily ${coverage.renewPoints.daily.length}, ` +
        `backfill ${coverage.renewPoints.backfill.length}.`,
    );
  });

  it('would fail with the renew points of the code before issue 15 (Acquire Lease and Prepare Date only), naming the paths', () => {
    // Act
    const before = leaseCoverage(
      owned.definitions,
      DEPLOYED_LEASE,
      LEASE_MARGIN,
      (binding, state) =>
        binding.handler === 'prepare-date' ||
        (binding.handler === 'lease' &&
          typeof state.Parameters === 'object' &&
          state.Parameters !== null &&
          !Array.isArray(state.Parameters) &&
          state.Parameters.action === 'acquire'),
    );

    // Assess: the daily run went from Acquire Lease to its Release with no renewal
    expect(uncoveredGaps(before).map((gap) => `${gap.workflow}: ${gap.path.join(' → ')}`)).toEqual([
      `daily: Acquire Lease → Check Earlier Dates → Run Collect → Run Validate → Run Summarize → Run Trend → Run Report → Release Lease`,
      'backfill: Prepare Date → Run Collect? → Run Collect → Run Validate? → Run Validate → Run Summarize? → Run Summarize → Run Trend? → Run Trend → Run Report? → Run Report → Finish Date → Release Lease',
    ]);
    expect(() => checkLeaseCoverage(owned.definitions, DEPLOYED_LEASE, LEASE_MARGIN, () => false)).toThrow(
      /a healthy run could lose its lease/,
    );
  });

  it('refuses a Task under the lease whose attempt would outlast it, and one that does not renew it', () => {
    // Prepare: a stage Task allowed 14 minutes; the check of earlier dates not given the lease
    const longStage = withState(owned.definitions, 'daily', 'Run Validate', (state) => ({
      ...state,
      TimeoutSeconds: 14 * 60,
    }));
    const unrenewedCheck = withState(owned.definitions, 'daily', 'Check Earlier Dates', (state) => ({
      ...state,
      Parameters: { 'date.$': '$.resolved.date' },
    }));

    // Act & Assess
    expect(() => checkLeaseCoverage(longStage)).toThrow(/daily: Run Validate → Run Summarize: 17\.1 min/);
    expect(() => checkLeaseCoverage(unrenewedCheck)).toThrow(
      /daily: Acquire Lease → Check Earlier Dates → Run Collect: /,
    );
    // A longer lease covers the long stage.
    expect(() =>
      checkLeaseCoverage(longStage, { duration: Duration.minutes(20), renewInterval: Duration.minutes(1) }),
    ).not.toThrow();
  });

  it('fails the synth of a stack whose lease is shorter than its Tasks need', () => {
    jest.isolateModules(() => {
      jest.doMock('../../lambdas/engine/lease', () => ({
        ...jest.requireActual('../../lambdas/engine/lease'),
        DEFAULT_LEASE_DURATION_MS: 10 * 60_000,
      }));
      const { synthesize: synthesizeWithShortLease } = require('./support') as typeof import('./support');
      expect(() => synthesizeWithShortLease()).toThrow(/The lease is sure to last 9\.0 min after a renewal/);
    });
  });

  it('counts the renewals on the cost model’s paths: one per Task under the lease, and no added transition', () => {
    // Act
    const cost = benchCost(owned.definitions, pipeline);

    // Assess
    expect(cost.daily).toMatchObject({
      transitions: pipeline.names.length + 5,
      leaseRenewals: pipeline.names.length + 2,
    });
    expect(cost.backfillFixed).toMatchObject({ leaseRenewals: 1 });
    expect(cost.perDate.map((date) => [date.startStage, date.leaseRenewals])).toEqual(
      pipeline.names.map((name, i) => [name, 1 + pipeline.names.length - i]),
    );
  });
});

describe('Retry while the Aurora cluster resumes', () => {
  const retrierOf = (state: AslState) =>
    (Array.isArray(state.Retry) ? state.Retry : []).find(
      (retry) =>
        typeof retry === 'object' &&
        retry !== null &&
        !Array.isArray(retry) &&
        Array.isArray(retry.ErrorEquals) &&
        retry.ErrorEquals.includes('DatabaseStillResumingError'),
    );

  it('is on every Task of the daily, backfill and Verify workflows (every one runs SQL), waiting 15, 30 and 60 s', () => {
    // Prepare
    const verify = stateMachineFromTemplate(owned.json, 'verify');
    const machines: Array<[string, AslDefinition]> = [
      ['daily', owned.definitions.daily.definition],
      ['backfill', owned.definitions.backfill.definition],
      ['verify', verify?.definition ?? { StartAt: '', States: {} }],
    ];
    const tasks = machines.flatMap(([machine, definition]) =>
      allStates(definition)
        .filter(([, state]) => state.Type === 'Task')
        .map(([name, state]) => [`${machine}: ${name}`, retrierOf(state)] as const),
    );

    // Assess
    expect(verify).toBeDefined();
    expect(tasks.length).toBeGreaterThan(2 * pipeline.names.length);
    for (const [task, retrier] of tasks) {
      expect({ task, retrier }).toEqual({
        task,
        retrier: {
          ErrorEquals: ['DatabaseStillResumingError'],
          IntervalSeconds: 15,
          BackoffRate: 2,
          MaxAttempts: 3,
        },
      });
    }
    // The name the Retry matches is the adapter's error's.
    expect(new DatabaseStillResumingError('resuming').name).toBe('DatabaseStillResumingError');
  });
});

describe('IAM for the lease renewals', () => {
  it('lets every stage function and the check of earlier dates read and write the lease item, GetItem and PutItem only', () => {
    // Prepare
    const leaseTable = logicalIdOf(owned.stack.pipeline.leaseTable.table);
    const renewing = [
      ...owned.stack.pipeline.functions.stages.values(),
      owned.stack.pipeline.functions.checkEarlierDates,
    ];
    const policies = resourcesOfType(owned.json, 'AWS::IAM::Policy');

    // Assess
    for (const fn of renewing) {
      const role = logicalIdOf(fn.role!);
      const statements = policies
        .filter(([, policy]) =>
          (policy.Properties as { Roles: Array<{ Ref: string }> }).Roles.some((ref) => ref.Ref === role),
        )
        .flatMap(
          ([, policy]) =>
            (policy.Properties as { PolicyDocument: { Statement: unknown[] } }).PolicyDocument.Statement,
        )
        .map((statement) => statement as { Action: string | string[]; Resource: unknown });
      const dynamo = statements.filter((statement) =>
        [statement.Action].flat().some((action) => action.startsWith('dynamodb:')),
      );
      expect({ fn: fn.node.path, dynamo }).toEqual({
        fn: fn.node.path,
        dynamo: [
          expect.objectContaining({
            Action: ['dynamodb:GetItem', 'dynamodb:PutItem'],
            Resource: [{ 'Fn::GetAtt': [leaseTable, 'Arn'] }],
          }),
        ],
      });
    }
  });
});

describe('Release of a stopped execution’s lease: failure destination and alarm', () => {
  it('sends the events the rule could not deliver and the invocations that failed to one encrypted queue', () => {
    // Prepare
    const queue = logicalIdOf(owned.stack.pipeline.releaseOnAbort.failures);
    const lease = logicalIdOf(owned.stack.pipeline.functions.lease);

    // Assess: the lease function's asynchronous invocations (the rule's) end in the queue
    owned.template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: lease },
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 6 * 3600,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [queue, 'Arn'] } } },
    });
    // and so do the events EventBridge could not deliver to it
    const [[, rule] = ['', {}]] = resourcesOfType(owned.json, 'AWS::Events::Rule').filter(([, candidate]) =>
      JSON.stringify((candidate.Properties as { EventPattern?: unknown }).EventPattern ?? {}).includes(
        RELEASE_ON_STATUSES[0],
      ),
    );
    expect((rule.Properties as { Targets: unknown[] }).Targets).toEqual([
      expect.objectContaining({
        Arn: { 'Fn::GetAtt': [lease, 'Arn'] },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [queue, 'Arn'] } },
        RetryPolicy: { MaximumRetryAttempts: 10, MaximumEventAgeInSeconds: 6 * 3600 },
      }),
    ]);
    owned.template.hasResourceProperties('AWS::SQS::Queue', {
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 14 * 24 * 3600,
    });
  });

  it('alarms as soon as one failed release waits in the queue, notifying the alarm topic', () => {
    // Prepare
    const alarm = owned.stack.pipeline.alarms.leaseReleaseFailed;
    const notifying = synthesize({
      context: { 'hindsight:alarmTopicArn': 'arn:aws:sns:eu-west-1:123456789012:ops' },
    });

    // Assess
    expect(alarm).toBeDefined();
    const properties = owned.json.Resources?.[logicalIdOf(alarm!)]?.Properties;
    expect(properties).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Statistic: 'Maximum',
      Period: 300,
      EvaluationPeriods: 1,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
    expect(JSON.stringify(properties?.AlarmDescription)).toContain('lease');
    const notifyingAlarm = notifying.stack.pipeline.alarms.leaseReleaseFailed;
    expect(notifying.json.Resources?.[logicalIdOf(notifyingAlarm!)]?.Properties).toMatchObject({
      AlarmActions: ['arn:aws:sns:eu-west-1:123456789012:ops'],
    });
  });
});
