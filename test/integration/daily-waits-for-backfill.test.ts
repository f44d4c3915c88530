/**
 * A daily run that starts while a backfill holds the lease waits for the backfill to release it,
 * then runs its date: the two never interleave, and the date is never skipped. One that takes the
 * lease before the backfill does finds the earlier dates it reads still planned to be rewritten and
 * is refused, writing nothing; the backfill its refusal names then runs it. In-process, on the
 * synthesized workflows and PGlite, with the daily started at different points of the backfill.
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDbLeaseStore } from '../../lambdas/adapters/dynamodb-lease-store';
import { dateOf, dateRange } from '../../lambdas/engine/dates';
import type { Pipeline } from '../../lambdas/engine/pipeline';
import { planBackfill } from '../../lambdas/engine/plan';
import type { PipelineParams } from '../../lambdas/engine/stage';
import { type HistoryRow, readHistory, readLedger, toEntry } from '../../lambdas/ledger/ledger-store';
import type { WorkflowDefinitions } from '../../lib/workflow-definitions';
import { cachedWorkflowDefinitions } from '../../local/cached-definitions';
import { LOCAL_LEASE_TABLE, type LocalServices, openLocalServices } from '../../local/local-services';
import {
  type ExecutionOutcome,
  type LocalExecution,
  LocalWorkflows,
  type TaskEvent,
} from '../../local/local-workflows';
import { pipeline as meters } from '../fixtures/pipelines/meters';
import { pipeline as validateV2Pipeline } from '../fixtures/pipelines/meters-validate-v2';
import { METERS } from '../support/fixture-pipelines';
import { plannedDates } from '../support/local-stores';

const PARAMS: PipelineParams = { rowsPerDay: '100' };
/**
 * Between lease attempts and before Retry/Wait states. The daily gives up after 120 attempts (2 h of
 * 1-minute polls in AWS), so locally it waits about 120 × PAUSE_MS: well above a 20-date backfill here.
 */
const PAUSE_MS = 100;
const DATES = dateRange('2026-01-01', '2026-01-20');
const NEW_DATE = '2026-01-21';

let root: string;
let baseDir: string;
let definitions: WorkflowDefinitions;

beforeAll(async () => {
  const began = Date.now();
  root = mkdtempSync(join(tmpdir(), 'hindsight-waits-'));
  mkdirSync(join(root, 'base'));
  baseDir = join(root, 'base', 'data');
  const services = await openLocalServices({
    dataDir: baseDir,
    pipeline: meters,
    migrationsDirectory: METERS.migrationsDirectory,
    params: PARAMS,
  });
  try {
    definitions = cachedWorkflowDefinitions(
      services.dataDir,
      METERS,
      { pipeline: meters, transitions: [] },
      {},
    );
    const workflows = await LocalWorkflows.create(services, definitions, { pauseMs: PAUSE_MS });
    for (const date of DATES) {
      const outcome = await workflows.start('daily', { date }).done;
      if (outcome.status !== 'SUCCEEDED') throw new Error(`daily ${date}: ${JSON.stringify(outcome)}`);
    }
  } finally {
    await services.close();
  }
  console.log(`daily-waits-for-backfill: ${DATES.length} daily runs (v1) set up in ${Date.now() - began} ms`);
});

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

/** When, during the backfill, to start the daily run: given the backfill's task events so far (this one last). */
type Trigger = (events: readonly TaskEvent[]) => boolean;

interface Trial {
  readonly backfillEvents: readonly TaskEvent[];
  readonly triggeredAt: number;
  /** The backfill Task state during which the daily started. */
  readonly triggerState: string;
  readonly history: readonly HistoryRow[];
  readonly backfill: LocalExecution;
  readonly daily: LocalExecution;
  readonly dailyOutcome: ExecutionOutcome;
  readonly services: LocalServices;
}

/**
 * On a copy of the 20 days run with v1: a v2 auto backfill, and a daily run for NEW_DATE started
 * when `trigger` says; then `more`, with the services still open.
 */
