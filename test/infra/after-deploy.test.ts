import { Match } from 'aws-cdk-lib/assertions';
import { resourcesOfType, type Synthesized, synthesize } from './support';

let withBackfill: Synthesized;
let withoutBackfill: Synthesized;

beforeAll(() => {
  withBackfill = synthesize();
  withoutBackfill = synthesize({ context: { 'hindsight:autoBackfill': false } });
});

function afterDeployFunction(synthesized: Synthesized): [string, Record<string, unknown>] {
  const found = resourcesOfType(synthesized.json, 'AWS::Lambda::Function').filter(
    ([, fn]) =>
      (fn.Metadata as Record<string, unknown> | undefined)?.['hindsight:handler'] === 'after-deploy',
  );
  expect(found).toHaveLength(1);
  const [logicalId, fn] = found[0];
  return [logicalId, fn.Properties as Record<string, unknown>];
}

/** Every action granted to the role of the function `logicalId`. */
function actionsOf(synthesized: Synthesized, functionLogicalId: string): string[] {
  const fn = synthesized.json.Resources?.[functionLogicalId];
  if (!fn) throw new Error(`No function ${functionLogicalId}`);
  const role = (fn.Properties as { Role: { 'Fn::GetAtt': [string, string] } }).Role['Fn::GetAtt'][0];
  return resourcesOfType(synthesized.json, 'AWS::IAM::Policy')
    .filter(([, policy]) =>
      (policy.Properties as { Roles: Array<{ Ref: string }> }).Roles.some((r) => r.Ref === role),
    )
    .flatMap(([, policy]) =>
      (
        policy.Properties as { PolicyDocument: { Statement: Array<{ Action: string | string[] }> } }
      ).PolicyDocument.Statement.flatMap((statement) =>
        Array.isArray(statement.Action) ? statement.Action : [statement.Action],
      ),
    );
}

describe('Construct: AfterDeploy', () => {
  it('runs after both state machines and the database exist, whenever the deployment changes', () => {
    const [logicalId] = afterDeployFunction(withBackfill);
    const triggers = resourcesOfType(withBackfill.json, 'Custom::Trigger');
    expect(triggers).toHaveLength(1);
    const [, trigger] = triggers[0];
    // The trigger invokes the function's current version, so a new version (a changed deployment) runs it again.
    const versions = resourcesOfType(withBackfill.json, 'AWS::Lambda::Version').filter(
      ([, version]) =>
        (version.Properties as { FunctionName: { Ref: string } }).FunctionName.Ref === logicalId,
    );
    expect(versions).toHaveLength(1);
    expect(trigger.Properties).toMatchObject({
      HandlerArn: { Ref: versions[0][0] },
      ExecuteOnHandlerChange: true,
    });
    const dependsOn = (trigger as { DependsOn?: string[] }).DependsOn ?? [];
    // The daily and backfill workflows (the Verify workflow needs no migration first).
    const machines = resourcesOfType(withBackfill.json, 'AWS::StepFunctions::StateMachine')
      .map(([id]) => id)
      .filter((id) => !id.startsWith('Verify'));
    const clusters = resourcesOfType(withBackfill.json, 'AWS::RDS::DBCluster').map(([id]) => id);
    expect(machines).toHaveLength(2);
    for (const id of [...machines, ...clusters]) expect(dependsOn).toContain(id);
  });

  it('starts the backfill under a name derived from the deployment, and may only start that machine', () => {
    const [logicalId, properties] = afterDeployFunction(withBackfill);
    expect(properties).toMatchObject({
      Environment: {
        Variables: {
          HINDSIGHT_AUTO_BACKFILL: 'true',
          HINDSIGHT_DEPLOYMENT_ID: expect.stringMatching(/^[0-9a-f]{16}$/),
          BACKFILL_STATE_MACHINE_ARN: { Ref: expect.stringMatching(/^Backfill/) },
        },
      },
    });
    const actions = actionsOf(withBackfill, logicalId);
    expect(actions).toContain('states:StartExecution');
    expect(actions.filter((action) => action.startsWith('states:'))).toEqual(['states:StartExecution']);
    expect(
      actions.some((action) => action.startsWith('dynamodb:Put') || action.startsWith('dynamodb:Delete')),
    ).toBe(false);
    withBackfill.template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 'states:StartExecution',
            Resource: { Ref: Match.stringLikeRegexp('^Backfill') },
          }),
        ]),
      },
    });
  });

  it('gives the same deployment id for the same content, so a retried deploy starts no second backfill', () => {
    const again = synthesize();
    const id = (fn: Record<string, unknown>) =>
      (fn.Environment as { Variables: Record<string, unknown> }).Variables.HINDSIGHT_DEPLOYMENT_ID;
    expect(id(afterDeployFunction(again)[1])).toBe(id(afterDeployFunction(withBackfill)[1]));
  });

  it('plans with hindsight:maxBackfillDays, as the plan function does, and Resolve Date bounds the daily date with it', () => {
    const configured = synthesize({ context: { 'hindsight:maxBackfillDays': 730 } });
    const variables = (handler: string) =>
      resourcesOfType(configured.json, 'AWS::Lambda::Function')
        .filter(
          ([, fn]) => (fn.Metadata as Record<string, unknown> | undefined)?.['hindsight:handler'] === handler,
        )
        .map(
          ([, fn]) =>
            (fn.Properties as { Environment: { Variables: Record<string, unknown> } }).Environment.Variables,
        );
    for (const handler of ['after-deploy', 'plan', 'resolve-date']) {
      expect(variables(handler)).toEqual([expect.objectContaining({ HINDSIGHT_MAX_BACKFILL_DAYS: '730' })]);
    }
  });

  it('cannot start executions when hindsight:autoBackfill is false', () => {
    const [logicalId, properties] = afterDeployFunction(withoutBackfill);
    expect(properties).toMatchObject({ Environment: { Variables: { HINDSIGHT_AUTO_BACKFILL: 'false' } } });
    expect(actionsOf(withoutBackfill, logicalId).some((action) => action.startsWith('states:'))).toBe(false);
  });
});
