import aslValidator from 'asl-validator';
import { BACKFILL_STATES } from '../../lib/backfill-workflow';
import { DAILY_STATES } from '../../lib/daily-workflow';
import {
  type AslDefinition,
  type AslState,
  allStates,
  type WorkflowDefinitions,
} from '../../lib/workflow-definitions';
import { runStateName, TRANSIENT_LAMBDA_ERRORS } from '../../lib/workflow-states';
import { pipeline } from '../fixtures/pipelines/meters';
import {
  catchesOf,
  choicesOf,
  happyPath,
  itemProcessorOf,
  reachableFrom,
  stateOf,
  synthesize,
} from './support';

let definitions: WorkflowDefinitions;
let daily: AslDefinition;
let backfill: AslDefinition;
let eachDate: AslState;
let dateProcessor: AslDefinition;

beforeAll(() => {
  ({ definitions } = synthesize());
  daily = definitions.daily.definition;
  backfill = definitions.backfill.definition;
  eachDate = stateOf(backfill, BACKFILL_STATES.backfillEachDate);
  dateProcessor = itemProcessorOf(eachDate);
});

const stageTaskNames = pipeline.names.map(runStateName);
/** The backfill's Choice before each stage Task, in pipeline order. */
const runChoiceNames = stageTaskNames.map((name) => `${name}?`);

/** True when the state is a Task releasing the lease (it invokes the lease handler with action "release"). */
function isRelease(workflow: keyof WorkflowDefinitions, name: string, state: AslState): boolean {
  const parameters = state.Parameters;
  return (
    state.Type === 'Task' &&
    definitions[workflow].tasks[name]?.handler === 'lease' &&
    typeof parameters === 'object' &&
    parameters !== null &&
    !Array.isArray(parameters) &&
    parameters.action === 'release'
  );
}

/** What a Task under the lease retries: transient Lambda errors, a resuming cluster, a contended lease renewal. */
const RETRIED_UNDER_LEASE = [...TRANSIENT_LAMBDA_ERRORS, 'DatabaseStillResumingError', 'LeaseContendedError'];

function retriedErrors(state: AslState): string[] {
  const retries = Array.isArray(state.Retry) ? state.Retry : [];
  return retries.flatMap((retry) =>
    typeof retry === 'object' && retry !== null && !Array.isArray(retry) && Array.isArray(retry.ErrorEquals)
      ? retry.ErrorEquals.map(String)
      : [],
  );
}

