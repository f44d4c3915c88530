import type { Context } from 'aws-lambda';
import { type HolderLiveness, LeaseService } from '../../lambdas/engine/lease';
import type { Pipeline } from '../../lambdas/engine/pipeline';
import type { SqlClient } from '../../lambdas/engine/sql';
import { type Observer, powertoolsObserver } from '../../lambdas/handlers/observability';
import type { StepDependencies } from '../../lambdas/workflow/steps';
import { databaseKinds } from '../support/databases';
import { MemoryLeaseStore } from '../support/memory-lease-store';

/** A JSON object written to stdout or stderr. */
export type JsonLine = Readonly<Record<string, unknown>>;

/** What the handlers printed: Powertools log lines and EMF documents, one JSON object per line. */
export interface CapturedOutput {
  /** Log lines (everything but EMF documents), in order. */
  logs(): JsonLine[];
  /** The EMF documents: namespace, dimension sets and each metric's value and unit. */
  emf(): Array<{
    namespace: string;
    dimensions: string[][];
    metrics: Record<string, { value: unknown; unit: string }>;
    line: JsonLine;
  }>;
  restore(): void;
}

/** Captures process.stdout and process.stderr, where Powertools' Logger and Metrics print in Lambda. */
export function captureOutput(): CapturedOutput {
  const lines: JsonLine[] = [];
  const write = (chunk: string | Uint8Array): boolean => {
    for (const text of String(chunk).split('\n')) {
      if (text.trim() === '') continue;
      const parsed: unknown = JSON.parse(text);
      if (!isObject(parsed)) throw new Error(`Not a JSON object: ${text}`);
      lines.push(parsed);
    }
    return true;
  };
  const stdout = jest.spyOn(process.stdout, 'write').mockImplementation(write);
  const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(write);
  return {
    logs: () => lines.filter((line) => !('_aws' in line)),
    emf: () =>
      lines.flatMap((line) => {
        const aws = line._aws;
        if (!isObject(aws) || !Array.isArray(aws.CloudWatchMetrics)) return [];
        return aws.CloudWatchMetrics.filter(isObject).map((directive) => ({
          namespace: String(directive.Namespace),
          dimensions: Array.isArray(directive.Dimensions)
            ? directive.Dimensions.map((set) => (Array.isArray(set) ? set.map(String) : []))
            : [],
          metrics: Object.fromEntries(
            (Array.isArray(directive.Metrics) ? directive.Metrics.filter(isObject) : []).map((metric) => [
              String(metric.Name),
              { value: line[String(metric.Name)], unit: String(metric.Unit) },
            ]),
          ),
          line,
        }));
      }),
    restore: () => {
      stdout.mockRestore();
      stderr.mockRestore();
    },
  };
}

/** A Powertools observer whose clock reads `times` in turn (start, then end of an invocation). */
export function observerWithClock(...times: number[]): Observer {
  let next = 0;
  return powertoolsObserver({ clock: () => times[Math.min(next++, times.length - 1)] ?? 0 });
}

/** A Lambda context as the runtime passes it. */
export function lambdaContext(functionName: string): Context {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:eu-west-1:123456789012:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: '2026/03/02/[$LATEST]abcdef',
    getRemainingTimeInMillis: () => 60_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** Step dependencies over a test database and an in-memory lease; every holder counts as running. */
export function testDependencies(
  sql: SqlClient,
  pipeline: Pipeline,
  options: { store?: MemoryLeaseStore; now?: Date } = {},
): StepDependencies {
  const running: HolderLiveness = { isRunning: async () => true };
  return {
    sql,
    pipeline,
    params: { rowsPerDay: '20' },
    leases: new LeaseService(options.store ?? new MemoryLeaseStore(), running),
    transitions: [],
    maxBackfillDays: 3660,
    now: () => options.now ?? new Date('2026-03-02T02:00:00Z'),
  };
}

/** Execution ARNs as Step Functions passes them. */
export const DAILY_EXECUTION = 'arn:aws:states:eu-west-1:123456789012:execution:DailyStateMachine:run-1';

/**
 * A lease store where DAILY_EXECUTION holds the lease with token 1 (until 2027), as its stage Tasks
 * need: each renews the lease it presents before it runs.
 */
export function dailyLeaseStore(): MemoryLeaseStore {
  return new MemoryLeaseStore({
    holder: DAILY_EXECUTION,
    kind: 'daily',
    token: 1,
    expiresAt: Date.parse('2027-01-01T00:00:00Z'),
    acquiredAt: Date.parse('2026-03-02T02:00:00Z'),
  });
}
export const BACKFILL_EXECUTION =
  'arn:aws:states:eu-west-1:123456789012:execution:BackfillStateMachine:fix-1';

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * One migrated PGlite per file and stdout/stderr captured per test, the setup every handler test
 * shares. Read `sql` and `output` inside tests (they are set by the hooks).
 */
export function useHandlerTestBed(): { sql: SqlClient; output: CapturedOutput } {
  const bed: { sql?: SqlClient; output?: CapturedOutput } = {};
  beforeAll(async () => {
    bed.sql = await databaseKinds()[0].open();
  });
  afterAll(() => bed.sql?.close());
  beforeEach(() => {
    bed.output = captureOutput();
  });
  afterEach(() => bed.output?.restore());
  return {
    get sql(): SqlClient {
      if (!bed.sql) throw new Error('The handler test database is opened in beforeAll.');
      return bed.sql;
    },
    get output(): CapturedOutput {
      if (!bed.output) throw new Error('Output is captured in beforeEach.');
      return bed.output;
    },
  };
}
