import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import type { Alarm } from 'aws-cdk-lib/aws-cloudwatch';
import { readConfig } from '../../lib/config';
import { logicalIdOf } from '../../lib/nag';
import { resourcesOfType, type Synthesized, synthesize } from './support';

const TOPIC_ARN = 'arn:aws:sns:eu-west-1:123456789012:hindsight-alarms';

let plain: Synthesized;
let notifying: Synthesized;

beforeAll(() => {
  plain = synthesize();
  notifying = synthesize({
    context: { 'hindsight:alarmTopicArn': TOPIC_ARN, 'hindsight:dailyBlockedAlarmMinutes': 90 },
  });
});

/** The CloudFormation properties of `alarm` in `synthesized`. */
function propertiesOf(synthesized: Synthesized, alarm: Alarm): Record<string, unknown> {
  const properties = synthesized.json.Resources?.[logicalIdOf(alarm)]?.Properties;
  if (!properties) throw new Error(`No alarm ${alarm.node.path} in the template.`);
  return { ...properties };
}

const stateMachineDimension = (synthesized: Synthesized, kind: 'daily' | 'backfill') => [
  { Name: 'StateMachineArn', Value: { Ref: logicalIdOf(synthesized.stack.pipeline[kind].stateMachine) } },
];

describe('Class: HindsightAlarms', () => {
  it("has seven alarms (six, and the Verify workflow's), none with an action when no topic is configured", () => {
    // Assess
    plain.template.resourceCountIs('AWS::CloudWatch::Alarm', 7);
    for (const [, alarm] of resourcesOfType(plain.json, 'AWS::CloudWatch::Alarm')) {
      expect(alarm.Properties).not.toHaveProperty('AlarmActions');
    }
  });

  it('alarms on a failed backfill execution: ExecutionsFailed sum ≥ 1 in 5 minutes', () => {
    expect(propertiesOf(plain, plain.stack.pipeline.alarms.backfillFailed)).toMatchObject({
      Namespace: 'AWS/States',
      MetricName: 'ExecutionsFailed',
      Dimensions: stateMachineDimension(plain, 'backfill'),
      Statistic: 'Sum',
      Period: 300,
      EvaluationPeriods: 1,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
  });

  it('alarms on a failed daily execution: ExecutionsFailed sum ≥ 1 in 5 minutes', () => {
    expect(propertiesOf(plain, plain.stack.pipeline.alarms.dailyFailed)).toMatchObject({
      Namespace: 'AWS/States',
      MetricName: 'ExecutionsFailed',
      Dimensions: stateMachineDimension(plain, 'daily'),
      Statistic: 'Sum',
      Period: 300,
      EvaluationPeriods: 1,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
  });

  it.each([
    ['the default 60 minutes', () => plain, 12],
    ['hindsight:dailyBlockedAlarmMinutes = 90', () => notifying, 18],
  ])(
    'alarms on a daily run blocked for %s: LeaseBusy of Kind daily in every 5-minute period',
    (_, synthesized, periods) => {
      expect(propertiesOf(synthesized(), synthesized().stack.pipeline.alarms.dailyBlocked)).toMatchObject({
        Namespace: 'Hindsight',
        MetricName: 'LeaseBusy',
        Statistic: 'Sum',
        Period: 300,
        EvaluationPeriods: periods,
        DatapointsToAlarm: periods,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
      });
      const { Dimensions } = propertiesOf(synthesized(), synthesized().stack.pipeline.alarms.dailyBlocked);
      expect(Dimensions).toEqual(
        expect.arrayContaining([
          { Name: 'service', Value: 'hindsight' },
          { Name: 'Kind', Value: 'daily' },
        ]),
      );
      expect(Dimensions).toHaveLength(2);
    },
  );

  it('alarms when no daily run succeeded in 26 hours: 26 hourly periods without a success, missing data breaching', () => {
    expect(propertiesOf(plain, plain.stack.pipeline.alarms.dailyMissing)).toMatchObject({
      Namespace: 'AWS/States',
      MetricName: 'ExecutionsSucceeded',
      Dimensions: stateMachineDimension(plain, 'daily'),
      Statistic: 'Sum',
      Period: 3600,
      EvaluationPeriods: 26,
      DatapointsToAlarm: 26,
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
    });
  });

  it('alarms when the after-deploy function reported a refused plan: AfterDeployPlanRefused sum ≥ 1 in 5 minutes', () => {
    const properties = propertiesOf(plain, plain.stack.pipeline.alarms.afterDeployPlanRefused);
    expect(properties).toMatchObject({
      Namespace: 'Hindsight',
      MetricName: 'AfterDeployPlanRefused',
      Dimensions: [{ Name: 'service', Value: 'hindsight' }],
      Statistic: 'Sum',
      Period: 300,
      EvaluationPeriods: 1,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
    expect(properties.AlarmDescription).toContain('{"mode": "auto", "from"');
  });

  it('warns at synth when the blocked limit is not below the lease wait, since the run gives up first', () => {
    // Act
    const late = synthesize({ context: { 'hindsight:leaseWaitMinutes': 30 } });

    // Assess
    Annotations.fromStack(late.stack).hasWarning(
      '/Hindsight/Default/Alarms/DailyBlocked',
      Match.stringLikeRegexp(
        'dailyBlockedAlarmMinutes \\(60\\) is not below hindsight:leaseWaitMinutes \\(30\\)',
      ),
    );
    Annotations.fromStack(plain.stack).hasNoWarning('*', Match.stringLikeRegexp('dailyBlockedAlarmMinutes'));
  });

  it('notifies the hindsight:alarmTopicArn topic from every alarm', () => {
    // Assess
    const alarms = resourcesOfType(notifying.json, 'AWS::CloudWatch::Alarm');
    expect(alarms).toHaveLength(7);
    for (const [, alarm] of alarms) {
      expect(alarm.Properties).toMatchObject({ AlarmActions: [TOPIC_ARN] });
    }
    notifying.template.resourceCountIs('AWS::SNS::Topic', 0);
  });
});

describe('Function: readConfig (alarm keys)', () => {
  const configOf = (context: Record<string, unknown>) =>
    readConfig(new Stack(new App({ context }), 'S').node);

  it('refuses a FIFO topic and a limit past what CloudWatch evaluates, together', () => {
    expect(() =>
      configOf({
        'hindsight:alarmTopicArn': 'arn:aws:sns:eu-west-1:123456789012:alarms.fifo',
        'hindsight:dailyBlockedAlarmMinutes': '2000',
        'hindsight:leaseWaitMinutes': 3000,
      }),
    ).toThrow(
      [
        'Invalid hindsight:dailyBlockedAlarmMinutes: got "2000"; expected a whole number of minutes from 5 to 1440.',
        'Invalid hindsight:alarmTopicArn: got "arn:aws:sns:eu-west-1:123456789012:alarms.fifo"; expected a standard SNS topic ARN, arn:aws:sns:<region>:<account>:<name>.',
      ].join('\n'),
    );
  });

  it('reads the topic and the limit, accepting -c strings', () => {
    const config = configOf({
      'hindsight:alarmTopicArn': TOPIC_ARN,
      'hindsight:dailyBlockedAlarmMinutes': '45',
    });
    expect(config.alarmTopicArn).toBe(TOPIC_ARN);
    expect(config.dailyBlockedAlarm.toMinutes()).toBe(45);
  });
});
