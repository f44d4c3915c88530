import {
  type CfnTemplate,
  fakeFunctionArn,
  synthesizeWorkflowDefinitions,
  type WorkflowDefinitions,
  workflowDefinitionsFromTemplate,
} from '../../lib/workflow-definitions';
import { runStateName } from '../../lib/workflow-states';
import { pipeline } from '../fixtures/pipelines/meters';
import { METERS } from '../support/fixture-pipelines';
import { synthesize } from './support';

let fromTemplate: WorkflowDefinitions;
let synthesized: WorkflowDefinitions;

beforeAll(() => {
  fromTemplate = synthesize().definitions;
  synthesized = synthesizeWorkflowDefinitions({ source: METERS });
});

describe('Function: synthesizeWorkflowDefinitions', () => {
  it('returns the definitions of the stack as synthesized, with no AWS account and no bundling', () => {
    expect(synthesized).toEqual(fromTemplate);
  });

  it('resolves every token: no intrinsic function is left, Lambdas get fake but valid ARNs', () => {
    const text = JSON.stringify(synthesized);
    expect(text).not.toMatch(/Fn::|"Ref"|\$\{Token/);
    expect(Object.values(synthesized.daily.tasks).map((task) => task.functionArn)).toEqual(
      Object.values(synthesized.daily.tasks).map((task) => fakeFunctionArn(task.logicalId)),
    );
    expect(fakeFunctionArn('Fn1')).toBe('arn:aws:lambda:us-east-1:123456789012:function:Fn1');
  });

  it('binds every Task state to its handler and, for stages, its stage', () => {
    const handlers = (definitions: WorkflowDefinitions, workflow: keyof WorkflowDefinitions) =>
      Object.fromEntries(
        Object.entries(definitions[workflow].tasks).map(([name, task]) => [
          name,
          task.stage ? `${task.handler}:${task.stage}` : task.handler,
        ]),
      );
    const stages = Object.fromEntries(pipeline.names.map((stage) => [runStateName(stage), `stage:${stage}`]));
    expect(handlers(synthesized, 'daily')).toEqual({
      'Resolve Date': 'resolve-date',
      'Acquire Lease': 'lease',
      'Check Earlier Dates': 'check-earlier-dates',
      ...stages,
      'Release Lease': 'lease',
      'Release Lease After Failure': 'lease',
    });
    expect(handlers(synthesized, 'backfill')).toEqual({
      'Validate And Plan': 'plan',
      'Acquire Lease': 'lease',
      'Prepare Date': 'prepare-date',
      ...stages,
      'Release Lease': 'lease',
      'Release Lease After Failure': 'lease',
    });
  });

  it('follows the context it is given', () => {
    const other = synthesizeWorkflowDefinitions({
      source: METERS,
      context: { 'hindsight:leaseWaitMinutes': 5 },
    });
    expect(other.backfill.definition.States['Acquire Lease']?.Retry).toContainEqual(
      expect.objectContaining({ ErrorEquals: ['LeaseHeldError'], MaxAttempts: 5 }),
    );
  });
});

describe('Function: workflowDefinitionsFromTemplate', () => {
  const machine = (kind: string, definitionString: unknown) => ({
    Type: 'AWS::StepFunctions::StateMachine',
    Metadata: { 'hindsight:workflow': kind },
    Properties: { DefinitionString: definitionString },
  });

  it('refuses a template without both workflows, saying what it found', () => {
    const template: CfnTemplate = {
      Resources: { Daily: machine('daily', '{"StartAt":"A","States":{"A":{"Type":"Succeed"}}}') },
    };
    expect(() => workflowDefinitionsFromTemplate(template)).toThrow(
      'The template must hold a daily and a backfill state machine (metadata "hindsight:workflow"); found daily.',
    );
  });

  it('refuses an intrinsic it does not know how to fake, naming it', () => {
    const template: CfnTemplate = {
      Resources: {
        Bucket: { Type: 'AWS::S3::Bucket' },
        Daily: machine('daily', { 'Fn::Join': ['', ['{"StartAt":"', { Ref: 'Bucket' }, '"}']] }),
      },
    };
    expect(() => workflowDefinitionsFromTemplate(template)).toThrow(
      'Cannot resolve {"Ref":"Bucket"} at Daily.DefinitionString[1]',
    );
  });

  it('refuses a Task that invokes no function of the template', () => {
    const definition =
      '{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::sqs:sendMessage","End":true}}}';
    const template: CfnTemplate = {
      Resources: { Daily: machine('daily', definition), Backfill: machine('backfill', definition) },
    };
    expect(() => workflowDefinitionsFromTemplate(template)).toThrow(
      'Task "A" of Daily does not invoke a Lambda function of this template.',
    );
  });
});
