import { Duration } from 'aws-cdk-lib';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import {
  Choice,
  type Condition,
  Errors,
  Fail,
  type IChainable,
  JsonPath,
  type RetryProps,
  TaskInput,
  type TaskStateBase,
  Timeout,
} from 'aws-cdk-lib/aws-stepfunctions';
import { LambdaInvoke } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import type { Pipeline } from '../lambdas/engine/pipeline';
import type { LeaseKind, LeaseRequest, StageTaskInput } from '../lambdas/workflow/contracts';
import type { HindsightFunctions } from './functions';
import { pascalCase } from './functions';

/** Lambda service errors worth retrying: the invocation did not reach, or did not finish in, the handler. */
export const TRANSIENT_LAMBDA_ERRORS = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
];

/** Error names the workflows match (thrown by the handlers, see `lambdas/engine/errors.ts`). */
export const ERRORS = {
  leaseHeld: 'LeaseHeldError',
  leaseContended: 'LeaseContendedError',
  invalidInput: 'InvalidInputError',
  /** Raised by the workflow itself when acquire kept finding the lease held for the whole wait. */
  gaveUpWaitingForLease: 'GaveUpWaitingForLeaseError',
  /** The Aurora cluster was still resuming from 0 ACU after the Data API adapter's own attempts; nothing ran. */
  databaseStillResuming: 'DatabaseStillResumingError',
} as const;

/**
 * Retry of every Task on `DatabaseStillResumingError`. Aurora Serverless v2 paused at 0 ACU takes
 * about 15 s to resume, up to a minute under load; each attempt already waits about 25 s inside
 * the Data API adapter, so waits of 15, 30 and 60 s keep a Task trying for about 3.4 minutes in
 * all. Every Hindsight Task runs SQL (the lease Tasks move the fence), and every step is safe to
 * repeat: the error means the statement that met it did not run.
 */
export const DATABASE_RESUMING_RETRY: RetryProps = {
  errors: [ERRORS.databaseStillResuming],
  interval: Duration.seconds(15),
  backoffRate: 2,
  maxAttempts: 3,
};

/** Wait between two acquire attempts while the lease is held. */
export const LEASE_POLL_INTERVAL = Duration.minutes(1);

/** The state name of a stage's Task: `rolling` → `Run Rolling`. */
export function runStateName(stage: string): string {
  return `Run ${pascalCase(stage).replace(/([a-z0-9])([A-Z])/g, '$1 $2')}`;
}

/** Retry on a held lease, polling once a minute for `wait` in total, then let the Catch give up. */
export function leaseWaitRetry(wait: Duration): RetryProps {
  return {
    errors: [ERRORS.leaseHeld],
    interval: LEASE_POLL_INTERVAL,
    backoffRate: 1,
    maxAttempts: Math.max(1, Math.ceil(wait.toSeconds() / LEASE_POLL_INTERVAL.toSeconds())),
  };
}

export interface InvokeOptions {
  /** The payload; @default - the whole state input */
  readonly payload?: TaskInput;
  /**
   * Where the result goes; `$` replaces the state with it (written implicitly: aws-local-stepfunctions
   * mishandles an explicit `"$"`). @default JsonPath.DISCARD
   */
  readonly resultPath?: string;
  /** The fields of the result kept, before `resultPath`; @default - the whole result */
  readonly resultSelector?: Record<string, unknown>;
}

/**
 * A Task that invokes `fn` with the payload as the event and its result as the output
 * (`payloadResponseOnly`: the handler receives the payload itself, not `{FunctionName, Payload}`).
 * It retries transient Lambda errors and a cluster still resuming (`DATABASE_RESUMING_RETRY`),
 * and times out 30 s after the function would.
 */
export function invoke(
  scope: Construct,
  stateName: string,
  fn: LambdaFunction,
  options: InvokeOptions = {},
): LambdaInvoke {
  const functionTimeout = fn.timeout ?? Duration.seconds(3);
  const task = new LambdaInvoke(scope, stateName, {
    lambdaFunction: fn,
    payloadResponseOnly: true,
    retryOnServiceExceptions: false,
    ...(options.payload ? { payload: options.payload } : {}),
    ...(options.resultSelector ? { resultSelector: options.resultSelector } : {}),
    ...(options.resultPath === '$' ? {} : { resultPath: options.resultPath ?? JsonPath.DISCARD }),
    taskTimeout: Timeout.duration(functionTimeout.plus(Duration.seconds(30))),
  });
  task.addRetry({
    errors: TRANSIENT_LAMBDA_ERRORS,
    interval: Duration.seconds(2),
    maxAttempts: 6,
    backoffRate: 2,
  });
  task.addRetry(DATABASE_RESUMING_RETRY);
  return task;
}

/**
 * A Task under the lease whose Lambda renews it first: it also retries a renewal that lost the
 * race to other writers on every attempt (`LeaseContendedError`: nothing changed).
 */
