/**
 * Section 6 — the cost model, read off the synthesized definitions: state transitions and Lambda
 * invocations of one daily run and of one backfilled date for each planned set of stages (for a
 * chain, each start stage and everything after it), the fixed
 * overhead of a backfill, and what that costs at the Step Functions Standard list price. The
 * lease renewals column counts the Tasks on the path that renew the lease before they work (issue
 * 15): each is a DynamoDB GetItem, plus a PutItem when the last extension is a minute old, inside
 * a Lambda the path calls anyway, so renewing adds no state transition and no Lambda call.
 */
import type { Pipeline } from '../lambdas/engine/pipeline';
import { isRenewPoint } from '../lib/lease-coverage';
import type {
  AslDefinition,
  AslState,
  JsonValue,
  WorkflowDefinition,
  WorkflowDefinitions,
} from '../lib/workflow-definitions';
import { formatTable, int, usd } from './table';

/** Step Functions Standard list price, per state transition ($0.025 per 1,000). */
export const PRICE_PER_TRANSITION = 0.025 / 1000;

/** What walking one execution along its success path found. */
export interface PathCount {
  readonly states: readonly string[];
  readonly transitions: number;
  readonly lambdaInvocations: number;
}

/** A path's count, its cost, and how many of its Tasks renew the lease (0 transitions each). */
export type CostedPath = PathCount & { readonly cost: number; readonly leaseRenewals: number };

export interface CostResult {
  readonly pricePerThousandTransitions: number;
  readonly daily: CostedPath;
  /** The backfill execution itself, without the per-date child executions. */
  readonly backfillFixed: CostedPath;
  readonly perDate: readonly (CostedPath & {
    /** The stages the date reruns: `startStage` and everything downstream of it. */
    readonly startStage: string;
    readonly stages: readonly string[];
    readonly cost: number;
    /** One backfill of 1,000 dates from this stage: the fixed overhead plus 1,000 child executions. */
    readonly costPer1000Dates: number;
    readonly transitionsPer1000Dates: number;
    readonly lambdaPer1000Dates: number;
  })[];
}

function isObject(value: JsonValue | undefined): value is { [key: string]: JsonValue } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isAsl(value: JsonValue | undefined): value is AslDefinition {
  return isObject(value) && typeof value.StartAt === 'string' && isObject(value.States);
}

/**
 * Follows `definition` from StartAt along the success path, counting one transition per state
 * entered (Task, Choice, Pass, Wait, Map, Succeed). A Choice "Run <Stage>?" (BooleanEquals true on
 * `….runs.<stage>`) takes its rule when `runs` holds the stage; any other Choice its Default (no
 * dry run, a non-empty plan). A Map counts once here; its item processor is walked apart (each
 * item is a child execution with its own transitions).
 */
export function walkSuccessPath(definition: AslDefinition, runs?: ReadonlySet<string>): PathCount {
  const states: string[] = [];
  let lambdaInvocations = 0;
  let name: string | undefined = definition.StartAt;
  while (name !== undefined) {
    const state: AslState | undefined = definition.States[name];
    if (state === undefined) throw new Error(`No state "${name}" in the definition.`);
    if (states.length > 500) throw new Error('The success path does not end.');
    states.push(name);
    if (state.Type === 'Task') lambdaInvocations++;
    if (state.Type === 'Succeed' || state.Type === 'Fail' || state.End === true) break;
    if (state.Type === 'Choice') {
      const rules: readonly JsonValue[] = Array.isArray(state.Choices) ? state.Choices : [];
      const match: JsonValue | undefined = rules.find(
        (rule) =>
          isObject(rule) &&
          rule.BooleanEquals === true &&
          typeof rule.Variable === 'string' &&
          runs?.has(rule.Variable.replace(/^.*\.runs\./, '')) === true,
      );
      const next: JsonValue | undefined = isObject(match) ? match.Next : state.Default;
      name = typeof next === 'string' ? next : undefined;
    } else {
      name = typeof state.Next === 'string' ? state.Next : undefined;
    }
  }
  return { states, transitions: states.length, lambdaInvocations };
}

