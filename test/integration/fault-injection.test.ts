/**
 * DESIGN.md §9's failure contract through the synthesized workflows: a stage that throws fails the
 * backfill with its name, date and cause, releases the lease and leaves the ledger as it was; a
 * second `{"mode": "auto"}` resumes and ends exactly where a from-scratch run of the new code does.
 * The same after a backfill is stopped mid-way, and a redriven date cannot write with a stale token.
 * Issue 15 adds a paused Aurora cluster (DatabaseStillResumingError on some SQL calls, ridden out
 * by the workflows' Retry) and lost DynamoDB responses (the lease's PutItem landed, its answer did
 * not, and the SDK resent it). The summary counts scenarios and injected faults apart.
 *
 * One data directory serves the file: the 12 days of daily runs are made once, snapshotted, and
 * restored before each scenario; each reference ("the new code ran every date from scratch") is
 * made in the same database emptied first.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import { DatabaseStillResumingError } from '../../lambdas/adapters/data-api-sql';
import { DynamoDbLeaseStore } from '../../lambdas/adapters/dynamodb-lease-store';
import { dateRange, type IsoDate } from '../../lambdas/engine/dates';
import { LeaseLostError, StaleFenceTokenError } from '../../lambdas/engine/errors';
import { LeaseService } from '../../lambdas/engine/lease';
import type { LedgerRow } from '../../lambdas/engine/ledger';
import { definePipeline, type Pipeline } from '../../lambdas/engine/pipeline';
import type { SqlClient } from '../../lambdas/engine/sql';
import { defineStage, type Stage, type StageContext } from '../../lambdas/engine/stage';
import { readBackfillPlan } from '../../lambdas/ledger/backfill-plans';
import { readHistory, readLedger } from '../../lambdas/ledger/ledger-store';
import { handleLease } from '../../lambdas/workflow/lease-steps';
import { runStage } from '../../lambdas/workflow/stage-runner';
import { prepareDate, runStageTask } from '../../lambdas/workflow/steps';
import type { AslState, JsonObject, JsonValue, WorkflowDefinitions } from '../../lib/workflow-definitions';
import { runStateName } from '../../lib/workflow-states';
import { LOCAL_LEASE_TABLE, type LocalServices, openLocalServices } from '../../local/local-services';
import { type ExecutionOutcome, LocalWorkflows, type TaskEvent } from '../../local/local-workflows';
import { pipeline as original } from '../fixtures/pipelines/meters';
import { dumpTables, resetDatabase } from '../support/databases';
import { METERS } from '../support/fixture-pipelines';
import { backfillOutput, plannedDates } from '../support/local-stores';
import { lossyDynamoClient } from '../support/lossy-dynamodb';
import { seededRandom, seedFromEnvironment } from '../support/seeded-random';
import { databaseChecksum, readLease } from '../support/state-checksum';
import { restoreTables, snapshotTables } from '../support/table-snapshot';
import { testWorkflowDefinitions } from '../support/test-definitions';

/**
 * A stage Task without the lease is refused before it writes: by the lease item (LeaseLostError),
 * or by the fence (StaleFenceTokenError) when its lease service had seen that token held within
 * the renew interval and skipped the read.
 */
function refusedWithoutLease(error: unknown): boolean {
  return error instanceof LeaseLostError || error instanceof StaleFenceTokenError;
}

const params = { rowsPerDay: '100' };
const DATES = dateRange('2026-10-01', '2026-10-12');
const OWNED_TABLES = original.stages.flatMap((stage) => stage.owns);
const random = seededRandom(seedFromEnvironment('HINDSIGHT_FAULT_SEED', 20_261_124));

// ---------------------------------------------------------------------------------------------
// The changed code: each stage's v2 is a real change, and can be told to throw on one date

/** The switch of an injected fault: while armed, the stage throws on `date` after writing its rows. */
interface Fault {
  armed: boolean;
  date: IsoDate | null;
  injected: number;
}

class InjectedFaultError extends Error {}