export function renewsLease(task: LambdaInvoke): LambdaInvoke {
  task.addRetry({
    errors: [ERRORS.leaseContended],
    interval: Duration.seconds(1),
    maxAttempts: 5,
    backoffRate: 2,
  });
  return task;
}

/** The payload of a lease Task, typed by the contract: the holder is this execution, and no token. */
function leasePayload(action: 'acquire' | 'release', kind: LeaseKind): TaskInput {
  const request: Omit<Record<keyof LeaseRequest, string>, 'token'> = {
    action,
    kind,
    executionId: JsonPath.executionId,
  };
  return TaskInput.fromObject(request);
}

/** "Acquire Lease" → `$.lease`: retries a contended write at once, and a held lease for `wait`. */
export function acquireLease(
  scope: Construct,
  functions: HindsightFunctions,
  kind: LeaseKind,
  wait: Duration,
): LambdaInvoke {
  const task = invoke(scope, 'Acquire Lease', functions.lease, {
    payload: leasePayload('acquire', kind),
    resultPath: '$.lease',
  });
  task.addRetry({
    errors: [ERRORS.leaseContended],
    interval: Duration.seconds(1),
    maxAttempts: 5,
    backoffRate: 2,
  });
  task.addRetry(leaseWaitRetry(wait));
  return task;
}

/**
 * A release of whatever lease this execution holds, named by its execution id; keeps the state as
 * it was. No token: after a redrive, "Prepare Date" re-takes the lease under a new token that
 * `$.lease.token` does not know, and a release with the old one would release nothing. The id is
 * enough, since only this execution can be the holder it names; the fence still moves past the
 * released token.
 */
export function releaseLease(
  scope: Construct,
  stateName: string,
  functions: HindsightFunctions,
  kind: LeaseKind,
): LambdaInvoke {
  const task = invoke(scope, stateName, functions.lease, {
    payload: leasePayload('release', kind),
  });
  task.addRetry({
    errors: [ERRORS.leaseContended],
    interval: Duration.seconds(1),
    maxAttempts: 5,
    backoffRate: 2,
  });
  return task;
}

/** A Fail state that reports the error caught into `$.error` (its name and its cause). */
export function failWithCaughtError(scope: Construct, stateName: string): Fail {
  return new Fail(scope, stateName, { errorPath: '$.error.Error', causePath: '$.error.Cause' });
}

/** Where a stage Task reads its payload from, as JSONPath. */
export type StageInputPaths = { readonly [K in keyof StageTaskInput]: string };

export interface StageChainProps {
  readonly pipeline: Pipeline;
  readonly functions: HindsightFunctions;
  /** JSONPath of each field of the stage payload (`{date, token, executionId}`). */
  readonly input: StageInputPaths;
  /** Where a failed stage goes, with the error at `$.error`. */
  readonly onFailure: IChainable;
  /** Where the chain goes after its last stage. */
  readonly next: IChainable;
  /**
   * When given, each stage runs only when its condition holds: a Choice "Run <Stage>?" before its
   * Task goes on to the next stage's otherwise (the backfill runs each date's planned set).
   * @default - every stage runs
   */
  readonly runIf?: (stage: string) => Condition;
}

/**
 * The stages, built once per workflow (a state belongs to one state machine): a Task per stage in
 * pipeline order, which is a graph order (every stage after its inputs), each retrying transient
 * Lambda errors, a resuming cluster and a contended lease renewal, and catching everything else
 * into `$.error` → `onFailure`. Each renews the lease before it runs. Its result goes to
 * `$.stages.<stage>`.
 */
export class StageChain {
  /** Stage Tasks by stage name, in pipeline order. */
  readonly tasks: ReadonlyMap<string, TaskStateBase>;
  /** Where the chain starts: the first stage's Task, or its Choice. */
  readonly first: IChainable;

  constructor(scope: Construct, props: StageChainProps) {
    const payload = TaskInput.fromObject({
      date: JsonPath.stringAt(props.input.date),
      token: JsonPath.numberAt(props.input.token),
      executionId: JsonPath.stringAt(props.input.executionId),
    });
    const tasks = new Map<string, TaskStateBase>();
    for (const stage of props.pipeline.stages) {
      const task = renewsLease(
        invoke(scope, runStateName(stage.name), props.functions.stage(stage.name), {
          payload,
          resultPath: `$.stages.${stage.name}`,
        }),
      );
      task.addCatch(props.onFailure, { errors: [Errors.ALL], resultPath: '$.error' });
      tasks.set(stage.name, task);
    }
    // Built from the end, so each stage knows what comes after it.
    let next = props.next;
    for (const stage of [...props.pipeline.names].reverse()) {
      const task = tasks.get(stage)!;
      task.next(next);
      next = props.runIf
        ? new Choice(scope, `${runStateName(stage)}?`).when(props.runIf(stage), task).otherwise(next)
        : task;
    }
    this.tasks = tasks;
    this.first = next;
  }
}
