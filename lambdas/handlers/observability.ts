/**
 * What every Lambda entry point logs and measures. `withObservability` wraps a step: one JSON log
 * line per invocation (info when it succeeded, error when it threw, the error then rethrown
 * unchanged so the state machines' Retry and Catch still match its name) and the invocation's
 * metrics as one EMF document. The names below are a contract with the alarms (`lib/alarms.ts`).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';

/** The `service` key of every log line and the `service` dimension of every metric. */
export const SERVICE_NAME = 'hindsight';
/** CloudWatch namespace of the handlers' metrics. */
export const METRIC_NAMESPACE = 'Hindsight';

/** Metrics the handlers emit. */
export const METRIC_NAMES = {
  /** Rows a stage wrote for a date (Count, dimension Stage). */
  rowsWritten: 'RowsWritten',
  /** Time a stage Lambda spent on its step, transaction included (Milliseconds, dimension Stage). */
  stageDurationMs: 'StageDurationMs',
  /** A backfill date that passed "Prepare Date" and entered the stage chain (Count). */
  datesBackfilled: 'DatesBackfilled',
  /** An "Acquire Lease" that got the lease (Count, dimension Kind: the kind of the execution asking). */
  leaseAcquired: 'LeaseAcquired',
  /** An "Acquire Lease" refused because another execution holds it; Step Functions polls again (Count, dimension Kind). */
  leaseBusy: 'LeaseBusy',
  /** Cells a Verify execution found differing from what the code computes, or could not recompute (Count). */
  verifyDifferences: 'VerifyDifferences',
  /** Cells a Verify execution recomputed and compared (Count). */
  cellsVerified: 'CellsVerified',
  /** 1 when the after-deploy function's auto plan was refused (so no backfill started), else 0 (Count). */
  afterDeployPlanRefused: 'AfterDeployPlanRefused',
} as const;

/** Dimension names of the handlers' metrics. */
export const METRIC_DIMENSIONS = { service: 'service', stage: 'Stage', kind: 'Kind' } as const;

/** A metric name of {@link METRIC_NAMES}. */
export type MetricName = (typeof METRIC_NAMES)[keyof typeof METRIC_NAMES];

/** One value of one metric. */
export interface MetricValue {
  readonly name: MetricName;
  readonly unit: 'Count' | 'Milliseconds';
  readonly value: number;
}

/** Log keys: `date`, `stage`, `version`, `runId`, `executionId` and the like; undefined ones are left out. */
export type LogFields = Readonly<Record<string, string | number | boolean | readonly string[] | undefined>>;

/** What an invocation did: its log line and its metrics (one dimension set per invocation). */
export interface Observation {
  readonly message: string;
  /**
   * The log line's level: a step that succeeded may still have something to report (the after-deploy
   * function whose plan was refused).
   * @default 'info'
   */
  readonly level?: 'info' | 'warn' | 'error';
  readonly fields?: LogFields;
  readonly dimensions?: Readonly<Record<string, string>>;
  readonly metrics?: readonly MetricValue[];
}

/** What a failed invocation reports besides the error itself. */
export interface FailureObservation extends Omit<Observation, 'message'> {
  /**
   * An expected refusal that Step Functions retries (a busy lease): logged at info, not error.
   * @default false
   */
  readonly expected?: boolean;
  /** @default "<handler> failed with <error name>" */
  readonly message?: string;
}

/** A step as a handler runs it, and what to log and measure about it. */
export interface ObservedStep<R> {
  /** Log keys known from the raw event, before the step validates it. */
  readonly fieldsOf: (event: unknown) => LogFields;
  readonly run: (event: unknown) => Promise<R>;
  readonly succeeded: (result: R, invocation: { event: unknown; durationMs: number }) => Observation;
  /** @default - an error line naming the error, and no metrics */
  readonly failed?: (error: unknown, invocation: { event: unknown }) => FailureObservation | undefined;
}

/** Where log lines and metrics go: Powertools in Lambda, the same classes over a captured stream in tests. */
export interface Observer {
  readonly logger: Pick<Logger, 'addContext' | 'appendKeys' | 'resetKeys' | 'info' | 'warn' | 'error'>;
  readonly metrics: Pick<Metrics, 'addDimensions' | 'addMetric' | 'publishStoredMetrics'>;
  /** Milliseconds on a monotonic clock, for durations. */
  readonly clock: () => number;
}