async function trial(
  name: string,
  pipeline: Pipeline,
  trigger: Trigger,
  more: (result: Trial) => Promise<void> = async (result) => expectRan(result, pipeline),
): Promise<Trial> {
  const began = Date.now();
  mkdirSync(join(root, name));
  const dataDir = join(root, name, 'data');
  cpSync(baseDir, dataDir, { recursive: true });
  const services = await openLocalServices({
    dataDir,
    pipeline,
    migrationsDirectory: METERS.migrationsDirectory,
    params: PARAMS,
  });
  try {
    const backfillEvents: TaskEvent[] = [];
    let daily: LocalExecution | undefined;
    let triggeredAt = 0;
    let triggerEvent = '';
    let triggerState = '';
    const workflows: LocalWorkflows = await LocalWorkflows.create(services, definitions, {
      pauseMs: PAUSE_MS,
      onTask: (event) => {
        if (!event.executionId.includes(':HindsightBackfill:')) return;
        backfillEvents.push(event);
        if (daily === undefined && trigger(backfillEvents)) {
          triggeredAt = Date.now();
          triggerEvent = `${backfillEvents.length} ("${event.state}")`;
          triggerState = event.state;
          daily = workflows.start('daily', { date: NEW_DATE });
        }
      },
    });
    const backfill = workflows.start('backfill', { mode: 'auto' });
    const backfillOutcome = await backfill.done;
    expect(backfillOutcome).toMatchObject({ status: 'SUCCEEDED' });
    if (daily === undefined)
      throw new Error(`${name}: the trigger never fired (${backfillEvents.length} events)`);
    const dailyOutcome = await daily.done;

    const history = await readHistory(services.deps.sql);
    // Nothing is left to do under the new code: the daily date read the backfilled inputs.
    const ledger = (await readLedger(services.deps.sql)).map(toEntry);
    const after = planBackfill({ pipeline, ledger, mode: 'auto', today: dateOf(new Date()), maxDays: 3660 });
    expect(after.dates).toEqual([]);
    const lease = await new DynamoDbLeaseStore({
      client: services.dynamo.client,
      tableName: LOCAL_LEASE_TABLE,
    }).read();
    expect(lease?.holder ?? null).toBeNull();
    console.log(
      `${name}: backfill ${backfillEvents.length} task events; daily started at event ${triggerEvent}; ` +
        `trial took ${Date.now() - began} ms`,
    );
    const result = {
      backfillEvents,
      triggeredAt,
      triggerState,
      history,
      backfill,
      daily,
      dailyOutcome,
      services,
    };
    await more(result);
    return result;
  } finally {
    await services.close();
  }
}

/** The daily succeeded, and nothing is left to plan under the new code up to its date. */
async function expectRan(result: Trial, pipeline: Pipeline): Promise<void> {
  expect(result.dailyOutcome).toMatchObject({ status: 'SUCCEEDED' });
  await expectNothingLeftUpToNewDate(result.services, pipeline);
}

/** Every date up to NEW_DATE is fresh under the new code: run, and on fresh inputs. */
async function expectNothingLeftUpToNewDate(services: LocalServices, pipeline: Pipeline): Promise<void> {
  const ledger = (await readLedger(services.deps.sql)).map(toEntry);
  const after = planBackfill({
    pipeline,
    ledger,
    mode: 'auto',
    to: NEW_DATE,
    today: dateOf(new Date()),
    maxDays: 3660,
  });
  expect(after.dates).toEqual([]);
}

/** The daily's stage runs all started after the backfill's last one finished, and it ran every stage of its date. */
function expectWaitedAndRan(name: string, result: Trial, pipeline: Pipeline): void {
  expect(result.dailyOutcome).toMatchObject({ status: 'SUCCEEDED' });
  const backfillRuns = result.history.filter((run) => run.executionId === result.backfill.executionId);
  const dailyRuns = result.history.filter((run) => run.executionId === result.daily.executionId);
  // 20 dates from validate: 4 stages each.
  expect(backfillRuns).toHaveLength(DATES.length * (pipeline.names.length - 1));
  expect(dailyRuns.map((run) => [run.date, run.stage, run.version])).toEqual(
    pipeline.stages.map((stage) => [NEW_DATE, stage.name, stage.version]),
  );
  const backfillEnd = Math.max(...backfillRuns.map((run) => Date.parse(run.finishedAt)));
  const dailyStart = Math.min(...dailyRuns.map((run) => Date.parse(run.startedAt)));
  const dailyEnd = Math.max(...dailyRuns.map((run) => Date.parse(run.finishedAt)));
  console.log(
    `${name}: daily waited ${dailyStart - result.triggeredAt} ms for the lease; it started ` +
      `${dailyStart - backfillEnd} ms after the backfill's last stage run and took ${dailyEnd - dailyStart} ms`,
  );
  // Started while the backfill still had stage runs to do (except at its very release), it had to wait.
  if (result.triggerState !== 'Release Lease') expect(result.triggeredAt).toBeLessThan(backfillEnd);
  expect(dailyStart).toBeGreaterThanOrEqual(backfillEnd);
}

