/**
 * The workflows of a graph pipeline (the shop example: two sources that branch and join), checked
 * on the synthesized stack: one Task per stage, no path that runs a stage before what it reads,
 * exactly the planned set on the backfill's path for a date, growth by one stage, and cdk-nag.
 */
import { App, Aspects } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks, WriteNagSuppressionsToCloudFormationAspect } from 'cdk-nag';
import { pipeline as shop } from '../../examples/shop';
import { definePipeline, type Pipeline } from '../../lambdas/engine/pipeline';
import { defineStage } from '../../lambdas/engine/stage';
import { BACKFILL_STATES } from '../../lib/backfill-workflow';
import { DAILY_STATES } from '../../lib/daily-workflow';
import { STAGE_METADATA_KEY } from '../../lib/functions';
import { HindsightStack } from '../../lib/hindsight-stack';
import {
  type AslDefinition,
  type AslState,
  allStates,
  type CfnTemplate,
  type JsonValue,
  type WorkflowDefinition,
  type WorkflowDefinitions,
  workflowDefinitionsFromTemplate,
} from '../../lib/workflow-definitions';
import { runStateName } from '../../lib/workflow-states';
import { SHOP } from '../support/fixture-pipelines';

interface ShopStack {
  readonly pipeline: Pipeline;
  readonly app: App;
  readonly json: CfnTemplate;
  readonly definitions: WorkflowDefinitions;
  /** The backfill's per-date child workflow (the "Backfill Each Date" item processor). */
  readonly dateProcessor: AslDefinition;
}

/**
 * The stack for the shop example, as `bin/app.ts` builds it with `hindsight:pipeline` set to
 * examples/shop, bundling skipped and cdk-nag acknowledgments written into the template. With
 * `pipeline`, that stage list replaces the module's (its migrations stay the shop's).
 */
function synthesizeShop(pipeline?: Pipeline): ShopStack {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new HindsightStack(app, 'Hindsight', {
    source: SHOP,
    ...(pipeline ? { pipeline: { pipeline, transitions: [] } } : {}),
  });
  Aspects.of(app).add(new WriteNagSuppressionsToCloudFormationAspect());
  const json: CfnTemplate = Template.fromStack(stack).toJSON();
  const definitions = workflowDefinitionsFromTemplate(json);
  return {
    pipeline: pipeline ?? shop,
    app,
    json,
    definitions,
    dateProcessor: itemProcessorOf(
      stateOf(definitions.backfill.definition, BACKFILL_STATES.backfillEachDate),
    ),
  };
}

/** The shop's stages plus `basket_size`, which reads two of them (a second join), appended. */
function shopWithBasketSize(): Pipeline {
  return definePipeline([
    ...shop.stages,
    defineStage({
      name: 'basket_size',
      version: 1,
      inputs: ['sessions', 'orders'],
      owns: [],
      description: 'Average basket of the visitors who had a session and ordered that day.',
      run: async () => 0,
    }),
  ]);
}

function isObject(value: unknown): value is { [key: string]: JsonValue } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stateOf(definition: Pick<AslDefinition, 'States'>, name: string): AslState {
  const state = definition.States[name];
  if (!state) throw new Error(`No state "${name}"; states are ${Object.keys(definition.States).join(', ')}.`);
  return state;
}

function itemProcessorOf(map: AslState): AslDefinition {
  const processor = map.ItemProcessor;
  if (!isObject(processor) || typeof processor.StartAt !== 'string' || !isObject(processor.States)) {
    throw new Error('The Map state has no ItemProcessor with StartAt and States.');
  }
  const states: Record<string, AslState> = {};
  for (const [name, state] of Object.entries(processor.States)) {
    if (!isObject(state) || typeof state.Type !== 'string') throw new Error(`Not a state: ${name}`);
    states[name] = { ...state, Type: state.Type };
  }
  return { StartAt: processor.StartAt, States: states };
}

