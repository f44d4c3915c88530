import { CfnResource, Duration, Stack } from 'aws-cdk-lib';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { CfnStateMachine, type StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { DEFAULT_LEASE_DURATION_MS, DEFAULT_RENEW_INTERVAL_MS } from '../lambdas/engine/lease';
import { HANDLER_METADATA_KEY, STAGE_METADATA_KEY } from './functions';
import { logicalIdOf } from './nag';
import { WORKFLOW_METADATA_KEY, type WorkflowKind } from './state-machine';
import {
  type AslDefinition,
  type AslState,
  type CfnTemplateResource,
  type JsonValue,
  type TaskBinding,
  type WorkflowDefinition,
  type WorkflowDefinitions,
  workflowDefinitionsFromTemplate,
} from './workflow-definitions';

/**
 * The lease's liveness, by construction: a healthy holder must never lose its lease to expiry.
 *
 * Every Task that runs under the lease renews it as the first thing its Lambda does ("renew
 * points": Acquire Lease, Check Earlier Dates, Prepare Date and every stage Task; see
 * `isRenewPoint`). A renewal extends the lease to `now + duration`, or leaves it when it was
 * extended less than the renew interval ago, so after a renewal the lease lasts at least
 * `duration - renew interval`. Until the next renewal there can be at most: the rest of that Task
 * attempt (its `TimeoutSeconds`), then either the wait before its next attempt (which renews
 * again) or every state up to the next renew point: Choices, Map iterations and Succeed take no
 * time, a Task that does not renew takes all its attempts and waits, a Wait state its seconds.
 * The margin covers what remains: state transitions, a cold start before the next renewal, clock
 * differences between Lambda hosts.
 *
 * `checkLeaseCoverage` walks every path of both synthesized workflows and fails when one of these
 * gaps plus the margin is longer than the lease is sure to last; `HindsightPipeline` runs it at
 * every synth, so a longer stage timeout, a new Task under the lease that does not renew it, or a
 * shorter lease cannot be deployed.
 */

/** What the coverage allows for besides the Tasks themselves: transitions, cold starts, clock skew. */
export const LEASE_MARGIN = Duration.minutes(2);

/** The lease as the deployed functions hold it: their `LeaseService` defaults. */
export const DEPLOYED_LEASE = {
  duration: Duration.millis(DEFAULT_LEASE_DURATION_MS),
  renewInterval: Duration.millis(DEFAULT_RENEW_INTERVAL_MS),
} as const;

/** Whether a Task's Lambda renews the lease before it works (it also must pass the holder and token, where optional). */
export function isRenewPoint(binding: TaskBinding, state: AslState): boolean {
  const parameters = isObject(state.Parameters) ? state.Parameters : undefined;
  const passes = (field: string) =>
    parameters !== undefined && (field in parameters || `${field}.$` in parameters);
  switch (binding.handler) {
    case 'lease':
      return parameters?.action === 'acquire';
    // Their input always names the holder and its token (Prepare Date: the Map item's).
    case 'stage':
    case 'prepare-date':
      return true;
    // It renews only when given both.
    case 'check-earlier-dates':
      return passes('executionId') && passes('token');
    default:
      return false;
  }
}

/** A lease Task with `action`: "acquire" starts holding, "release" ends it. */
function leaseAction(
  binding: TaskBinding | undefined,
  state: AslState,
  action: 'acquire' | 'release',
): boolean {
  return binding?.handler === 'lease' && isObject(state.Parameters) && state.Parameters.action === action;
}

/** The longest stretch without a renewal starting at one renew point. */
export interface RenewalGap {
  readonly workflow: WorkflowKind;
  /** The renew point, then the states up to the next renewal or the end of holding. */
  readonly path: readonly string[];
  readonly seconds: number;
}

export interface LeaseCoverage {
  /** What the lease is sure to last after a renewal: duration less the renew interval. */
  readonly coveredSeconds: number;
  readonly marginSeconds: number;
  /** The longest gap of each renew point, longest first. */
  readonly gaps: readonly RenewalGap[];
  /** The renew points, by workflow, in definition order. */
  readonly renewPoints: Readonly<Record<WorkflowKind, readonly string[]>>;
}

/** The renewal gaps of both workflows against a lease of `duration` renewed at most every `renewInterval`. */
export function leaseCoverage(
  definitions: WorkflowDefinitions,
  lease: { readonly duration: Duration; readonly renewInterval: Duration } = DEPLOYED_LEASE,
  margin: Duration = LEASE_MARGIN,
  renews: (binding: TaskBinding, state: AslState) => boolean = isRenewPoint,
): LeaseCoverage {
  const gaps: RenewalGap[] = [];
  const renewPoints = { daily: [] as string[], backfill: [] as string[] };
  for (const workflow of ['daily', 'backfill'] as const) {
    const graph = new StateGraph(definitions[workflow]);
    for (const node of graph.nodes.values()) {
      const renewing = node.renews(renews);
      if (renewing) renewPoints[workflow].push(node.name);
      // Holding starts at an acquire, whatever `renews` says of it.
      if (renewing || leaseAction(node.binding, node.state, 'acquire')) {
        gaps.push({ workflow, ...graph.longestGapFrom(node, renews) });
      }
    }
  }
  gaps.sort((a, b) => b.seconds - a.seconds);
  return {
    coveredSeconds: lease.duration.toSeconds() - lease.renewInterval.toSeconds(),
    marginSeconds: margin.toSeconds(),
    gaps,
    renewPoints,
  };
}

/** The gaps that the lease does not cover with the margin; empty when every holder keeps its lease. */
export function uncoveredGaps(coverage: LeaseCoverage): RenewalGap[] {
  return coverage.gaps.filter((gap) => gap.seconds + coverage.marginSeconds > coverage.coveredSeconds);
}

/** Throws, naming each path, when some stretch without a renewal outlasts the lease. */
export function checkLeaseCoverage(
  definitions: WorkflowDefinitions,
  ...rest: OptionalCoverageArgs
): LeaseCoverage {
  const coverage = leaseCoverage(definitions, ...rest);
  const problems = uncoveredGaps(coverage);
  if (problems.length > 0) throw new Error(describeUncovered(coverage, problems));
  return coverage;
}

type OptionalCoverageArgs = Parameters<typeof leaseCoverage> extends [unknown, ...infer Rest] ? Rest : never;

function describeUncovered(coverage: LeaseCoverage, problems: readonly RenewalGap[]): string {
  const minutes = (seconds: number) => `${(seconds / 60).toFixed(1)} min`;
  return [
    `The lease is sure to last ${minutes(coverage.coveredSeconds)} after a renewal (its duration less the renew ` +
      `interval), but a holder can go longer without renewing it (margin ${minutes(coverage.marginSeconds)} included), ` +
      'so a healthy run could lose its lease to a takeover:',
    ...problems.map(
      (gap) => `  ${gap.workflow}: ${gap.path.join(' → ')}: ${minutes(gap.seconds + coverage.marginSeconds)}`,
    ),
    'Make every Task under the lease renew it first (lib/lease-coverage.ts), shorten the Task timeouts or retries ' +
      'on these paths, or lengthen the lease (DEFAULT_LEASE_DURATION_MS).',
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------

interface Node {
  readonly key: string;
  readonly name: string;
  readonly state: AslState;
  readonly binding: TaskBinding | undefined;
  readonly next: string[];
  renews(renews: (binding: TaskBinding, state: AslState) => boolean): boolean;
}

/**
 * The states of a workflow, Map item processors included, with every way out of each: Next,
 * Choices and Default, Catch; a Map enters its processor (one item after another) or goes on;
 * a processor's end starts the next item or leaves the Map, its Fail goes to the Map's Catch.
 */
class StateGraph {
  readonly nodes = new Map<string, Node>();

  constructor(private readonly workflow: WorkflowDefinition) {
    this.add(workflow.definition, '', undefined);
  }

  /** The longest wait from `from`'s renewal to the next renewal or the end of holding, and its path. */
  longestGapFrom(
    from: Node,
    renews: (binding: TaskBinding, state: AslState) => boolean,
  ): { path: string[]; seconds: number } {
    const best = { path: [from.name], seconds: 0 };
    const walk = (key: string, path: string[], seconds: number, seen: Set<string>) => {
      const node = this.nodes.get(key);
      if (node === undefined || seen.has(key)) return;
      const ends = node.renews(renews) || leaseAction(node.binding, node.state, 'release');
      if (ends || node.next.length === 0) {
        if (seconds > best.seconds) {
          best.path = [...path, node.name];
          best.seconds = seconds;
        }
        if (ends) return;
      }
      const cost = worstCaseSeconds(node.state);
      for (const next of node.next) walk(next, [...path, node.name], seconds + cost, new Set([...seen, key]));
    };
    const start = attemptSeconds(from.state) + longestRetryWait(from.state);
    for (const next of from.next) walk(next, [from.name], start, new Set([from.key]));
    if (from.next.length === 0) best.seconds = start;
    return best;
  }

  private add(
    definition: Pick<AslDefinition, 'StartAt' | 'States'>,
    scope: string,
    map: { readonly afterMap: string[]; readonly onMapFailure: string[]; readonly start: string } | undefined,
  ): void {
    const key = (name: string) => `${scope}${name}`;
    for (const [name, state] of Object.entries(definition.States)) {
      const next: string[] = [];
      if (typeof state.Next === 'string') next.push(key(state.Next));
      if (Array.isArray(state.Choices)) {
        for (const choice of state.Choices)
          if (isObject(choice) && typeof choice.Next === 'string') next.push(key(choice.Next));
      }
      if (typeof state.Default === 'string') next.push(key(state.Default));
      if (Array.isArray(state.Catch)) {
        for (const clause of state.Catch)
          if (isObject(clause) && typeof clause.Next === 'string') next.push(key(clause.Next));
      }
      const ends = state.End === true || state.Type === 'Succeed';
      if (map !== undefined && ends) next.push(map.start, ...map.afterMap);
      // A Fail, or a Task's uncaught error, fails the item and with it the Map.
      if (map !== undefined && (state.Type === 'Fail' || state.Type === 'Task'))
        next.push(...map.onMapFailure);
      const processor = state.ItemProcessor ?? state.Iterator;
      if (state.Type === 'Map' && isAslDefinition(processor)) {
        const inner = `${key(name)}/`;
        next.push(`${inner}${processor.StartAt}`);
        this.add(processor, inner, {
          start: `${inner}${processor.StartAt}`,
          afterMap: next.filter((target) => !target.startsWith(inner)),
          onMapFailure: Array.isArray(state.Catch)
            ? state.Catch.flatMap((clause) =>
                isObject(clause) && typeof clause.Next === 'string' ? [key(clause.Next)] : [],
              )
            : [],
        });
      }
      const binding = state.Type === 'Task' ? this.workflow.tasks[name] : undefined;
      this.nodes.set(key(name), {
        key: key(name),
        name,
        state,
        binding,
        next,
        renews: (renews) => binding !== undefined && renews(binding, state),
      });
    }
  }
}

/** One attempt of a Task: its timeout (Step Functions' default is practically unbounded). */
function attemptSeconds(state: AslState): number {
  return typeof state.TimeoutSeconds === 'number' ? state.TimeoutSeconds : Number.POSITIVE_INFINITY;
}

interface Retrier {
  readonly maxAttempts: number;
  readonly waits: number[];
}

function retriersOf(state: AslState): Retrier[] {
  if (!Array.isArray(state.Retry)) return [];
  return state.Retry.filter(isObject).map((retry) => {
    const interval = numberOr(retry.IntervalSeconds, 1);
    const backoff = numberOr(retry.BackoffRate, 2);
    const maxAttempts = numberOr(retry.MaxAttempts, 3);
    const maxDelay = numberOr(retry.MaxDelaySeconds, Number.POSITIVE_INFINITY);
    const waits = Array.from({ length: maxAttempts }, (_, i) => Math.min(interval * backoff ** i, maxDelay));
    return { maxAttempts, waits };
  });
}

/** The longest single wait before a retry: a Task that renews does so again on its next attempt. */
function longestRetryWait(state: AslState): number {
  return Math.max(0, ...retriersOf(state).flatMap((retrier) => retrier.waits));
}

/** All a state can take when it does not renew: every attempt of a Task and every wait between them. */
function worstCaseSeconds(state: AslState): number {
  if (state.Type === 'Task') {
    const retriers = retriersOf(state);
    const attempts = 1 + retriers.reduce((sum, retrier) => sum + retrier.maxAttempts, 0);
    const waits = retriers.flatMap((retrier) => retrier.waits).reduce((sum, wait) => sum + wait, 0);
    return attempts * attemptSeconds(state) + waits;
  }
  if (state.Type === 'Wait')
    return typeof state.Seconds === 'number' ? state.Seconds : Number.POSITIVE_INFINITY;
  return 0;
}

// ---------------------------------------------------------------------------------------------

export interface LeaseCoverageSources {
  readonly daily: StateMachine;
  readonly backfill: StateMachine;
  /** Every function the workflows invoke. */
  readonly functions: readonly LambdaFunction[];
}

/**
 * The two workflows as deployed, read from the constructs during synthesis (their definitions
 * resolved as in the template), for `checkLeaseCoverage` to run as a construct validation.
 */
export function synthesizedWorkflows(sources: LeaseCoverageSources): WorkflowDefinitions {
  const resources: Record<string, CfnTemplateResource> = {};
  for (const fn of sources.functions) {
    const cfn = fn.node.defaultChild;
    if (!(cfn instanceof CfnResource)) continue;
    const stage: unknown = cfn.getMetadata(STAGE_METADATA_KEY);
    resources[logicalIdOf(fn)] = {
      Type: 'AWS::Lambda::Function',
      Metadata: {
        [HANDLER_METADATA_KEY]: cfn.getMetadata(HANDLER_METADATA_KEY),
        ...(typeof stage === 'string' ? { [STAGE_METADATA_KEY]: stage } : {}),
      },
    };
  }
  for (const [kind, machine] of [
    ['daily', sources.daily],
    ['backfill', sources.backfill],
  ] as const) {
    const cfn = machine.node.defaultChild;
    if (!(cfn instanceof CfnStateMachine)) throw new Error(`${machine.node.path} has no CfnStateMachine.`);
    const definitionString: JsonValue = Stack.of(machine).resolve(cfn.definitionString);
    resources[logicalIdOf(machine)] = {
      Type: 'AWS::StepFunctions::StateMachine',
      Properties: { DefinitionString: definitionString },
      Metadata: { [WORKFLOW_METADATA_KEY]: kind },
    };
  }
  return workflowDefinitionsFromTemplate({ Resources: resources });
}

function numberOr(value: JsonValue | undefined, fallback: number): number {
  return typeof value === 'number' ? value : fallback;
}

function isObject(value: JsonValue | undefined): value is { [key: string]: JsonValue } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isAslDefinition(value: JsonValue | undefined): value is AslDefinition {
  return isObject(value) && typeof value.StartAt === 'string' && isObject(value.States);
}
