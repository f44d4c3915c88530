import { App, Aspects } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { WriteNagSuppressionsToCloudFormationAspect } from 'cdk-nag';
import type { Pipeline } from '../../lambdas/engine/pipeline';
import { definePipeline } from '../../lambdas/engine/pipeline';
import { defineStage } from '../../lambdas/engine/stage';
import { HindsightStack } from '../../lib/hindsight-stack';
import {
  type AslDefinition,
  type AslState,
  type CfnTemplate,
  type WorkflowDefinitions,
  workflowDefinitionsFromTemplate,
} from '../../lib/workflow-definitions';
import { pipeline } from '../fixtures/pipelines/meters';
import { METERS } from '../support/fixture-pipelines';

/** Context that names an existing cluster instead of creating one. */
export const IMPORTED_CLUSTER_CONTEXT = {
  'hindsight:clusterArn': 'arn:aws:rds:eu-west-1:123456789012:cluster:orders-prod',
  'hindsight:secretArn': 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:orders-prod-AbCdEf',
  'hindsight:databaseName': 'orders',
};

export interface Synthesized {
  readonly app: App;
  readonly stack: HindsightStack;
  readonly template: Template;
  readonly json: CfnTemplate;
  readonly definitions: WorkflowDefinitions;
}

/**
 * Builds the stack as `bin/app.ts` does, with bundling skipped (`aws:cdk:bundling-stacks` = [])
 * so tests do not run esbuild nine times, and acknowledgments written into the template.
 */
export function synthesize(
  options: { pipeline?: Pipeline; context?: Record<string, unknown> } = {},
): Synthesized {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [], ...options.context } });
  const stack = new HindsightStack(app, 'Hindsight', {
    source: METERS,
    ...(options.pipeline ? { pipeline: { pipeline: options.pipeline, transitions: [] } } : {}),
  });
  Aspects.of(app).add(new WriteNagSuppressionsToCloudFormationAspect());
  const template = Template.fromStack(stack);
  const json: CfnTemplate = template.toJSON();
  return { app, stack, template, json, definitions: workflowDefinitionsFromTemplate(json) };
}

/** The meters fixture's stage list plus a sixth stage, `export_report`, after `report`. */
export function pipelineWithSixthStage(): Pipeline {
  return definePipeline([
    ...pipeline.stages,
    defineStage({
      name: 'export_report',
      version: 1,
      lookbackDays: 0,
      owns: ['exported_reports'],
      description: 'Exports the published report.',
      run: async () => 0,
    }),
  ]);
}

/** The resources of one type, by logical id. */
export function resourcesOfType(json: CfnTemplate, type: string): Array<[string, Record<string, unknown>]> {
  return Object.entries(json.Resources ?? {})
    .filter(([, resource]) => resource.Type === type)
    .map(([id, resource]) => [id, { ...resource }]);
}

/** States of one machine level (not nested), by name; throws on an unknown name. */
export function stateOf(definition: Pick<AslDefinition, 'States'>, name: string): AslState {
  const state = definition.States[name];
  if (!state) throw new Error(`No state "${name}"; states are ${Object.keys(definition.States).join(', ')}.`);
  return state;
}

/** The item processor of a Map state, as a definition. */
export function itemProcessorOf(map: AslState): AslDefinition {
  const processor = map.ItemProcessor;
  if (typeof processor !== 'object' || processor === null || Array.isArray(processor)) {
    throw new Error('The Map state has no ItemProcessor.');
  }
  const { StartAt, States } = processor;
  if (typeof StartAt !== 'string' || typeof States !== 'object' || States === null || Array.isArray(States)) {
    throw new Error('The ItemProcessor has no StartAt and States.');
  }
  return {
    StartAt,
    States: Object.fromEntries(Object.entries(States).map(([name, state]) => [name, asState(state)])),
  };
}

function asState(value: unknown): AslState {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || !('Type' in value)) {
    throw new Error(`Not a state: ${JSON.stringify(value)}`);
  }
  const type = value.Type;
  if (typeof type !== 'string') throw new Error(`Not a state: ${JSON.stringify(value)}`);
  return { ...Object.fromEntries(Object.entries(value)), Type: type };
}

/** The `Next` targets of a state's Catch clauses (with the errors each catches). */
export function catchesOf(state: AslState): Array<{ errors: string[]; resultPath: unknown; next: string }> {
  const catches = Array.isArray(state.Catch) ? state.Catch : [];
  return catches.map((clause) => {
    if (typeof clause !== 'object' || clause === null || Array.isArray(clause)) throw new Error('Bad Catch');
    const errors = Array.isArray(clause.ErrorEquals) ? clause.ErrorEquals.map(String) : [];
    return { errors, resultPath: clause.ResultPath, next: String(clause.Next) };
  });
}

/** The `Choices` of a Choice state, as variable, compared value and target. */
export function choicesOf(state: AslState): Array<{ variable: string; equals: unknown; next: string }> {
  const choices = Array.isArray(state.Choices) ? state.Choices : [];
  return choices.map((choice) => {
    if (typeof choice !== 'object' || choice === null || Array.isArray(choice)) throw new Error('Bad Choice');
    const equals = choice.StringEquals ?? choice.BooleanEquals ?? choice.NumericEquals;
    return { variable: String(choice.Variable), equals, next: String(choice.Next) };
  });
}

/** Every state reachable from `start` (itself included) through Next, Default, Choices and Catch. */
export function reachableFrom(definition: Pick<AslDefinition, 'States'>, start: string): Set<string> {
  const seen = new Set<string>();
  const queue = [start];
  while (queue.length > 0) {
    const name = queue.shift()!;
    if (seen.has(name)) continue;
    seen.add(name);
    const state = stateOf(definition, name);
    const next = [
      state.Next,
      state.Default,
      ...choicesOf(state).map((choice) => choice.next),
      ...catchesOf(state).map((clause) => clause.next),
    ];
    for (const target of next) if (typeof target === 'string') queue.push(target);
  }
  return seen;
}

/**
 * The states one execution enters on its happy path: from StartAt, following `Next`, and at a
 * Choice the branch `choose` picks, until a terminal state. Each one is a billed state transition.
 */
export function happyPath(
  definition: Pick<AslDefinition, 'StartAt' | 'States'>,
  choose: (choiceName: string, state: AslState) => string,
): string[] {
  const path: string[] = [];
  let name: string | undefined = definition.StartAt;
  while (name !== undefined) {
    if (path.length > 1000) throw new Error(`No terminal state after ${path.slice(-5).join(' → ')}`);
    path.push(name);
    const state = stateOf(definition, name);
    if (state.Type === 'Choice') name = choose(name, state);
    else name = typeof state.Next === 'string' ? state.Next : undefined;
  }
  return path;
}