/** A Choice's rules, each as the variable it reads, the boolean it compares with, and its target. */
function rulesOf(choice: AslState): Array<{ variable: string; booleanEquals: boolean; next: string }> {
  const rules = Array.isArray(choice.Choices) ? choice.Choices : [];
  return rules.map((rule) => {
    const keys = isObject(rule) ? Object.keys(rule).sort() : [];
    if (
      !isObject(rule) ||
      keys.join() !== 'BooleanEquals,Next,Variable' ||
      typeof rule.Variable !== 'string' ||
      typeof rule.BooleanEquals !== 'boolean' ||
      typeof rule.Next !== 'string'
    ) {
      throw new Error(`Not a "Variable BooleanEquals" rule: ${JSON.stringify(rule)}`);
    }
    return { variable: rule.Variable, booleanEquals: rule.BooleanEquals, next: rule.Next };
  });
}

/** Where a state can go: Next, a Choice's rule targets and Default, and its Catch targets. */
function successorsOf(state: AslState): string[] {
  const targets: unknown[] = [state.Next, state.Default];
  if (state.Type === 'Choice') targets.push(...rulesOf(state).map((rule) => rule.next));
  for (const clause of Array.isArray(state.Catch) ? state.Catch : []) {
    targets.push(isObject(clause) ? clause.Next : undefined);
  }
  return [...new Set(targets.filter((target): target is string => typeof target === 'string'))];
}

/**
 * Every path through a definition, from StartAt to a state with nowhere to go: both outcomes of
 * every Choice (each rule's target and the Default), and every Catch. Throws on a cycle.
 */
function everyPath(definition: AslDefinition): string[][] {
  const paths: string[][] = [];
  const walk = (name: string, before: readonly string[]): void => {
    if (before.includes(name)) throw new Error(`A cycle: ${[...before, name].join(' → ')}`);
    const path = [...before, name];
    const next = successorsOf(stateOf(definition, name));
    if (next.length === 0) paths.push(path);
    for (const target of next) walk(target, path);
  };
  walk(definition.StartAt, []);
  return paths;
}

/** The value at a `$.a.b.c` path of a JSON input (undefined when absent). */
function valueAt(input: JsonValue, path: string): JsonValue | undefined {
  if (!path.startsWith('$.')) throw new Error(`Unsupported path ${path}`);
  let value: JsonValue | undefined = input;
  for (const key of path.slice(2).split('.')) value = isObject(value) ? value[key] : undefined;
  return value;
}

/**
 * The states one execution enters when every Task succeeds: Choices decided on `input` as Step
 * Functions would (first matching rule, else Default), until a state with no Next.
 */
function executedPath(definition: AslDefinition, input: JsonValue): string[] {
  const path: string[] = [];
  let name: string | undefined = definition.StartAt;
  while (name !== undefined) {
    if (path.includes(name)) throw new Error(`A cycle: ${[...path, name].join(' → ')}`);
    path.push(name);
    const state = stateOf(definition, name);
    if (state.Type === 'Choice') {
      const matched = rulesOf(state).find((rule) => valueAt(input, rule.variable) === rule.booleanEquals);
      const next = matched ? matched.next : state.Default;
      if (typeof next !== 'string') throw new Error(`Choice "${name}" matched nothing and has no Default`);
      name = next;
    } else {
      name = typeof state.Next === 'string' ? state.Next : undefined;
    }
  }
  return path;
}

/** The stages whose Tasks a path enters, in the order it enters them. */
function stagesOn(workflow: WorkflowDefinition, path: readonly string[]): string[] {
  return path.flatMap((name) => {
    const task = workflow.tasks[name];
    return task?.handler === 'stage' && task.stage !== undefined ? [task.stage] : [];
  });
}

/** Each stage on `order` that comes before one of its inputs, which is also on it. */
function inputsAfter(pipeline: Pipeline, order: readonly string[]): string[] {
  return order.flatMap((stage, i) =>
    pipeline
      .inputsOf(stage)
      .filter(({ stage: input }) => order.includes(input) && order.indexOf(input) > i)
      .map(({ stage: input }) => `${stage} before its input ${input} in ${order.join(' → ')}`),
  );
}

