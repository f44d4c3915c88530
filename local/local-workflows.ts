import { randomBytes } from 'node:crypto';
import { HindsightError } from '../lambdas/engine/errors';
import { HANDLERS, type HandlerName } from '../lambdas/workflow/handlers';
import { handleLease } from '../lambdas/workflow/lease-steps';
import type { StepDependencies } from '../lambdas/workflow/steps';
import { FAKE_ENVIRONMENT } from '../lib/fake-environment';
import type { WorkflowKind } from '../lib/state-machine';
import type { JsonValue, WorkflowDefinitions } from '../lib/workflow-definitions';
import type { LocalServices } from './local-services';
import { type LocalStateMachine, loadStepFunctionsRunner } from './step-functions-runner';

/** How an execution ended, as the Step Functions console would show it. */
export type ExecutionOutcome =
  | { readonly status: 'SUCCEEDED'; readonly output: unknown }
  | { readonly status: 'FAILED'; readonly error: string; readonly cause: string }
  | { readonly status: 'ABORTED' };

export interface LocalExecution {
  readonly executionId: string;
  readonly kind: WorkflowKind;
  /** Resolves (never rejects) when the execution has ended and its lease is released if it held one. */
  readonly done: Promise<ExecutionOutcome>;
  /** Stops the execution like "Stop execution" in the console: no Catch runs. */
  abort(): void;
}

/** A Task state about to run, for progress displays. */
export interface TaskEvent {
  readonly executionId: string;
  readonly state: string;
  readonly input: unknown;
}

export interface LocalWorkflowOptions {
  /**
   * Pause before each Retry and each Wait state, in ms. AWS waits a minute between lease
   * attempts; a laptop need not.
   * @default 500
   */
  readonly pauseMs?: number;
  readonly onTask?: (event: TaskEvent) => void;
  /** Awaited before each Task's step runs (after `onTask`): e.g. publishing what the last one committed. */
  readonly beforeTask?: (event: TaskEvent) => Promise<void>;
}

/** A Task step has run after its execution ended: a Map item queued behind a failed one. */
export class ExecutionEndedError extends HindsightError {}

type Step = (deps: StepDependencies, input: unknown) => Promise<unknown> | unknown;

/**
 * Runs the synthesized state machines in-process with aws-local-stepfunctions, each Task state
 * bound by name to the same step code its Lambda runs. This is not a second implementation of
 * the workflows: the definitions are the ones `cdk deploy` deploys.
 */
export class LocalWorkflows {
  private readonly machines: Record<WorkflowKind, LocalStateMachine>;

  private constructor(
    private readonly services: LocalServices,
    private readonly definitions: WorkflowDefinitions,
    private readonly options: LocalWorkflowOptions,
    machines: Record<WorkflowKind, LocalStateMachine>,
  ) {
    this.machines = machines;
  }

  static async create(
    services: LocalServices,
    definitions: WorkflowDefinitions,
    options: LocalWorkflowOptions = {},
  ): Promise<LocalWorkflows> {
    const build = await loadStepFunctionsRunner();
    const machines = {
      daily: build(definitions.daily.definition),
      backfill: build(definitions.backfill.definition),
    };
    return new LocalWorkflows(services, definitions, options, machines);
  }

  /** Starts an execution of the daily or backfill workflow with `input`, as StartExecution would. */
  start(
    kind: WorkflowKind,
    input: JsonValue,
    name = `local-${Date.now()}-${randomBytes(3).toString('hex')}`,
  ): LocalExecution {
    const { partition, region, account } = FAKE_ENVIRONMENT;
    const machineName = kind === 'daily' ? 'HindsightDaily' : 'HindsightBackfill';
    const stateMachineArn = `arn:${partition}:states:${region}:${account}:stateMachine:${machineName}`;
    const executionId = `arn:${partition}:states:${region}:${account}:execution:${machineName}:${name}`;
    const { running } = this.services;
    running.add(executionId);

    const execution = this.machines[kind].run(input, {
      overrides: this.overrides(kind, executionId),
      context: {
        Execution: { Id: executionId, Name: name, StartTime: new Date().toISOString() },
        StateMachine: { Id: stateMachineArn, Name: machineName },
      },
    });
    const done = execution.result
      .then(
        (output): ExecutionOutcome => ({ status: 'SUCCEEDED', output }),
        (error: unknown): ExecutionOutcome => outcomeOf(error),
      )
      .then(async (outcome) => {
        running.delete(executionId);
        if (outcome.status !== 'SUCCEEDED') {
          // The local twin of the EventBridge status-change rule: a stopped or failed execution
          // gives back any lease it still holds.
          await handleLease(this.services.deps, {
            detail: { executionArn: executionId, status: outcome.status, stateMachineArn },
          });
        }
        return outcome;
      });
    return { executionId, kind, done, abort: () => execution.abort() };
  }

  private overrides(kind: WorkflowKind, executionId: string) {
    const pause = this.options.pauseMs ?? 500;
    const taskResourceLocalHandlers: Record<string, (input: JsonValue) => Promise<JsonValue>> = {};
    const retryIntervalOverrides: Record<string, number> = {};
    const waitTimeOverrides: Record<string, number> = {};
    for (const [name, binding] of Object.entries(this.definitions[kind].tasks)) {
      const step = stepFor(binding.handler, binding.stage);
      taskResourceLocalHandlers[name] = async (input) => {
        if (!this.services.running.has(executionId)) {
          throw new ExecutionEndedError(`Execution ${executionId} has ended; "${name}" does not run.`);
        }
        const event = { executionId, state: name, input };
        this.options.onTask?.(event);
        await this.options.beforeTask?.(event);
        const output = await step(this.services.deps, input);
        // What crosses a state boundary is JSON, in AWS and here.
        return JSON.parse(JSON.stringify(output ?? null)) as JsonValue;
      };
      retryIntervalOverrides[name] = pause;
    }
    for (const [name, state] of allStateEntries(this.definitions[kind].definition)) {
      if (state.Type === 'Wait') waitTimeOverrides[name] = pause;
    }
    return { taskResourceLocalHandlers, retryIntervalOverrides, waitTimeOverrides };
  }
}

function stepFor(handler: HandlerName, stage: string | undefined): Step {
  const { step } = HANDLERS[handler];
  if (step === null) throw new Error(`Handler "${handler}" runs behind no Task state.`);
  return (deps, input) => step(deps, input, stage);
}

function allStateEntries(definition: {
  States: Record<string, JsonValue>;
}): Array<[string, { Type?: JsonValue }]> {
  const entries: Array<[string, { Type?: JsonValue }]> = [];
  for (const [name, state] of Object.entries(definition.States)) {
    if (state === null || typeof state !== 'object' || Array.isArray(state)) continue;
    entries.push([name, state]);
    const processor = state.ItemProcessor ?? state.Iterator;
    if (processor && typeof processor === 'object' && !Array.isArray(processor) && 'States' in processor) {
      const states = processor.States;
      if (states && typeof states === 'object' && !Array.isArray(states))
        entries.push(...allStateEntries({ States: states }));
    }
  }
  return entries;
}

function outcomeOf(error: unknown): ExecutionOutcome {
  if (error instanceof Error && error.name === 'ExecutionAbortedError') return { status: 'ABORTED' };
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  if (cause instanceof Error) return { status: 'FAILED', error: cause.name, cause: cause.message };
  return { status: 'FAILED', error: 'Error', cause: String(cause) };
}