/** What v2 of each stage changes, applied to v1's rows for the date (row counts stay the same). */
const V2_CHANGES: Readonly<Record<string, string>> = {
  collect: 'UPDATE meter_readings SET kwh = round(kwh * 1.02, 3) WHERE day = $1::date',
  validate: 'UPDATE valid_readings SET kwh = round(kwh * 0.98, 3) WHERE day = $1::date',
  summarize: 'UPDATE meter_daily SET kwh = round(kwh * 0.9, 3) WHERE day = $1::date',
  trend: 'UPDATE meter_trend SET avg_daily_kwh = round(kwh_7d / days_in_window, 3) WHERE day = $1::date',
  report: 'UPDATE usage_report SET trend = upper(trend) WHERE day = $1::date',
};

function faultyV2(stage: Stage, fault: Fault): Stage {
  const change = V2_CHANGES[stage.name];
  if (change === undefined) throw new Error(`No v2 change written for stage ${stage.name}.`);
  return defineStage({
    ...stage,
    version: stage.version + 1,
    run: async (context: StageContext) => {
      const written = await stage.run(context);
      await context.sql.query(change, [context.date]);
      if (fault.armed && context.date === fault.date) {
        fault.injected++;
        throw new InjectedFaultError(`injected fault in ${stage.name} v2 on ${context.date}`);
      }
      return written;
    },
  });
}

/** The meters pipeline with `name` bumped to its faulty v2. */
function changedPipeline(name: string, fault: Fault): Pipeline {
  return definePipeline(
    original.stages.map((stage) => (stage.name === name ? faultyV2(stage, fault) : stage)),
  );
}

// ---------------------------------------------------------------------------------------------
// The installation

let root: string;
let services: LocalServices;
let sql: SqlClient;
let definitions: WorkflowDefinitions;
const events: TaskEvent[] = [];

/** The kinds of fault the scenarios inject. */
type FaultKind = 'stage failure' | 'stopped execution' | 'paused-database error' | 'lost DynamoDB response';

/** One scenario: the faults it injected, and whether it ended where it must (set at its end). */
interface Scenario {
  readonly name: string;
  readonly faults: Partial<Record<FaultKind, number>>;
  recovered: boolean;
}
const scenarios: Scenario[] = [];
const lines: string[] = [];

function scenario(name: string): Scenario {
  const started: Scenario = { name, faults: {}, recovered: false };
  scenarios.push(started);
  return started;
}

function injected(into: Scenario, kind: FaultKind, count: number): void {
  into.faults[kind] = (into.faults[kind] ?? 0) + count;
}

/** "12 scenarios, 19 faults injected (…), all recovered": scenarios and injections counted apart. */
function summary(): string {
  const byKind = new Map<FaultKind, number>();
  for (const { faults } of scenarios) {
    for (const [kind, count] of Object.entries(faults) as Array<[FaultKind, number]>) {
      byKind.set(kind, (byKind.get(kind) ?? 0) + count);
    }
  }
  const total = [...byKind.values()].reduce((sum, count) => sum + count, 0);
  const recovered = scenarios.filter((run) => run.recovered).length;
  const kinds = [...byKind].map(([kind, count]) => `${count} ${kind}${count === 1 ? '' : 's'}`).join(', ');
  return (
    `${scenarios.length} scenarios, ${total} faults injected (${kinds}), ` +
    (recovered === scenarios.length ? 'all recovered' : `${recovered} of ${scenarios.length} recovered`)
  );
}

/** The same services with other code deployed: what a deploy of a new stage list does to the runtime. */
function withCode(code: Pipeline): LocalServices {
  return { ...services, deps: { ...services.deps, pipeline: code } };
}

async function workflowsFor(code: Pipeline, onTask?: (event: TaskEvent) => void): Promise<LocalWorkflows> {
  return LocalWorkflows.create(withCode(code), definitions, {
    pauseMs: 20,
    onTask: (event) => {
      events.push(event);
      onTask?.(event);
    },
  });
}

async function runDaily(code: Pipeline, dates: readonly IsoDate[]): Promise<void> {
  const workflows = await workflowsFor(code);
  for (const date of dates) {
    const outcome = await workflows.start('daily', { date }).done;
    if (outcome.status !== 'SUCCEEDED') throw new Error(`daily ${date}: ${JSON.stringify(outcome)}`);
  }
}

