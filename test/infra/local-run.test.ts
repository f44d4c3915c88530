import { EarlierDatesStaleError, LeaseHeldError, StageFailedError } from '../../lambdas/engine/errors';
import type { JsonValue, WorkflowDefinition, WorkflowDefinitions } from '../../lib/workflow-definitions';
import { pipeline } from '../fixtures/pipelines/meters';
import { synthesize } from './support';

// aws-local-stepfunctions is an ES module with a CommonJS build: load that build, typed by the module.
type LocalStepFunctions = typeof import('aws-local-stepfunctions', { with: { 'resolution-mode': 'import' }});
const { StateMachine }: LocalStepFunctions = require('aws-local-stepfunctions');
type LocalDefinition = ConstructorParameters<LocalStepFunctions['StateMachine']>[0];

let definitions: WorkflowDefinitions;

beforeAll(() => {
  ({ definitions } = synthesize());
});

type Handler = (input: JsonValue) => JsonValue;

interface Run {
  /** Handler calls in order, as `<handler>[:<stage>] <action or date>`. */
  readonly calls: string[];
  readonly output: Promise<unknown>;
}

/**
 * Runs a workflow as the local runtime will: the synthesized definition in aws-local-stepfunctions,
 * each Task bound through the exported map to a fake handler.
 */
function run(workflow: WorkflowDefinition, input: JsonValue, handlers: Record<string, Handler>): Run {
  const calls: string[] = [];
  const taskResourceLocalHandlers = Object.fromEntries(
    Object.entries(workflow.tasks).map(([stateName, binding]) => [
      stateName,
      async (event: JsonValue) => {
        const fields = typeof event === 'object' && event !== null && !Array.isArray(event) ? event : {};
        calls.push(
          `${binding.handler}${binding.stage ? `:${binding.stage}` : ''} ${String(fields.action ?? fields.date ?? '')}`.trim(),
        );
        const handler = handlers[binding.stage ?? binding.handler];
        if (!handler) throw new Error(`No fake for ${binding.handler}`);
        return handler(event);
      },
    ]),
  );
  const machine = new StateMachine(structuredClone(workflow.definition) as LocalDefinition);
  // The local runner fills in no $$.Execution.Id of its own: the runtime passes one, as AWS would.
  const execution = machine.run(input, {
    overrides: { taskResourceLocalHandlers, retryIntervalOverrides: retryAtOnce(workflow) },
    context: { Execution: { Id: 'arn:aws:states:us-east-1:123456789012:execution:Hindsight:local-test' } },
  });
  return { calls, output: execution.result };
}

/** Every Retry of every Task, without waiting (the lease wait polls 120 times). */
function retryAtOnce(workflow: WorkflowDefinition): Record<string, number> {
  return Object.fromEntries(Object.keys(workflow.tasks).map((stateName) => [stateName, 0]));
}

/** The error name and cause a failed execution ended with. */
async function failureOf(output: Promise<unknown>): Promise<{ error: string; cause: string }> {
  const failure = await output.then(
    () => {
      throw new Error('The execution succeeded');
    },
    (error: unknown) => error,
  );
  const cause = failure instanceof Error ? failure.cause : undefined;
  if (!(cause instanceof Error)) throw new Error(`Not an execution failure: ${String(failure)}`);
  return { error: cause.name, cause: cause.message };
}

const field = (event: JsonValue, name: string): JsonValue =>
  typeof event === 'object' && event !== null && !Array.isArray(event) ? (event[name] ?? null) : null;

const stageFakes = (fail?: { stage: string; date: string }): Record<string, Handler> =>
  Object.fromEntries(
    pipeline.names.map((stage) => [
      stage,
      (event: JsonValue) => {
        const date = String(field(event, 'date'));
        if (fail && fail.stage === stage && fail.date === date) {
          throw new StageFailedError(stage, date, new Error('division by zero'));
        }
        return { stage, date, version: 1, runId: `${stage}-${date}`, rowsWritten: 1 };
      },
    ]),
  );

const checkEarlierDates: Handler = (event): JsonValue => ({
  date: field(event, 'date'),
  checked: { from: '2025-12-26', to: '2025-12-31' },
});

/** What Prepare Date returns for a date rerunning `stages` (token and transitions aside). */
const prepared = (date: string, stages: readonly string[]) => ({
  date,
  startStage: stages[0],
  stages: [...stages],
  runs: Object.fromEntries(pipeline.names.map((stage) => [stage, stages.includes(stage)])),
});

const lease: Handler = (event): JsonValue => {
  if (field(event, 'action') === 'acquire') return { token: 7, expiresAt: '2026-01-02T00:15:00Z' };
  return {};
};

