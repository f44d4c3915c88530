import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { FAKE_ENVIRONMENT } from './fake-environment';
import { HANDLER_METADATA_KEY, HANDLER_NAMES, type HandlerName, STAGE_METADATA_KEY } from './functions';
import { HindsightStack } from './hindsight-stack';
import { type PipelineModule, type PipelineSource, packageRootOf } from './project';
import { type StateMachineKind, WORKFLOW_METADATA_KEY, type WorkflowKind } from './state-machine';

/**
 * The state machine definitions exactly as deployed, as plain Amazon States Language objects,
 * for the local runtime to execute with aws-local-stepfunctions. CloudFormation tokens are
 * resolved to fake but valid values: partition `aws`, region `us-east-1`, account
 * `123456789012`, and each Lambda to `arn:aws:lambda:us-east-1:123456789012:function:<logicalId>`.
 */

/** A JSON value, as found in a state machine definition. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
/** A JSON object. */
export type JsonObject = { [key: string]: JsonValue };

/** One state of an ASL definition (`Type` plus its fields). */
export interface AslState extends JsonObject {
  Type: string;
}

/** An Amazon States Language state machine definition. */
export interface AslDefinition extends JsonObject {
  StartAt: string;
  States: { [name: string]: AslState };
}

/** The Lambda behind a Task state, for binding the Task to handler code. */
export interface TaskBinding {
  /** The handler file in `lambdas/handlers/` (each exports `handler`). */
  readonly handler: HandlerName;
  /** For `stage` handlers: the stage, i.e. the function's `HINDSIGHT_STAGE`. */
  readonly stage?: string;
  /** The function's CloudFormation logical id. */
  readonly logicalId: string;
  /** The fake ARN the Task's `Resource` resolved to. */
  readonly functionArn: string;
}

/** One workflow: its definition, and the Lambda behind each Task state, by state name. */
export interface WorkflowDefinition {
  readonly definition: AslDefinition;
  /** Every Task state of the definition (Map item processors included), by state name. */
  readonly tasks: Readonly<Record<string, TaskBinding>>;
}

/** Both workflows of a synthesized Hindsight stack. */
export type WorkflowDefinitions = Readonly<Record<WorkflowKind, WorkflowDefinition>>;

export { FAKE_ENVIRONMENT } from './fake-environment';

/** The fake ARN a Lambda function resolves to in the definitions. */
export function fakeFunctionArn(logicalId: string): string {
  const { partition, region, account } = FAKE_ENVIRONMENT;
  return `arn:${partition}:lambda:${region}:${account}:function:${logicalId}`;
}

/** A synthesized CloudFormation template, as far as this module reads it. */
export interface CfnTemplate {
  readonly Resources?: Readonly<Record<string, CfnTemplateResource>>;
}
export interface CfnTemplateResource {
  readonly Type: string;
  readonly Properties?: Readonly<Record<string, unknown>>;
  readonly Metadata?: Readonly<Record<string, unknown>>;
}

export interface SynthesizeOptions {
  /** Where the pipeline's module and migrations are. */
  readonly source: PipelineSource;
  /**
   * The module's exports.
   * @default - `source.entry` is loaded
   */
  readonly pipeline?: PipelineModule;
  /**
   * Extra CDK context (e.g. `hindsight:leaseWaitMinutes`).
   * @default - the defaults of `cdk.json`
   */
  readonly context?: Readonly<Record<string, unknown>>;
}

/**
 * Builds the Hindsight stack in memory (no bundling, no AWS account) and returns its two
 * workflows. This is what the local runtime runs, so it runs what `cdk deploy` deploys.
 */
export function synthesizeWorkflowDefinitions(options: SynthesizeOptions): WorkflowDefinitions {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [], ...options.context } });
  const stack = new HindsightStack(app, 'Hindsight', {
    source: options.source,
    // Nothing is bundled here, so any npm project holding Hindsight will do: the one it sits in.
    projectRoot: packageRootOf(join(__dirname, '..')) ?? join(__dirname, '..'),
    ...(options.pipeline ? { pipeline: options.pipeline } : {}),
  });
  const template: unknown = app.synth().getStackByName(stack.stackName).template;
  if (!isObject(template)) throw new Error('The synthesized template is not a JSON object.');
  return workflowDefinitionsFromTemplate(template);
}

/** Extracts both workflows from a synthesized template (e.g. `cdk.out/Hindsight.template.json`). */
export function workflowDefinitionsFromTemplate(template: CfnTemplate): WorkflowDefinitions {
  const resources = template.Resources ?? {};
  const found: Partial<Record<WorkflowKind, WorkflowDefinition>> = {};
  for (const [logicalId, resource] of Object.entries(resources)) {
    if (resource.Type !== 'AWS::StepFunctions::StateMachine') continue;
    const kind = resource.Metadata?.[WORKFLOW_METADATA_KEY];
    if (kind !== 'daily' && kind !== 'backfill') continue;
    if (found[kind]) throw new Error(`The template holds two ${kind} state machines.`);
    const text = resolveToString(
      resource.Properties?.DefinitionString,
      resources,
      `${logicalId}.DefinitionString`,
    );
    const definition: unknown = JSON.parse(text);
    if (!isAslDefinition(definition))
      throw new Error(`The definition of ${logicalId} has no StartAt and States.`);
    found[kind] = { definition, tasks: bindTasks(definition, resources, logicalId) };
  }
  const { daily, backfill } = found;
  if (!daily || !backfill) {
    throw new Error(
      `The template must hold a daily and a backfill state machine (metadata "${WORKFLOW_METADATA_KEY}"); ` +
        `found ${Object.keys(found).join(', ') || 'none'}.`,
    );
  }
  return { daily, backfill };
}