/** The names of a definition's Task states (nested ones included), sorted. */
function taskNames(definition: Pick<AslDefinition, 'States'>): string[] {
  return allStates(definition)
    .filter(([, state]) => state.Type === 'Task')
    .map(([name]) => name)
    .sort();
}

/** The Lambda functions of the template that run one stage, as the stage each runs. */
function stageFunctions(json: CfnTemplate): string[] {
  return Object.values(json.Resources ?? {})
    .filter((resource) => resource.Type === 'AWS::Lambda::Function')
    .flatMap((resource) => {
      const environment = resource.Properties?.Environment;
      const variables = isObject(environment) ? environment.Variables : undefined;
      const stage = isObject(variables) ? variables.HINDSIGHT_STAGE : undefined;
      if (stage === undefined) return [];
      expect(resource.Metadata?.[STAGE_METADATA_KEY]).toBe(stage);
      return [String(stage)];
    })
    .sort();
}

/** Every subset of the stages that holds whatever reads any of its members (a possible plan). */
function downstreamClosedSets(pipeline: Pipeline): string[][] {
  const sets: string[][] = [];
  for (let mask = 0; mask < 2 ** pipeline.names.length; mask++) {
    const set = pipeline.names.filter((_, i) => (mask >> i) & 1);
    if (pipeline.downstreamOf(set).join() === set.join()) sets.push(set);
  }
  return sets;
}

const NON_STAGE_DAILY_TASKS = [
  DAILY_STATES.resolveDate,
  DAILY_STATES.acquireLease,
  DAILY_STATES.checkEarlierDates,
  DAILY_STATES.releaseLease,
  DAILY_STATES.releaseAfterFailure,
];
const NON_STAGE_BACKFILL_TASKS = [
  BACKFILL_STATES.validateAndPlan,
  BACKFILL_STATES.acquireLease,
  BACKFILL_STATES.releaseLease,
  BACKFILL_STATES.releaseAfterFailure,
];

let shopStack: ShopStack;
let grownStack: ShopStack;

beforeAll(() => {
  shopStack = synthesizeShop();
  grownStack = synthesizeShop(shopWithBasketSize());
});

describe('The shop example', () => {
  it('is a graph of six stages, listed in an order where every stage follows its inputs', () => {
    expect(shop.isChain).toBe(false);
    expect(shop.names).toEqual([
      'web_events',
      'orders',
      'sessions',
      'daily_active_users',
      'revenue_by_country',
      'conversion',
    ]);
    expect(shop.inputsOf('conversion').map((input) => input.stage)).toEqual(['sessions', 'orders']);
  });
});