/** A Lambda handler that takes the Task payload as its event. */
export type ObservedHandler<R> = (event: unknown, context: Context) => Promise<R>;

/** Powertools Logger and Metrics for `service: hindsight`, writing JSON and EMF to stdout (CloudWatch Logs). */
export function powertoolsObserver(options: { clock?: () => number } = {}): Observer {
  const logger = new Logger({ serviceName: SERVICE_NAME });
  const metrics = new Metrics({ namespace: METRIC_NAMESPACE, serviceName: SERVICE_NAME, logger });
  return { logger, metrics, clock: options.clock ?? (() => performance.now()) };
}

/**
 * Wraps `step` as the Lambda handler named `name` (the `handler` log key). Per invocation: the
 * Lambda context and the event's keys on every line, one line at the end, the metrics flushed.
 * Observing never changes the outcome: a failure to log or measure is only warned about.
 */
export function withObservability<R>(
  observer: Observer,
  name: string,
  step: ObservedStep<R>,
): ObservedHandler<R> {
  const { logger, clock } = observer;
  return async (event, context) => {
    logger.resetKeys();
    logger.addContext(context);
    logger.appendKeys({ handler: name, ...defined(safely(observer, () => step.fieldsOf(event)) ?? {}) });
    const started = clock();
    let result: R;
    try {
      result = await step.run(event);
    } catch (error) {
      const durationMs = Math.round(clock() - started);
      const failure = safely(observer, () => step.failed?.(error, { event }));
      const fields = { ...defined(failure?.fields ?? {}), durationMs };
      const message = failure?.message ?? `${name} failed with ${errorName(error)}`;
      const loggable = error instanceof Error ? error : new Error(String(error));
      if (failure?.expected) logger.info(message, { ...fields, error: loggable });
      else logger.error(message, { ...fields, error: loggable });
      if (failure) publish(observer, failure);
      throw error;
    }
    const durationMs = Math.round(clock() - started);
    const observation = safely(observer, () => step.succeeded(result, { event, durationMs }));
    logger[observation?.level ?? 'info'](observation?.message ?? `${name} succeeded`, {
      ...defined(observation?.fields ?? {}),
      durationMs,
    });
    if (observation) publish(observer, observation);
    return result;
  };
}

/** The string at `path` in an untrusted event (a Task payload not yet validated), if there is one. */
export function textAt(event: unknown, ...path: readonly string[]): string | undefined {
  const value = valueAt(event, path);
  return typeof value === 'string' ? value : undefined;
}

/** A number in an event that may not have the expected shape (undefined when absent or not a number). */
export function numberAt(event: unknown, ...path: readonly string[]): number | undefined {
  const value = valueAt(event, path);
  return typeof value === 'number' ? value : undefined;
}

function valueAt(event: unknown, path: readonly string[]): unknown {
  let value: unknown = event;
  for (const key of path) {
    if (value === null || typeof value !== 'object' || !(key in value)) return undefined;
    value = Object.getOwnPropertyDescriptor(value, key)?.value;
  }
  return value;
}

function publish({ metrics, logger }: Observer, observation: Pick<Observation, 'dimensions' | 'metrics'>) {
  if (!observation.metrics || observation.metrics.length === 0) return;
  try {
    if (observation.dimensions) metrics.addDimensions({ ...observation.dimensions });
    for (const metric of observation.metrics) metrics.addMetric(metric.name, metric.unit, metric.value);
    metrics.publishStoredMetrics();
  } catch (error) {
    logger.warn('Could not publish the metrics of this invocation', { error: String(error) });
  }
}

function safely<T>({ logger }: Observer, observe: () => T): T | undefined {
  try {
    return observe();
  } catch (error) {
    logger.warn('Could not describe this invocation for the logs', { error: String(error) });
    return undefined;
  }
}

function defined(fields: LogFields): Record<string, string | number | boolean | readonly string[]> {
  const kept: Record<string, string | number | boolean | readonly string[]> = {};
  for (const [key, value] of Object.entries(fields)) if (value !== undefined) kept[key] = value;
  return kept;
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}