/**
 * One state machine of a synthesized template by its kind (e.g. the optional `verify` workflow),
 * resolved and bound like the two workflows; undefined when the template has none.
 */
export function stateMachineFromTemplate(
  template: CfnTemplate,
  kind: StateMachineKind,
): WorkflowDefinition | undefined {
  const resources = template.Resources ?? {};
  for (const [logicalId, resource] of Object.entries(resources)) {
    if (resource.Type !== 'AWS::StepFunctions::StateMachine') continue;
    if (resource.Metadata?.[WORKFLOW_METADATA_KEY] !== kind) continue;
    const text = resolveToString(
      resource.Properties?.DefinitionString,
      resources,
      `${logicalId}.DefinitionString`,
    );
    const definition: unknown = JSON.parse(text);
    if (!isAslDefinition(definition))
      throw new Error(`The definition of ${logicalId} has no StartAt and States.`);
    return { definition, tasks: bindTasks(definition, resources, logicalId) };
  }
  return undefined;
}

/** Every state of `definition`, nested ones (Map item processors, Parallel branches) included. */
export function allStates(definition: Pick<AslDefinition, 'States'>): Array<[string, AslState]> {
  const states: Array<[string, AslState]> = [];
  for (const [name, state] of Object.entries(definition.States)) {
    states.push([name, state]);
    const nested = [
      state.ItemProcessor,
      state.Iterator,
      ...(Array.isArray(state.Branches) ? state.Branches : []),
    ];
    for (const machine of nested) {
      if (isAslDefinition(machine)) states.push(...allStates(machine));
    }
  }
  return states;
}

function bindTasks(
  definition: AslDefinition,
  resources: Readonly<Record<string, CfnTemplateResource>>,
  machine: string,
): Record<string, TaskBinding> {
  const tasks: Record<string, TaskBinding> = {};
  for (const [name, state] of allStates(definition)) {
    if (state.Type !== 'Task') continue;
    const parameters = state.Parameters;
    const functionArn =
      state.Resource === 'arn:aws:states:::lambda:invoke' && isObject(parameters)
        ? parameters.FunctionName
        : state.Resource;
    const logicalId = typeof functionArn === 'string' ? logicalIdOfFakeArn(functionArn) : undefined;
    const resource = logicalId === undefined ? undefined : resources[logicalId];
    if (
      typeof functionArn !== 'string' ||
      logicalId === undefined ||
      resource?.Type !== 'AWS::Lambda::Function'
    ) {
      throw new Error(`Task "${name}" of ${machine} does not invoke a Lambda function of this template.`);
    }
    const handler = resource.Metadata?.[HANDLER_METADATA_KEY];
    const stage = resource.Metadata?.[STAGE_METADATA_KEY];
    if (!isHandlerName(handler)) {
      throw new Error(`Function ${logicalId} (Task "${name}") has no "${HANDLER_METADATA_KEY}" metadata.`);
    }
    tasks[name] = { handler, ...(typeof stage === 'string' ? { stage } : {}), logicalId, functionArn };
  }
  return tasks;
}

function logicalIdOfFakeArn(arn: string): string | undefined {
  const prefix = fakeFunctionArn('');
  return arn.startsWith(prefix) ? arn.slice(prefix.length) : undefined;
}

/** Resolves the intrinsics CDK puts in a DefinitionString: Fn::Join, pseudo parameters, Lambda ARNs. */
function resolveToString(
  value: unknown,
  resources: Readonly<Record<string, CfnTemplateResource>>,
  where: string,
): string {
  if (typeof value === 'string') return value;
  if (isObject(value)) {
    const join = value['Fn::Join'];
    if (Array.isArray(join) && typeof join[0] === 'string' && Array.isArray(join[1])) {
      const separator = join[0];
      return join[1].map((part, i) => resolveToString(part, resources, `${where}[${i}]`)).join(separator);
    }
    const ref = value.Ref;
    if (typeof ref === 'string') {
      if (ref === 'AWS::Partition') return FAKE_ENVIRONMENT.partition;
      if (ref === 'AWS::Region') return FAKE_ENVIRONMENT.region;
      if (ref === 'AWS::AccountId') return FAKE_ENVIRONMENT.account;
      if (ref === 'AWS::URLSuffix') return 'amazonaws.com';
      if (resources[ref]?.Type === 'AWS::Lambda::Function') return ref;
    }
    const getAtt = value['Fn::GetAtt'];
    if (Array.isArray(getAtt) && typeof getAtt[0] === 'string' && getAtt[1] === 'Arn') {
      if (resources[getAtt[0]]?.Type === 'AWS::Lambda::Function') return fakeFunctionArn(getAtt[0]);
    }
  }
  throw new Error(
    `Cannot resolve ${JSON.stringify(value)} at ${where}: only Fn::Join, the partition, region and account, ` +
      'and Lambda function ARNs are expected in a Hindsight state machine definition.',
  );
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isAslDefinition(value: unknown): value is AslDefinition {
  return isObject(value) && typeof value.StartAt === 'string' && isObject(value.States);
}

function isHandlerName(value: unknown): value is HandlerName {
  return HANDLER_NAMES.some((name) => name === value);
}
