import { App, Stack } from 'aws-cdk-lib';
import { readConfig } from '../../lib/config';

const configOf = (context: Record<string, unknown>) => readConfig(new Stack(new App({ context }), 'S').node);

describe('Function: readConfig', () => {
  it('falls back to the cdk.json defaults and accepts -c strings', () => {
    // Act
    const config = configOf({ 'hindsight:leaseWaitMinutes': '45', 'hindsight:autoBackfill': 'false' });

    // Assess
    expect(config).toMatchObject({
      stackName: 'Hindsight',
      dailySchedule: 'cron(0 2 * * ? *)',
      autoBackfill: false,
      maxBackfillDays: 3660,
    });
    expect(config.leaseWait.toMinutes()).toBe(45);
    expect(config.importedDatabase).toBeUndefined();
  });

  it('refuses every bad value at once, naming the key, the value and the accepted form', () => {
    expect(() =>
      configOf({
        'hindsight:dailySchedule': 'every day',
        'hindsight:maxBackfillDays': 0,
        'hindsight:leaseWaitMinutes': 'soon',
      }),
    ).toThrow(
      [
        'Invalid Hindsight context in cdk.json:',
        'Invalid hindsight:dailySchedule: got "every day"; expected an EventBridge expression such as cron(0 2 * * ? *).',
        'Invalid hindsight:maxBackfillDays: got 0; expected a whole number of days from 1 to 36600.',
        'Invalid hindsight:leaseWaitMinutes: got "soon"; expected a whole number of minutes from 1 to 10080.',
      ].join('\n'),
    );
  });

  it('takes the stack name from hindsight:stackName, and refuses one CloudFormation would not', () => {
    expect(configOf({ 'hindsight:stackName': 'Orders-Prod' }).stackName).toBe('Orders-Prod');
    expect(() => configOf({ 'hindsight:stackName': 'orders prod' })).toThrow(
      'Invalid hindsight:stackName: got "orders prod"; expected a CloudFormation stack name: a letter, then letters, digits or -, at most 128.',
    );
  });

  it('refuses a partial import, naming the missing keys', () => {
    expect(() =>
      configOf({ 'hindsight:clusterArn': 'arn:aws:rds:eu-west-1:123456789012:cluster:prod' }),
    ).toThrow('missing hindsight:secretArn, hindsight:databaseName');
  });

  it('refuses a secret ARN without its random suffix', () => {
    expect(() =>
      configOf({
        'hindsight:clusterArn': 'arn:aws:rds:eu-west-1:123456789012:cluster:prod',
        'hindsight:secretArn': 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod',
        'hindsight:databaseName': 'orders',
      }),
    ).toThrow('Invalid hindsight:secretArn');
  });
});