type Dump = Record<string, unknown[]>;
const dumpOwned = (): Promise<Dump> => dumpTables(sql, OWNED_TABLES);

/** The owned tables' rows for `from` and later dates, to show a failed stage's rows were rolled back. */
async function dumpOwnedFrom(from: IsoDate): Promise<Dump> {
  const dump: Dump = {};
  for (const table of OWNED_TABLES) {
    const { rows } = await sql.query(`SELECT * FROM ${table} WHERE day >= $1::date`, [from]);
    dump[table] = rows.map((row) => JSON.stringify(row)).sort();
  }
  return dump;
}

const references = new Map<string, Dump>();

/** The owned tables of an emptied database where the code with `stage` at v2 ran every date. */
async function fromScratch(stage: string): Promise<Dump> {
  const cached = references.get(stage);
  if (cached !== undefined) return cached;
  await resetDatabase(sql);
  await runDaily(changedPipeline(stage, { armed: false, date: null, injected: 0 }), DATES);
  const dump = await dumpOwned();
  references.set(stage, dump);
  return dump;
}

const key = (date: IsoDate, stage: string) => `${date}/${stage}`;

async function ledgerByKey(): Promise<Map<string, LedgerRow>> {
  return new Map((await readLedger(sql)).map((row) => [key(row.date, row.stage), row]));
}

async function historyCount(): Promise<number> {
  return (await readHistory(sql)).length;
}

async function fenceToken(): Promise<number> {
  const { rows } = await sql.query<{ token: number }>('SELECT token FROM hindsight_fence WHERE id = 1');
  return Number(rows[0].token);
}

function failure(outcome: ExecutionOutcome): { error: string; cause: string } {
  if (outcome.status !== 'FAILED')
    throw new Error(`Expected a failed execution, got ${JSON.stringify(outcome)}`);
  return outcome;
}

const prepareDateInput = z.strictObject({ position: z.number(), executionId: z.string(), token: z.number() });
const stageInput = z.strictObject({ date: z.string(), token: z.number(), executionId: z.string() });

/** The input a Task of `execution` received that `matches`, as the console's event history shows it. */
function taskInput<T>(
  schema: z.ZodType<T>,
  matches: (input: T) => boolean,
  execution: string,
  state: string,
): T {
  for (const event of events) {
    if (event.executionId !== execution || event.state !== state) continue;
    const input = schema.parse(event.input);
    if (matches(input)) return input;
  }
  throw new Error(`No matching "${state}" task of ${execution}.`);
}
/** "Prepare Date" of `date`: the item at that date's position in the plan the execution stored. */
async function prepareDateTask(execution: string, date: IsoDate) {
  const position = (await readBackfillPlan(sql, execution)).find(
    (planned) => planned.date === date,
  )?.position;
  return taskInput(prepareDateInput, (input) => input.position === position, execution, 'Prepare Date');
}
const stageTask = (execution: string, state: string, date: IsoDate) =>
  taskInput(stageInput, (input) => input.date === date, execution, state);

/**
 * The payload a Task state sends, as Step Functions builds it from its Parameters: literal fields
 * as they are, `key.$` fields read from the state input (`$.…`) or the execution (`$$.Execution.Id`).
 */
function payloadOf(task: AslState | undefined, input: JsonObject, executionId: string): JsonObject {
  const parameters = task?.Parameters;
  if (
    parameters === undefined ||
    parameters === null ||
    typeof parameters !== 'object' ||
    Array.isArray(parameters)
  )
    throw new Error('A Task state without Parameters.');
  const payload: JsonObject = {};
  for (const [key, value] of Object.entries(parameters)) {
    if (!key.endsWith('.$')) {
      payload[key] = value;
      continue;
    }
    const path = String(value);
    let resolved: JsonValue | undefined;
    if (path === '$$.Execution.Id') resolved = executionId;
    else if (path.startsWith('$.')) {
      resolved = input;
      for (const part of path.slice(2).split('.')) {
        resolved =
          resolved !== null && typeof resolved === 'object' && !Array.isArray(resolved)
            ? resolved[part]
            : undefined;
      }
    }
    if (resolved === undefined) throw new Error(`Cannot resolve ${path} for ${key}.`);
    payload[key.slice(0, -2)] = resolved;
  }
  return payload;
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'hindsight-faults-'));
  definitions = testWorkflowDefinitions('fault-injection', original);
  services = await openLocalServices({
    dataDir: join(root, 'data'),
    pipeline: original,
    migrationsDirectory: METERS.migrationsDirectory,
    params,
  });
  sql = services.deps.sql;
  // The history every scenario starts from: the original code, the daily workflow, every date.
  await runDaily(original, DATES);
  await snapshotTables(sql);
});