describe('a daily run started during a backfill', () => {
  it('waits for the backfill to release the lease, then runs its date with every stage', async () => {
    const result = await trial('first-prepare-date', validateV2Pipeline, (events) =>
      events.some((event) => event.state === 'Prepare Date'),
    );
    expectWaitedAndRan('first-prepare-date', result, validateV2Pipeline);
  });

  it('started before the backfill takes the lease, runs after it on fresh dates, or is refused and stays due until a backfill runs it', async () => {
    let refused = false;
    const result = await trial(
      'before-acquire',
      validateV2Pipeline,
      (events) => events.at(-1)?.state === 'Validate And Plan',
      async (trialResult) => {
        const { dailyOutcome, services } = trialResult;
        if (dailyOutcome.status === 'SUCCEEDED') return expectRan(trialResult, validateV2Pipeline);
        // It took the lease first: the earlier dates trend reads were still v1, so it wrote nothing.
        refused = true;
        expect(dailyOutcome).toMatchObject({ status: 'FAILED', error: 'EarlierDatesStaleError' });
        const named = '{"mode": "auto"}';
        expect(dailyOutcome.status === 'FAILED' && dailyOutcome.cause).toContain(named);
        expect(
          trialResult.history.filter((run) => run.executionId === trialResult.daily.executionId),
        ).toEqual([]);
        // The date stays due: the running backfill planned it when its plan came after the daily's
        // Resolve Date, else the backfill the refusal names does. Either way exactly once, from collect.
        const workflows = await LocalWorkflows.create(services, definitions, { pauseMs: PAUSE_MS });
        const again = workflows.start('backfill', JSON.parse(named));
        expect((await again.done).status).toBe('SUCCEEDED');
        const planned = [
          ...(await plannedDates(services.deps.sql, trialResult.backfill.executionId)),
          ...(await plannedDates(services.deps.sql, again.executionId)),
        ].filter(([date]) => date === NEW_DATE);
        expect(planned).toEqual([[NEW_DATE, 'collect']]);
        const ledger = (await readLedger(services.deps.sql)).map(toEntry);
        expect(
          ledger
            .filter((entry) => entry.date === NEW_DATE)
            .map((entry) => entry.stage)
            .sort(),
        ).toEqual([...validateV2Pipeline.names].sort());
        await expectNothingLeftUpToNewDate(services, validateV2Pipeline);
      },
    );
    console.log(
      `before-acquire: the daily ${refused ? 'took the lease first and was refused' : 'waited and ran'}`,
    );
    if (!refused) expectWaitedAndRan('before-acquire', result, validateV2Pipeline);
  });

  it('never interleaves with the backfill nor skips its date, wherever in the backfill it starts', async () => {
    // The events during which the backfill holds the lease: from its first "Prepare Date" to its release.
    const probe = await trial(
      'probe',
      validateV2Pipeline,
      (events) => events.at(-1)?.state === 'Release Lease',
    );
    expectWaitedAndRan('probe (at "Release Lease")', probe, validateV2Pipeline);
    const states = probe.backfillEvents.map((event) => event.state);
    const first = states.indexOf('Prepare Date') + 1;
    const last = states.length;
    const points = [1, 2, 3, 4].map(() => first + Math.floor(Math.random() * (last - first + 1)));
    console.log(`random trigger points (task event number, ${first}..${last}): ${points.join(', ')}`);
    for (const [i, k] of points.entries()) {
      const name = `random-${i + 1}-at-event-${k}`;
      const result = await trial(name, validateV2Pipeline, (events) => events.length >= k);
      expectWaitedAndRan(name, result, validateV2Pipeline);
    }
  });
});