/** The item processor of the backfill's Map state: one backfilled date. */
export function mapProcessor(definition: AslDefinition): AslDefinition {
  for (const state of Object.values(definition.States)) {
    if (state.Type !== 'Map') continue;
    const processor = state.ItemProcessor ?? state.Iterator;
    if (isAsl(processor)) return processor;
  }
  throw new Error('The backfill definition has no Map state with an item processor.');
}

/** The Tasks of `count`'s path that renew the lease first (see `lib/lease-coverage.ts`). */
function leaseRenewals(workflow: WorkflowDefinition, definition: AslDefinition, count: PathCount): number {
  return count.states.filter((name) => {
    const state = definition.States[name];
    const binding = workflow.tasks[name];
    return state?.Type === 'Task' && binding !== undefined && isRenewPoint(binding, state);
  }).length;
}

export function benchCost(definitions: WorkflowDefinitions, pipeline: Pipeline): CostResult {
  const costed = (workflow: WorkflowDefinition, definition: AslDefinition, count: PathCount): CostedPath => ({
    ...count,
    cost: count.transitions * PRICE_PER_TRANSITION,
    leaseRenewals: leaseRenewals(workflow, definition, count),
  });
  const { daily: dailyWorkflow, backfill: backfillWorkflow } = definitions;
  const daily = costed(dailyWorkflow, dailyWorkflow.definition, walkSuccessPath(dailyWorkflow.definition));
  const backfillFixed = costed(
    backfillWorkflow,
    backfillWorkflow.definition,
    walkSuccessPath(backfillWorkflow.definition),
  );
  const processor = mapProcessor(backfillWorkflow.definition);
  const perDate = pipeline.names.map((startStage) => {
    const stages = pipeline.downstreamOf([startStage]);
    const count = walkSuccessPath(processor, new Set(stages));
    const transitionsPer1000Dates = backfillFixed.transitions + 1000 * count.transitions;
    return {
      ...costed(backfillWorkflow, processor, count),
      startStage,
      stages,
      transitionsPer1000Dates,
      costPer1000Dates: transitionsPer1000Dates * PRICE_PER_TRANSITION,
      lambdaPer1000Dates: backfillFixed.lambdaInvocations + 1000 * count.lambdaInvocations,
    };
  });
  return { pricePerThousandTransitions: 0.025, daily, backfillFixed, perDate };
}

export function formatCost(result: CostResult): string {
  const rows = [
    [
      'daily run',
      '',
      String(result.daily.transitions),
      String(result.daily.lambdaInvocations),
      String(result.daily.leaseRenewals),
      usd(result.daily.cost),
      '',
      '',
    ],
    [
      'backfill, fixed part',
      '',
      String(result.backfillFixed.transitions),
      String(result.backfillFixed.lambdaInvocations),
      String(result.backfillFixed.leaseRenewals),
      usd(result.backfillFixed.cost),
      '',
      '',
    ],
    ...result.perDate.map((d) => [
      'backfilled date',
      d.startStage,
      String(d.transitions),
      String(d.lambdaInvocations),
      String(d.leaseRenewals),
      usd(d.cost),
      int(d.transitionsPer1000Dates),
      usd(d.costPer1000Dates),
    ]),
  ];
  const table = formatTable(
    `6. Cost model — success path of the synthesized definitions, Step Functions Standard $${result.pricePerThousandTransitions} per 1,000 transitions (no retries)`,
    [
      { header: 'unit', align: 'left' },
      { header: 'start stage', align: 'left' },
      { header: 'transitions' },
      { header: 'Lambda calls' },
      { header: 'lease renewals (+0 transitions)' },
      { header: 'cost' },
      { header: 'transitions / 1,000 dates' },
      { header: 'cost / 1,000 dates' },
    ],
    rows,
  );
  const paths = [
    `   daily path: ${result.daily.states.join(' → ')}`,
    `   backfill path: ${result.backfillFixed.states.join(' → ')}`,
    `   date path (${result.perDate[1]?.stages.join(', ')}): ${result.perDate[1]?.states.join(' → ')}`,
  ];
  return `${table}\n${paths.join('\n')}`;
}