afterAll(async () => {
  await services?.close();
  rmSync(root, { recursive: true, force: true });
  console.log([`Fault injection (seed ${random.seed}): ${summary()}.`, ...lines].join('\n'));
});

// ---------------------------------------------------------------------------------------------
// A stage fails on one date of a backfill

describe.each(original.names.map((name) => [name]))('a backfill after %s v2 throws on one date', (stage) => {
  it(`fails naming ${stage} and the date, releases the lease, keeps the ledger whole; the next auto backfill ends as a from-scratch run`, async () => {
    // Prepare
    const expected = await fromScratch(stage);
    await restoreTables(sql);
    const trial = scenario(`backfill after ${stage} v2 throws on one date`);
    const fault: Fault = { armed: true, date: random.pick(DATES), injected: 0 };
    const faultDate = fault.date ?? DATES[0];
    const code = changedPipeline(stage, fault);
    const workflows = await workflowsFor(code);
    const ledgerBefore = await ledgerByKey();
    const historyBefore = await historyCount();
    const rowsFromFaultDate = await dumpOwnedFrom(faultDate);
    const started = performance.now();

    // Act
    const failed = workflows.start('backfill', { mode: 'auto' });
    const outcome = await failed.done;

    // Assess: the execution names the stage, the date and the cause
    const { error, cause } = failure(outcome);
    expect(`${error}: ${cause}`).toContain(`Stage ${stage} failed for ${faultDate}`);
    expect(cause).toContain(`injected fault in ${stage} v2 on ${faultDate}`);
    expect(fault.injected).toBe(1);
    injected(trial, 'stage failure', fault.injected);

    // The lease is released.
    expect(await readLease(services)).toMatchObject({ holder: null });

    // Nothing half-done: dates before the fault carry this backfill's runs from the stage on; the
    // fault date and every later one keep exactly the rows and ledger entries they had.
    const ledgerAfter = await ledgerByKey();
    const from = code.indexOf(stage);
    const faultIndex = DATES.indexOf(faultDate);
    for (const date of DATES) {
      for (const [i, name] of code.names.entries()) {
        const now = ledgerAfter.get(key(date, name));
        if (i >= from && date < faultDate) {
          expect({ date, name, execution: now?.executionId }).toEqual({
            date,
            name,
            execution: failed.executionId,
          });
          if (name === stage) expect(now?.version).toBe(2);
        } else {
          expect({ date, name, row: now }).toEqual({ date, name, row: ledgerBefore.get(key(date, name)) });
        }
      }
    }
    expect(await historyCount()).toBe(historyBefore + faultIndex * (code.names.length - from));
    expect(await dumpOwnedFrom(faultDate)).toEqual(rowsFromFaultDate);

    // Act: the fault is gone; the same request again
    fault.armed = false;
    const resume = workflows.start('backfill', { mode: 'auto' });

    // Assess: it resumes at the fault date and ends where the new code from scratch does
    const plan = backfillOutput(await resume.done);
    expect(await plannedDates(sql, resume.executionId)).toEqual(
      DATES.slice(faultIndex).map((date) => [date, stage]),
    );
    expect(await readLease(services)).toMatchObject({ holder: null });
    expect(await dumpOwned()).toEqual(expected);
    trial.recovered = true;
    lines.push(
      `  ${stage} v2 failing on ${faultDate} (date ${faultIndex + 1} of ${DATES.length}): ` +
        `${error}, then resumed ${plan.totals.dates} dates / ${plan.totals.stageRuns} stage-runs ` +
        `(${((performance.now() - started) / 1000).toFixed(1)} s)`,
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Redrive: a failed date's inputs presented again, after the lease was released

describe('a failed backfill date, redriven', () => {
  const stage = 'validate';
  const runState = runStateName(stage);

  async function failOnce(trial: Scenario): Promise<{
    executionId: string;
    faultDate: IsoDate;
    code: Pipeline;
    fault: Fault;
  }> {
    await fromScratch(stage);
    await restoreTables(sql);
    // A date with an earlier planned date, so Prepare Date also checks its predecessor.
    const fault: Fault = { armed: true, date: random.pick(DATES.slice(1)), injected: 0 };
    const code = changedPipeline(stage, fault);
    const execution = (await workflowsFor(code)).start('backfill', { mode: 'auto' });
    expect((await execution.done).status).toBe('FAILED');
    injected(trial, 'stage failure', fault.injected);
    fault.armed = false;
    return { executionId: execution.executionId, faultDate: fault.date ?? DATES[1], code, fault };
  }

  it('fails a stage run presenting the old token once Prepare Date re-took the lease with a new one; nothing is written without the lease', async () => {
    // Prepare: a failed backfill, its lease released
    const trial = scenario('a failed backfill date, redriven with its old token');
    const { executionId, faultDate, code } = await failOnce(trial);
    const prepare = await prepareDateTask(executionId, faultDate);
    const run = stageTask(executionId, runState, faultDate);
    const released = await readLease(services);
    expect(released).toMatchObject({ holder: null });
    const lastToken = released?.token ?? Number.NaN;
    expect(run.token).toBe(prepare.token);
    expect(lastToken).toBeGreaterThanOrEqual(run.token);
    const deps = withCode(code).deps;

    // Act: the redriven item's first Task, with its original input
    const prepared = await prepareDate(deps, prepare);

    // Assess: the lease is this execution's again, under a token never used before
    expect(prepared.token).toBeGreaterThan(lastToken);
    expect(await readLease(services)).toMatchObject({ holder: executionId, token: prepared.token });
    expect(await fenceToken()).toBe(prepared.token);

    // Act: the stage Task presenting the token the failed attempt had, and a zombie of that
    // attempt that passed its lease check before the failure and commits only now
    const before = await databaseChecksum(sql);
    const stale = await runStageTask(deps, stage, run).catch((error: unknown) => error);
    const zombie = await runStage(
      sql,
      code,
      { stage, date: faultDate, fenceToken: run.token, executionId },
      deps.params,
    ).catch((error: unknown) => error);

    // Assess: refused — by the lease item, or by the fence when this lease service saw that token
    // held less than a minute ago and spared the read (LeaseService.keep) — and not one row changed
    expect(refusedWithoutLease(stale)).toBe(true);
    expect(zombie).toBeInstanceOf(StaleFenceTokenError);
    expect(await databaseChecksum(sql)).toBe(before);

    // The redriven chain reads its token from Prepare Date: under the lease, it writes.
    const leased = await runStageTask(deps, stage, { ...run, token: prepared.token });
    expect(leased).toMatchObject({ stage, date: faultDate, version: 2 });
    expect((await ledgerByKey()).get(key(faultDate, stage))).toMatchObject({
      executionId,
      fenceToken: prepared.token,
      version: 2,
    });
    expect(
      await handleLease(deps, { action: 'release', kind: 'backfill', executionId, token: prepared.token }),
    ).toEqual({
      released: true,
    });

    // And a new auto backfill finishes the rest, as if nothing had happened.
    backfillOutput(await (await workflowsFor(code)).start('backfill', { mode: 'auto' }).done);
    expect(await dumpOwned()).toEqual(await fromScratch(stage));
    trial.recovered = true;
    lines.push(
      `  redrive of ${faultDate}: Prepare Date re-took the lease with token ${prepared.token} ` +
        `(the failed attempt had ${run.token}); the old token was refused`,
    );
  });

  it('frees the lease at the end of a redriven backfill, whose Prepare Date re-took it under a new token', async () => {
    // Prepare: a backfill failing on its last date; its Catch released the lease
    const trial = scenario('the last date of a failed backfill, redriven to the end');
    await fromScratch(stage);
    await restoreTables(sql);
    const lastDate = DATES[DATES.length - 1];
    const fault: Fault = { armed: true, date: lastDate, injected: 0 };
    const code = changedPipeline(stage, fault);
    const failed = (await workflowsFor(code)).start('backfill', { mode: 'auto' });
    expect((await failed.done).status).toBe('FAILED');
    injected(trial, 'stage failure', fault.injected);
    fault.armed = false;
    const prepare = await prepareDateTask(failed.executionId, lastDate);
    const deps = withCode(code).deps;

    // Act: the redrive. The failed item runs again with its own input; its chain uses Prepare Date's token.
    const prepared = await prepareDate(deps, prepare);
    for (const name of code.names.slice(code.indexOf(prepared.startStage))) {
      await runStageTask(deps, name, {
        date: prepared.date,
        token: prepared.token,
        executionId: failed.executionId,
      });
    }
    // The Map is done: the backfill's own "Release Lease", with the payload its definition builds
    // from the state (whose $.lease.token is still the one the first Acquire Lease returned).
    const states = definitions.backfill.definition.States;
    const state = { lease: { token: prepare.token }, plan: {} };
    const released = await handleLease(deps, payloadOf(states['Release Lease'], state, failed.executionId));

    // Assess: the lease is free and the fence has moved past the re-taken token
    expect(prepared.token).toBeGreaterThan(prepare.token);
    expect(released).toEqual({ released: true });
    expect(await readLease(services)).toMatchObject({ holder: null, token: prepared.token });
    expect(await fenceToken()).toBe(prepared.token + 1);
    expect(await dumpOwned()).toEqual(await fromScratch(stage));
    // A redrive that fails again releases through "Release Lease After Failure", which sends the same.
    expect(states['Release Lease After Failure']?.Parameters).toEqual(states['Release Lease']?.Parameters);
    trial.recovered = true;
    lines.push(
      `  redrive of the last date ${lastDate}: re-taken with token ${prepared.token} (the backfill acquired ${prepare.token}); ` +
        'the final Release Lease freed it',
    );
  });

  /*
   * The stage Task checks its token against the lease item, which nobody holds; and releasing
   * the lease moved the fence past its token, so a zombie past its check cannot commit either.
   */
  it('refuses a stage run presenting the failed backfill’s token while nobody holds the lease', async () => {
    // Prepare: a failed backfill, its lease released, no new owner yet
    const trial = scenario('a stage Task of a failed backfill, late, while nobody holds the lease');
    const { executionId, faultDate, code } = await failOnce(trial);
    const run = stageTask(executionId, runState, faultDate);
    expect(await readLease(services)).toMatchObject({ holder: null });
    const before = await databaseChecksum(sql);

    // Act & Assess: a late or redriven "Run Validate" with the failed attempt's input, and a zombie
    // of it past its lease check; without the lease, nothing may be written
    const late = await runStageTask(withCode(code).deps, stage, run).catch((error: unknown) => error);
    expect(refusedWithoutLease(late)).toBe(true);
    await expect(
      runStage(
        sql,
        code,
        { stage, date: faultDate, fenceToken: run.token, executionId },
        services.deps.params,
      ),
    ).rejects.toBeInstanceOf(StaleFenceTokenError);
    expect(await databaseChecksum(sql)).toBe(before);
    trial.recovered = true;
  });
});

// ---------------------------------------------------------------------------------------------
// Stop a backfill mid-way, twice, then let one finish

/**
 * Waits (up to 3 s) for the stage Task that was running when its execution stopped; true when it
 * committed only after `done` resolved, i.e. after the lease had been released.
 */
async function settledAfterRelease(task: TaskEvent, code: Pipeline): Promise<boolean> {
  const { date, token, executionId } = stageInput.parse(task.input);
  const stage = code.names.find((name) => runStateName(name) === task.state) ?? '';
  const committed = async () => {
    const row = (await ledgerByKey()).get(key(date, stage));
    return row?.executionId === executionId && row.fenceToken === token;
  };
  if (await committed()) return false;
  for (let waited = 0; waited < 3_000; waited += 100) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    if (await committed()) return true;
  }
  return false;
}

describe('a backfill stopped mid-way', () => {
  it('fails nothing it leaves behind: ABORTED, the lease released by the status-change rule, and the next auto backfill ends as a from-scratch run', async () => {
    // Prepare
    const trial = scenario('a backfill stopped mid-way, twice, then finished');
    const stage = 'validate';
    const expected = await fromScratch(stage);
    await restoreTables(sql);
    const code = changedPipeline(stage, { armed: false, date: null, injected: 0 });
    let abortAfter = 0;
    let runs = 0;
    let stop: (() => void) | undefined;
    let inFlight: TaskEvent | undefined;
    const stopped: number[] = [];
    const workflows = await workflowsFor(code, (event) => {
      if (event.state.startsWith('Run ') && ++runs === abortAfter) {
        inFlight = event;
        stop?.();
      }
    });
    let commitsAfterRelease = 0;

    while (stopped.length < 2) {
      runs = 0;
      abortAfter = random.int(2, 20);
      // Act
      const execution = workflows.start('backfill', { mode: 'auto' });
      stop = execution.abort;
      const outcome = await execution.done;

      // Assess
      expect(outcome).toEqual({ status: 'ABORTED' });
      expect(await readLease(services)).toMatchObject({ holder: null });
      // No Catch ran: the release came from the status-change rule's local twin.
      const own = events.filter((event) => event.executionId === execution.executionId);
      expect(own.filter((event) => event.state.startsWith('Release Lease'))).toEqual([]);
      expect(own.filter((event) => event.state.startsWith('Run '))).toHaveLength(abortAfter);
      stopped.push(abortAfter);
      injected(trial, 'stopped execution', 1);
      // The Task running when the stop came is not cancelled (nor is its Lambda in AWS): see whether
      // it commits after the lease was given back.
      if (inFlight !== undefined && (await settledAfterRelease(inFlight, code))) commitsAfterRelease++;
    }

    // Act: a backfill left to finish
    const plan = backfillOutput(await workflows.start('backfill', { mode: 'auto' }).done);

    // Assess
    expect(plan.totals.dates).toBeGreaterThan(0);
    expect(await readLease(services)).toMatchObject({ holder: null });
    expect(await dumpOwned()).toEqual(expected);
    trial.recovered = true;
    lines.push(
      `  ${stopped.length} aborts (after ${stopped.join(' and ')} stage Tasks), each lease released; ` +
        `then ${plan.totals.dates} dates / ${plan.totals.stageRuns} stage-runs finished the backfill; ` +
        `${commitsAfterRelease} in-flight stage Task(s) committed after the lease was released`,
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Issue 15: a paused cluster, and lost DynamoDB responses, in the middle of a backfill

/**
 * The services with `sql` failing with DatabaseStillResumingError on the calls numbered in
 * `failing` (0-based), recording in `hit` the Task that was running each time.
 */
function pausedDatabase(
  failing: ReadonlySet<number>,
  hit: { readonly running: { state: string }; readonly states: string[]; calls: number },
): LocalServices {
  const fail = () => {
    if (!failing.has(hit.calls++)) return false;
    hit.states.push(hit.running.state);
    return true;
  };
  const resuming = () =>
    new DatabaseStillResumingError(
      'The Aurora cluster was still resuming after 6 attempts; nothing was executed. Retry later.',
    );
  const paused: SqlClient = {
    kind: sql.kind,
    query: (text, params) => (fail() ? Promise.reject(resuming()) : sql.query(text, params)),
    transaction: (work) => (fail() ? Promise.reject(resuming()) : sql.transaction(work)),
    close: () => sql.close(),
  };
  return { ...services, deps: { ...services.deps, sql: paused } };
}

describe('a backfill while the Aurora cluster resumes', () => {
  it('rides out DatabaseStillResumingError wherever it strikes (planning, Prepare Date, a stage, the lease): the Retry of every Task, then a from-scratch result', async () => {
    // Prepare: three calls among the first 40 database calls of the backfill (about 80 in all) meet a paused cluster
    const trial = scenario('a backfill while the Aurora cluster resumes');
    const stage = 'summarize';
    const expected = await fromScratch(stage);
    await restoreTables(sql);
    const failing = new Set<number>();
    while (failing.size < 3) failing.add(random.int(0, 39));
    const hit = { running: { state: '' }, states: [] as string[], calls: 0 };
    const code = changedPipeline(stage, { armed: false, date: null, injected: 0 });
    const paused = pausedDatabase(failing, hit);
    const workflows = await LocalWorkflows.create(
      { ...paused, deps: { ...paused.deps, pipeline: code } },
      definitions,
      {
        pauseMs: 20,
        onTask: (event) => {
          events.push(event);
          hit.running.state = event.state;
        },
      },
    );

    // Act
    const plan = backfillOutput(await workflows.start('backfill', { mode: 'auto' }).done);

    // Assess: it succeeded, freed the lease, fenced off its token, and wrote what the code computes
    injected(trial, 'paused-database error', hit.states.length);
    expect(hit.states).toHaveLength(3);
    const lease = await readLease(services);
    expect(lease).toMatchObject({ holder: null });
    expect(await fenceToken()).toBe((lease?.token ?? Number.NaN) + 1);
    expect(await dumpOwned()).toEqual(expected);
    trial.recovered = true;
    lines.push(
      `  paused cluster: database calls ${[...failing].sort((a, b) => a - b).join(', ')} of ${hit.calls} failed with ` +
        `DatabaseStillResumingError (in ${hit.states.join(', ')}), each Task retried; ` +
        `${plan.totals.dates} dates / ${plan.totals.stageRuns} stage-runs finished`,
    );
  });
});

describe('a backfill whose lease writes lose their responses', () => {
  it('acquires, renews and releases through lost PutItem responses: the lease ends free with the fence past its last token, and the result is a from-scratch run', async () => {
    // Prepare: every renewal writes (no renew interval), and three of the first 20 PutItem answers are lost
    const trial = scenario('a backfill whose lease writes lose their responses');
    const stage = 'trend';
    const expected = await fromScratch(stage);
    await restoreTables(sql);
    const lossy = lossyDynamoClient(services.dynamo.endpoint);
    const lost = new Set<number>();
    while (lost.size < 3) lost.add(random.int(0, 19));
    lossy.losePuts(lost);
    const leases = new LeaseService(
      new DynamoDbLeaseStore({ client: lossy.client, tableName: LOCAL_LEASE_TABLE }),
      { isRunning: async (executionId) => services.running.has(executionId) },
      { renewIntervalMs: 0 },
    );
    const code = changedPipeline(stage, { armed: false, date: null, injected: 0 });
    const workflows = await LocalWorkflows.create(
      { ...services, deps: { ...services.deps, pipeline: code, leases } },
      definitions,
      { pauseMs: 20, onTask: (event) => events.push(event) },
    );

    // Act
    const execution = workflows.start('backfill', { mode: 'auto' });
    const plan = backfillOutput(await execution.done);

    // Assess
    injected(trial, 'lost DynamoDB response', lossy.lost);
    expect(lossy.lost).toBeGreaterThan(0);
    const lease = await readLease(services);
    expect(lease).toMatchObject({ holder: null });
    expect(await fenceToken()).toBe((lease?.token ?? Number.NaN) + 1);
    expect(await dumpOwned()).toEqual(expected);
    trial.recovered = true;
    lossy.client.destroy();
    lines.push(
      `  lost DynamoDB responses: PutItem calls ${[...lost].sort((a, b) => a - b).join(', ')} planned, ${lossy.lost} landed ` +
        `and lost their answer; ${plan.totals.dates} dates / ${plan.totals.stageRuns} stage-runs finished, ` +
        `the lease free at token ${lease?.token} with the fence at ${await fenceToken()}`,
    );
  });
});