describe('Workflow: daily', () => {
  it('runs Resolve Date, Acquire Lease, Check Earlier Dates, every stage in order, Release Lease, then succeeds', () => {
    // Act
    const path = happyPath(daily, () => {
      throw new Error('The daily run has no Choice');
    });

    // Assess
    expect(path).toEqual([
      DAILY_STATES.resolveDate,
      DAILY_STATES.acquireLease,
      DAILY_STATES.checkEarlierDates,
      ...stageTaskNames,
      DAILY_STATES.releaseLease,
      DAILY_STATES.finish,
    ]);
    expect(stateOf(daily, DAILY_STATES.finish).Type).toBe('Succeed');
  });

  it('passes the execution input to Resolve Date and the date, token and execution id to every stage', () => {
    expect(stateOf(daily, DAILY_STATES.resolveDate)).not.toHaveProperty('Parameters');
    expect(stateOf(daily, DAILY_STATES.resolveDate).ResultPath).toBe('$.resolved');
    for (const [i, name] of stageTaskNames.entries()) {
      expect(stateOf(daily, name)).toMatchObject({
        Parameters: {
          'date.$': '$.resolved.date',
          'token.$': '$.lease.token',
          'executionId.$': '$$.Execution.Id',
        },
        ResultPath: `$.stages.${pipeline.names[i]}`,
        TimeoutSeconds: expect.any(Number),
      });
    }
  });

  it('acquires a daily lease, retrying while it is held for the configured wait, then gives up loudly', () => {
    // Prepare
    const acquire = stateOf(daily, DAILY_STATES.acquireLease);

    // Assess
    expect(acquire.Parameters).toEqual({
      action: 'acquire',
      kind: 'daily',
      'executionId.$': '$$.Execution.Id',
    });
    expect(acquire.Retry).toContainEqual({
      ErrorEquals: ['LeaseHeldError'],
      IntervalSeconds: 60,
      BackoffRate: 1,
      MaxAttempts: 120, // hindsight:leaseWaitMinutes = 120 in cdk.json
    });
    expect(catchesOf(acquire)).toEqual([
      { errors: ['LeaseHeldError'], resultPath: '$.error', next: DAILY_STATES.gaveUp },
    ]);
    expect(stateOf(daily, DAILY_STATES.gaveUp)).toMatchObject({
      Type: 'Fail',
      Error: 'GaveUpWaitingForLeaseError',
    });
  });

  it('checks the earlier dates under the lease, before any stage, failing with the refusal after releasing the lease', () => {
    // Prepare
    const check = stateOf(daily, DAILY_STATES.checkEarlierDates);

    // Assess
    expect(stateOf(daily, DAILY_STATES.acquireLease).Next).toBe(DAILY_STATES.checkEarlierDates);
    expect(definitions.daily.tasks[DAILY_STATES.checkEarlierDates]?.handler).toBe('check-earlier-dates');
    expect(check).toMatchObject({
      Parameters: { 'date.$': '$.resolved.date' },
      ResultPath: '$.earlierDates',
      TimeoutSeconds: expect.any(Number),
      Next: stageTaskNames[0],
    });
    // Transient errors only (Lambda, a resuming cluster, a contended lease renewal): a refusal
    // (EarlierDatesStaleError) is not retried.
    expect(retriedErrors(check)).toEqual(RETRIED_UNDER_LEASE);
    expect(catchesOf(check)).toEqual([
      { errors: ['States.ALL'], resultPath: '$.error', next: DAILY_STATES.releaseAfterFailure },
    ]);
  });

  it('fails with the stage error after releasing the lease when a stage fails', () => {
    for (const name of stageTaskNames) {
      const [clause] = catchesOf(stateOf(daily, name));
      expect(clause).toEqual({
        errors: ['States.ALL'],
        resultPath: '$.error',
        next: DAILY_STATES.releaseAfterFailure,
      });
    }
    const release = stateOf(daily, DAILY_STATES.releaseAfterFailure);
    expect(isRelease('daily', DAILY_STATES.releaseAfterFailure, release)).toBe(true);
    expect(release.ResultPath).toBeNull();
    expect(stateOf(daily, String(release.Next))).toEqual({
      Type: 'Fail',
      ErrorPath: '$.error.Error',
      CausePath: '$.error.Cause',
    });
  });

  it('derives the lease-wait retries from hindsight:leaseWaitMinutes', () => {
    // Act
    const { definitions: other } = synthesize({ context: { 'hindsight:leaseWaitMinutes': '30' } });

    // Assess
    expect(stateOf(other.daily.definition, DAILY_STATES.acquireLease).Retry).toContainEqual(
      expect.objectContaining({ ErrorEquals: ['LeaseHeldError'], MaxAttempts: 30 }),
    );
  });
});