describe.each([
  ['the shop example', () => shopStack],
  ['the shop example with basket_size appended', () => grownStack],
])('Workflows of %s', (_, stack) => {
  it('have one stage Lambda function per stage, and one Task per stage in each workflow', () => {
    // Prepare
    const { pipeline, json, definitions, dateProcessor } = stack();
    const stageTasks = pipeline.names.map(runStateName);

    // Assess
    expect(stageFunctions(json)).toEqual([...pipeline.names].sort());
    expect(taskNames(definitions.daily.definition)).toEqual([...NON_STAGE_DAILY_TASKS, ...stageTasks].sort());
    expect(taskNames(dateProcessor)).toEqual([BACKFILL_STATES.prepareDate, ...stageTasks].sort());
    expect(taskNames(definitions.backfill.definition)).toEqual(
      [...NON_STAGE_BACKFILL_TASKS, BACKFILL_STATES.prepareDate, ...stageTasks].sort(),
    );
    // Each stage Task invokes its own stage's function, and no two share one.
    for (const workflow of [definitions.daily, definitions.backfill]) {
      const bound = pipeline.names.map((stage) => workflow.tasks[runStateName(stage)]);
      expect(bound.map((task) => `${task?.handler}:${task?.stage}`)).toEqual(
        pipeline.names.map((stage) => `stage:${stage}`),
      );
      expect(new Set(bound.map((task) => task?.logicalId)).size).toBe(pipeline.names.length);
    }
  });

  it('guard each stage in the backfill with one Choice on $.prepared.runs.<stage>, leading to its Task', () => {
    // Prepare
    const { pipeline, definitions, dateProcessor } = stack();
    const choices = allStates(definitions.backfill.definition).filter(([, state]) => state.Type === 'Choice');

    // Assess
    expect(choices.map(([name]) => name).sort()).toEqual(
      [
        BACKFILL_STATES.dryRun,
        BACKFILL_STATES.anythingToDo,
        ...pipeline.names.map((s) => `${runStateName(s)}?`),
      ].sort(),
    );
    for (const stage of pipeline.names) {
      expect(rulesOf(stateOf(dateProcessor, `${runStateName(stage)}?`))).toEqual([
        { variable: `$.prepared.runs.${stage}`, booleanEquals: true, next: runStateName(stage) },
      ]);
    }
    expect(allStates(definitions.daily.definition).filter(([, state]) => state.Type === 'Choice')).toEqual(
      [],
    );
  });

  it('never run a stage before its inputs on any path of the daily run, and every finished run ran every stage', () => {
    // Prepare
    const { pipeline, definitions } = stack();
    const daily = definitions.daily;

    // Act
    const paths = everyPath(daily.definition);
    const orders = paths.map((path) => stagesOn(daily, path));
    const finished = paths.filter((path) => path.at(-1) === DAILY_STATES.finish);

    // Assess
    expect(orders.flatMap((order) => inputsAfter(pipeline, order))).toEqual([]);
    expect(orders.filter((order) => new Set(order).size !== order.length)).toEqual([]);
    expect(finished.length).toBeGreaterThan(0);
    for (const path of finished) {
      const order = stagesOn(daily, path);
      expect([...order].sort()).toEqual([...pipeline.names].sort());
      expect(inputsAfter(pipeline, order)).toEqual([]);
    }
    // Paths that stop early are failures: a Catch into the release of the lease, then a Fail.
    for (const path of paths.filter((p) => p.at(-1) !== DAILY_STATES.finish)) {
      expect(stateOf(daily.definition, path.at(-1)!).Type).toBe('Fail');
    }
  });

  it("never run a stage before its inputs on any path of the backfill's date, whichever Choices it takes", () => {
    // Prepare
    const { pipeline, definitions, dateProcessor } = stack();
    const backfill = definitions.backfill;

    // Act
    const paths = everyPath(dateProcessor);
    const orders = paths.map((path) => stagesOn(backfill, path));
    const finished = paths.filter((path) => path.at(-1) === BACKFILL_STATES.finishDate);

    // Assess: an input may be absent (fresh, so not planned), never after the stage reading it.
    expect(orders.flatMap((order) => inputsAfter(pipeline, order))).toEqual([]);
    expect(orders.filter((order) => new Set(order).size !== order.length)).toEqual([]);
    // Both outcomes of every guard were explored: a finished path for every subset of the stages.
    const finishedSets = new Set(finished.map((path) => stagesOn(backfill, path).join()));
    expect(finished).toHaveLength(2 ** pipeline.names.length);
    expect(finishedSets.size).toBe(2 ** pipeline.names.length);
    for (const path of paths.filter((p) => p.at(-1) !== BACKFILL_STATES.finishDate)) {
      expect(path.at(-1)).toBe(BACKFILL_STATES.failDate);
    }
  });

  it("run exactly a date's planned set in the backfill, in pipeline order, for every set a plan can hold", () => {
    // Prepare
    const { pipeline, definitions, dateProcessor } = stack();
    const downstreamOfOne = pipeline.names.map((stage) => pipeline.downstreamOf([stage]));
    const closed = downstreamClosedSets(pipeline);
    expect(closed).toEqual(expect.arrayContaining(downstreamOfOne));

    for (const planned of closed) {
      // Act
      const runs = Object.fromEntries(pipeline.names.map((stage) => [stage, planned.includes(stage)]));
      const path = executedPath(dateProcessor, { prepared: { runs }, executionId: 'e', position: 0 });

      // Assess
      expect({ planned, ran: stagesOn(definitions.backfill, path) }).toEqual({ planned, ran: planned });
      expect(path[0]).toBe(BACKFILL_STATES.prepareDate);
      expect(path.at(-1)).toBe(BACKFILL_STATES.finishDate);
    }
  });
});