describe('Workflows: run by aws-local-stepfunctions through the Task bindings', () => {
  it('daily: runs every stage for the resolved date under the lease', async () => {
    // Act
    const { calls, output } = run(
      definitions.daily,
      { date: '2026-01-01' },
      {
        ...stageFakes(),
        lease,
        'resolve-date': () => ({ date: '2026-01-01' }),
        'check-earlier-dates': checkEarlierDates,
      },
    );

    // Assess
    await expect(output).resolves.toMatchObject({ stages: { report: { date: '2026-01-01' } } });
    expect(calls).toEqual([
      'resolve-date 2026-01-01',
      'lease acquire',
      'check-earlier-dates 2026-01-01',
      ...pipeline.names.map((stage) => `stage:${stage} 2026-01-01`),
      'lease release',
    ]);
  });

  it('daily: fails with the stage error after releasing the lease', async () => {
    // Act
    const { calls, output } = run(
      definitions.daily,
      {},
      {
        ...stageFakes({ stage: 'summarize', date: '2026-01-01' }),
        lease,
        'resolve-date': () => ({ date: '2026-01-01' }),
        'check-earlier-dates': checkEarlierDates,
      },
    );

    // Assess
    await expect(failureOf(output)).resolves.toEqual({
      error: 'StageFailedError',
      cause: 'Stage summarize failed for 2026-01-01: division by zero',
    });
    expect(calls.slice(-2)).toEqual(['stage:summarize 2026-01-01', 'lease release']);
  });

  it('daily: refuses to run on top of stale earlier dates, running no stage and releasing the lease', async () => {
    // Prepare
    const refusal = new EarlierDatesStaleError(
      '2026-01-08',
      ['2026-01-07'],
      ['2026-01-07 (1 date): rerun from collect, read by trend; why: collect has not run'],
    );

    // Act
    const { calls, output } = run(
      definitions.daily,
      {},
      {
        ...stageFakes(),
        lease,
        'resolve-date': () => ({ date: '2026-01-08' }),
        'check-earlier-dates': () => {
          throw refusal;
        },
      },
    );

    // Assess
    await expect(failureOf(output)).resolves.toEqual({
      error: 'EarlierDatesStaleError',
      cause: refusal.message,
    });
    expect(calls).toEqual([
      'resolve-date',
      'lease acquire',
      'check-earlier-dates 2026-01-08',
      'lease release',
    ]);
  });

  it('daily: gives up when the lease stays held', async () => {
    const { calls, output } = run(
      definitions.daily,
      {},
      {
        lease: () => {
          throw new LeaseHeldError(
            'arn:aws:states:us-east-1:123456789012:execution:backfill:x',
            'backfill',
            0,
          );
        },
        'resolve-date': () => ({ date: '2026-01-01' }),
      },
    );
    await expect(failureOf(output)).resolves.toMatchObject({ error: 'GaveUpWaitingForLeaseError' });
    expect(calls.filter((call) => call === 'lease acquire')).toHaveLength(121);
  });

  it("backfill: runs each date's planned stages, date after date, then releases", async () => {
    // Prepare: a chain's suffixes, and a set with a gap (what a graph may plan), as Prepare Date returns them.
    const dates = [
      prepared('2026-01-01', ['trend', 'report']),
      prepared('2026-01-02', pipeline.names),
      prepared('2026-01-03', ['validate', 'trend']),
    ];

    // Act
    const { calls, output } = run(
      definitions.backfill,
      { mode: 'auto' },
      {
        ...stageFakes(),
        lease,
        plan: () => ({
          dryRun: false,
          positions: [0, 1, 2],
          firstDate: '2026-01-01',
          lastDate: '2026-01-03',
          totals: { dates: 3, stageRuns: 9, fullRerunStageRuns: 15 },
          summary: '',
        }),
        'prepare-date': (event) => ({
          ...dates[Number(field(event, 'position'))],
          token: field(event, 'token'),
          transitionsApplied: [],
        }),
      },
    );

    // Assess
    await expect(output).resolves.toMatchObject({ totals: { dates: 3 } });
    expect(calls).toEqual([
      'plan',
      'lease acquire',
      'prepare-date',
      'stage:trend 2026-01-01',
      'stage:report 2026-01-01',
      'prepare-date',
      ...pipeline.names.map((stage) => `stage:${stage} 2026-01-02`),
      'prepare-date',
      'stage:validate 2026-01-03',
      'stage:trend 2026-01-03',
      'lease release',
    ]);
  });

  it('backfill: a dry run plans and stops before the lease', async () => {
    const { calls, output } = run(
      definitions.backfill,
      { mode: 'auto', dryRun: true },
      {
        plan: () => ({
          dryRun: true,
          positions: [],
          firstDate: null,
          lastDate: null,
          totals: { dates: 0, stageRuns: 0, fullRerunStageRuns: 0 },
          summary: '',
        }),
      },
    );
    await expect(output).resolves.toMatchObject({ dryRun: true });
    expect(calls).toEqual(['plan']);
  });

  it('backfill: a failed date releases the lease and fails the backfill with the stage error', async () => {
    const { calls, output } = run(
      definitions.backfill,
      {},
      {
        ...stageFakes({ stage: 'validate', date: '2026-01-01' }),
        lease,
        plan: () => ({
          dryRun: false,
          positions: [0],
          firstDate: '2026-01-01',
          lastDate: '2026-01-01',
          totals: { dates: 1, stageRuns: 4, fullRerunStageRuns: 5 },
          summary: '',
        }),
        'prepare-date': (event) => ({
          ...prepared('2026-01-01', ['validate', 'summarize', 'trend', 'report']),
          token: field(event, 'token'),
          transitionsApplied: [],
        }),
      },
    );
    await expect(failureOf(output)).resolves.toEqual({
      error: 'StageFailedError',
      cause: 'Stage validate failed for 2026-01-01: division by zero',
    });
    expect(calls.slice(-2)).toEqual(['stage:validate 2026-01-01', 'lease release']);
  });
});