describe('Workflow: backfill', () => {
  it('validates and plans first, refusing invalid input before any lease', () => {
    // Prepare
    const plan = stateOf(backfill, BACKFILL_STATES.validateAndPlan);

    // Assess
    expect(backfill.StartAt).toBe(BACKFILL_STATES.validateAndPlan);
    // The console input as typed, and the execution whose id the plan is stored under.
    expect(plan.Parameters).toEqual({
      'request.$': '$$.Execution.Input',
      'executionId.$': '$$.Execution.Id',
    });
    expect(plan.ResultPath).toBe('$.plan');
    // The caught error replaces the state (the console input may not even be an object).
    expect(catchesOf(plan)).toEqual([
      { errors: ['InvalidInputError'], resultPath: undefined, next: BACKFILL_STATES.refuseInvalidInput },
    ]);
    expect(stateOf(backfill, BACKFILL_STATES.refuseInvalidInput)).toEqual({
      Type: 'Fail',
      ErrorPath: '$.Error',
      CausePath: '$.Cause',
    });
  });

  it('stops after the plan for a dry run and for an empty plan', () => {
    expect(plan(BACKFILL_STATES.dryRun)).toEqual([
      { variable: '$.plan.dryRun', equals: true, next: BACKFILL_STATES.showPlanOnly },
    ]);
    expect(plan(BACKFILL_STATES.anythingToDo)).toEqual([
      { variable: '$.plan.totals.dates', equals: 0, next: BACKFILL_STATES.skipEmptyPlan },
    ]);
    expect(stateOf(backfill, BACKFILL_STATES.showPlanOnly).Type).toBe('Succeed');
    expect(stateOf(backfill, BACKFILL_STATES.skipEmptyPlan).Type).toBe('Succeed');
    expect(stateOf(backfill, BACKFILL_STATES.anythingToDo).Default).toBe(BACKFILL_STATES.acquireLease);

    function plan(choice: string) {
      return choicesOf(stateOf(backfill, choice));
    }
  });

  it('acquires a backfill lease, waiting while a daily run holds it', () => {
    const acquire = stateOf(backfill, BACKFILL_STATES.acquireLease);
    expect(acquire.Parameters).toEqual({
      action: 'acquire',
      kind: 'backfill',
      'executionId.$': '$$.Execution.Id',
    });
    expect(retriedErrors(acquire)).toContain('LeaseHeldError');
    expect(catchesOf(acquire)).toEqual([
      { errors: ['LeaseHeldError'], resultPath: '$.error', next: BACKFILL_STATES.gaveUp },
    ]);
    expect(acquire.Next).toBe(BACKFILL_STATES.backfillEachDate);
  });

  it('runs the planned dates in a Distributed Map, one at a time, stopping at the first failure', () => {
    expect(eachDate).toMatchObject({
      Type: 'Map',
      ItemsPath: '$.plan.positions',
      MaxConcurrency: 1,
      ToleratedFailureCount: 0,
      ToleratedFailurePercentage: 0,
      ResultPath: null,
      ItemSelector: {
        'position.$': '$$.Map.Item.Value',
        'executionId.$': '$$.Execution.Id',
        'token.$': '$.lease.token',
      },
      ItemProcessor: { ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' } },
      Next: BACKFILL_STATES.releaseLease,
    });
    expect(
      isRelease('backfill', BACKFILL_STATES.releaseLease, stateOf(backfill, BACKFILL_STATES.releaseLease)),
    ).toBe(true);
  });

  it('prepares each date, then has one "Run <Stage>?" Choice per stage, in pipeline order, running its Task or going on to the next', () => {
    // Assess
    expect(dateProcessor.StartAt).toBe(BACKFILL_STATES.prepareDate);
    expect(stateOf(dateProcessor, BACKFILL_STATES.prepareDate)).toMatchObject({
      ResultPath: '$.prepared',
      Next: runChoiceNames[0],
    });
    for (const [i, stage] of pipeline.names.entries()) {
      const after = runChoiceNames[i + 1] ?? BACKFILL_STATES.finishDate;
      const choice = stateOf(dateProcessor, runChoiceNames[i]);
      expect(runChoiceNames[i]).toBe(`${runStateName(stage)}?`);
      expect(choice.Type).toBe('Choice');
      expect(choicesOf(choice)).toEqual([
        { variable: `$.prepared.runs.${stage}`, equals: true, next: runStateName(stage) },
      ]);
      expect(choice.Default).toBe(after);
      expect(stateOf(dateProcessor, runStateName(stage)).Next).toBe(after);
    }
    expect(stateOf(dateProcessor, BACKFILL_STATES.finishDate).Type).toBe('Succeed');
    const choices = Object.entries(dateProcessor.States).filter(([, state]) => state.Type === 'Choice');
    expect(choices.map(([name]) => name)).toEqual(expect.arrayContaining(runChoiceNames));
    expect(choices).toHaveLength(pipeline.names.length);
  });

  it('runs exactly the planned stages of a date, in pipeline order, with the prepared date and token and the parent execution id', () => {
    // Every suffix (what a chain plans), a set with a gap, and the empty set.
    const sets = [
      ...pipeline.names.map((_, i) => pipeline.names.slice(i)),
      [pipeline.names[1], pipeline.names[3]],
      [],
    ];
    for (const planned of sets) {
      const runs = Object.fromEntries(pipeline.names.map((stage) => [stage, planned.includes(stage)]));
      const path = happyPath(dateProcessor, (_, state) => {
        const [{ variable, equals, next }] = choicesOf(state);
        const stage = variable.replace('$.prepared.runs.', '');
        return runs[stage] === equals ? next : String(state.Default);
      });
      expect(path.filter((name) => stateOf(dateProcessor, name).Type === 'Task')).toEqual([
        BACKFILL_STATES.prepareDate,
        ...planned.map(runStateName),
      ]);
      expect(path[path.length - 1]).toBe(BACKFILL_STATES.finishDate);
    }
    for (const stage of pipeline.names) {
      expect(stateOf(dateProcessor, runStateName(stage))).toMatchObject({
        Parameters: {
          'date.$': '$.prepared.date',
          'token.$': '$.prepared.token',
          'executionId.$': '$.executionId',
        },
        ResultPath: `$.stages.${stage}`,
      });
    }
  });

  it('fails the date with the stage error, which fails the Map, which releases the lease and fails the backfill', () => {
    for (const name of stageTaskNames) {
      const [clause] = catchesOf(stateOf(dateProcessor, name));
      expect(clause).toEqual({
        errors: ['States.ALL'],
        resultPath: '$.error',
        next: BACKFILL_STATES.failDate,
      });
    }
    expect(stateOf(dateProcessor, BACKFILL_STATES.failDate)).toEqual({
      Type: 'Fail',
      ErrorPath: '$.error.Error',
      CausePath: '$.error.Cause',
    });
    expect(catchesOf(eachDate)).toEqual([
      { errors: ['States.ALL'], resultPath: '$.error', next: BACKFILL_STATES.releaseAfterFailure },
    ]);
    const release = stateOf(backfill, BACKFILL_STATES.releaseAfterFailure);
    expect(isRelease('backfill', BACKFILL_STATES.releaseAfterFailure, release)).toBe(true);
    expect(stateOf(backfill, String(release.Next))).toMatchObject({
      Type: 'Fail',
      ErrorPath: '$.error.Error',
    });
  });

  it('names states like a runbook: verb and object, Choices ending in "?"', () => {
    for (const workflow of ['daily', 'backfill'] as const) {
      for (const [name, state] of allStates(definitions[workflow].definition)) {
        expect(name).toMatch(
          state.Type === 'Choice' ? /^[A-Z][a-z]+( [A-Z][a-z]+)*\?$/ : /^[A-Z][a-z]+( [A-Z][a-z]+)+$/,
        );
      }
    }
  });
});

describe('Workflows: both', () => {
  it.each(['daily', 'backfill'] as const)('%s passes asl-validator', (workflow) => {
    // Act (asl-validator writes QueryLanguage into what it checks, so give it a copy)
    const result = aslValidator(structuredClone(definitions[workflow].definition));

    // Assess
    expect(result.errorsText()).toBe('');
    expect(result.isValid).toBe(true);
  });

  it('daily: the check and every stage Task retry transient errors only, and their Catch reaches the lease release', () => {
    for (const name of [DAILY_STATES.checkEarlierDates, ...stageTaskNames]) {
      const task = stateOf(daily, name);
      expect(retriedErrors(task)).toEqual(RETRIED_UNDER_LEASE);
      const afterCatch = [...reachableFrom(daily, catchesOf(task)[0]?.next ?? '')];
      expect(afterCatch.filter((state) => isRelease('daily', state, stateOf(daily, state)))).toEqual([
        DAILY_STATES.releaseAfterFailure,
      ]);
    }
  });

  it('backfill: every stage Task retries transient errors only, and its Catch fails the date, whose Map Catch reaches the lease release', () => {
    const afterMapCatch = [...reachableFrom(backfill, catchesOf(eachDate)[0]?.next ?? '')];
    for (const name of stageTaskNames) {
      const task = stateOf(dateProcessor, name);
      expect(retriedErrors(task)).toEqual(RETRIED_UNDER_LEASE);
      const afterCatch = [...reachableFrom(dateProcessor, catchesOf(task)[0]?.next ?? '')];
      expect(afterCatch.map((state) => stateOf(dateProcessor, state).Type)).toEqual(['Fail']);
    }
    expect(afterMapCatch.filter((state) => isRelease('backfill', state, stateOf(backfill, state)))).toEqual([
      BACKFILL_STATES.releaseAfterFailure,
    ]);
  });

  it('releases the lease by the holder, this execution, with no token: a redriven backfill holds it under a newer one', () => {
    for (const workflow of ['daily', 'backfill'] as const) {
      const releases = allStates(definitions[workflow].definition).filter(([name, state]) =>
        isRelease(workflow, name, state),
      );
      expect(releases.map(([name]) => name).sort()).toEqual(['Release Lease', 'Release Lease After Failure']);
      for (const [, state] of releases) {
        expect(state.Parameters).toEqual({
          action: 'release',
          kind: workflow,
          'executionId.$': '$$.Execution.Id',
        });
      }
    }
  });

  it("sets an explicit timeout on every Task, beyond the local runner's 60 s default", () => {
    for (const workflow of ['daily', 'backfill'] as const) {
      for (const [name, state] of allStates(definitions[workflow].definition)) {
        if (state.Type === 'Task') expect([name, state.TimeoutSeconds]).toEqual([name, expect.any(Number)]);
      }
    }
  });

  it('uses JSONPath only: no JSONata, Assign or task tokens (the local runner supports none of them)', () => {
    const text = JSON.stringify(definitions);
    expect(text).not.toMatch(/"QueryLanguage":"JSONata"|"Assign"|waitForTaskToken|\{%/);
  });

  it('prints the state transitions per daily run and per backfilled date', () => {
    // Act: a date reruns the stages its "Run <Stage>?" Choices let through.
    const rerunning = (planned: readonly string[]) =>
      happyPath(dateProcessor, (name, state) =>
        planned.some((stage) => `${runStateName(stage)}?` === name)
          ? (choicesOf(state)[0]?.next ?? '')
          : String(state.Default),
      );
    const dailyRun = happyPath(daily, () => '');
    const allStages = rerunning(pipeline.names);
    const lastStage = rerunning(pipeline.names.slice(-1));
    const overhead = happyPath(backfill, (_, state) => String(state.Default));

    // Assess
    console.log(
      [
        `State transitions (states entered, retries excluded), ${pipeline.names.length} stages:`,
        `  daily run: ${dailyRun.length} (${dailyRun.join(' → ')})`,
        `  per backfilled date rerunning every stage: ${allStages.length} (${allStages.join(' → ')})`,
        `  per backfilled date rerunning the last stage only: ${lastStage.length}`,
        `  per backfill execution, besides its dates: ${overhead.length} (${overhead.join(' → ')})`,
      ].join('\n'),
    );
    expect(dailyRun).toHaveLength(pipeline.names.length + 5);
    // Prepare Date, one Choice per stage, one Task per stage rerun, Finish Date.
    expect(allStages).toHaveLength(2 + pipeline.names.length + pipeline.names.length);
    expect(lastStage).toHaveLength(2 + pipeline.names.length + 1);
  });
});