describe('Growing the shop example by a stage that reads two others (basket_size ← sessions, orders)', () => {
  const stateNames = (definition: AslDefinition) => new Set(allStates(definition).map(([name]) => name));
  const ofType = (definition: AslDefinition, type: string) =>
    allStates(definition).filter(([, state]) => state.Type === type).length;
  const added = (before: Set<string>, after: Set<string>) => [...after].filter((name) => !before.has(name));

  it('adds exactly one Lambda function, running basket_size', () => {
    const functions = (s: ShopStack) =>
      Object.values(s.json.Resources ?? {}).filter((resource) => resource.Type === 'AWS::Lambda::Function');
    expect(functions(grownStack).length - functions(shopStack).length).toBe(1);
    expect(added(new Set(stageFunctions(shopStack.json)), new Set(stageFunctions(grownStack.json)))).toEqual([
      'basket_size',
    ]);
  });

  it('adds exactly one Task per workflow, "Run Basket Size", and one Choice in the backfill, its guard', () => {
    for (const workflow of ['daily', 'backfill'] as const) {
      const before = shopStack.definitions[workflow].definition;
      const after = grownStack.definitions[workflow].definition;
      expect(ofType(after, 'Task') - ofType(before, 'Task')).toBe(1);
      expect(grownStack.definitions[workflow].tasks['Run Basket Size']).toMatchObject({
        handler: 'stage',
        stage: 'basket_size',
      });
    }
    const choices = (s: ShopStack) => ofType(s.definitions.backfill.definition, 'Choice');
    expect(choices(grownStack) - choices(shopStack)).toBe(1);
    expect(ofType(grownStack.definitions.daily.definition, 'Choice')).toBe(0);
  });

  it("renames nothing: the other states keep their names, and only the new stage's are added", () => {
    for (const [workflow, expected] of [
      ['daily', ['Run Basket Size']],
      ['backfill', ['Run Basket Size?', 'Run Basket Size']],
    ] as const) {
      const before = stateNames(shopStack.definitions[workflow].definition);
      const after = stateNames(grownStack.definitions[workflow].definition);
      expect([...before].filter((name) => !after.has(name))).toEqual([]);
      expect(added(before, after).sort()).toEqual([...expected].sort());
    }
  });

  it('runs it last: after conversion in the daily run, and behind its guard before Finish Date in the backfill', () => {
    const daily = grownStack.definitions.daily.definition;
    expect(stateOf(daily, 'Run Conversion').Next).toBe('Run Basket Size');
    expect(stateOf(daily, 'Run Basket Size').Next).toBe(DAILY_STATES.releaseLease);
    const processor = grownStack.dateProcessor;
    expect(stateOf(processor, 'Run Conversion?').Default).toBe('Run Basket Size?');
    expect(stateOf(processor, 'Run Conversion').Next).toBe('Run Basket Size?');
    expect(stateOf(processor, 'Run Basket Size?').Default).toBe(BACKFILL_STATES.finishDate);
    expect(stateOf(processor, 'Run Basket Size').Next).toBe(BACKFILL_STATES.finishDate);
  });
});

describe('cdk-nag: AwsSolutionsChecks on the shop example', () => {
  it('finds nothing unacknowledged', () => {
    // Act
    const report = new AwsSolutionsChecks().validateScope(shopStack.app);

    // Assess
    expect(report.violations.map((violation) => violation.ruleName)).toEqual([]);
    expect(report.success).toBe(true);
  });
});
