/**
 * Issue 15, "Liveness" and "Fencing under lost responses": each interleaving the review found,
 * replayed through the steps the Lambdas run (the same code the local workflows bind), on PGlite
 * with the meters fixture and a clock the test moves. Lost DynamoDB responses cannot happen on
 * demand in AWS: they are modelled against dynalite with an SDK middleware that lets a PutItem
 * land, then throws a retryable error in place of its response, so the SDK's own retry sends it
 * again, as the SDK does when a connection drops after the request went out.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DatabaseStillResumingError } from '../../lambdas/adapters/data-api-sql';
import { DynamoDbLeaseStore } from '../../lambdas/adapters/dynamodb-lease-store';
import type { IsoDate } from '../../lambdas/engine/dates';
import { LeaseHeldError, LeaseLostError, StaleFenceTokenError } from '../../lambdas/engine/errors';
import {
  type HolderLiveness,
  type LeaseRecord,
  LeaseService,
  type LeaseStore,
} from '../../lambdas/engine/lease';
import type { SqlClient } from '../../lambdas/engine/sql';
import { saveBackfillPlan } from '../../lambdas/ledger/backfill-plans';
import { handleLease } from '../../lambdas/workflow/lease-steps';
import { runStage } from '../../lambdas/workflow/stage-runner';
import {
  checkEarlierDates,
  prepareDate,
  runStageTask,
  type StepDependencies,
} from '../../lambdas/workflow/steps';
import { ensureLeaseTable, type LocalDynamo, startDynalite } from '../../local/dynalite-server';
import { pipeline } from '../fixtures/pipelines/meters';
import { databaseKinds, resetDatabase } from '../support/databases';
import { lossyDynamoClient } from '../support/lossy-dynamodb';
import { MemoryLeaseStore } from '../support/memory-lease-store';
import { databaseChecksum } from '../support/state-checksum';

const MINUTE = 60_000;
const T0 = Date.parse('2026-11-24T02:00:00Z');
const DATE: IsoDate = '2026-11-23';
const DAILY = 'arn:aws:states:eu-west-1:123456789012:execution:HindsightDaily:2026-11-24';
const BACKFILL = 'arn:aws:states:eu-west-1:123456789012:execution:HindsightBackfill:deploy-1';
const STATUS_RULE_MACHINE = 'arn:aws:states:eu-west-1:123456789012:stateMachine:HindsightBackfill';
const TABLE = 'hindsight-lease-hardening';
const everyoneRuns: HolderLiveness = { isRunning: async () => true };

let sql: SqlClient;
let dynamo: LocalDynamo;
let keys = 0;

beforeAll(async () => {
  sql = await databaseKinds()[0].open();
  dynamo = await startDynalite(undefined);
  await ensureLeaseTable(dynamo.client, TABLE);
});

afterAll(async () => {
  await sql?.close();
  await dynamo?.close();
});

beforeEach(() => resetDatabase(sql));

/** The steps' dependencies over `store`, with the clock at `clock.now`. */
function depsOver(
  store: LeaseStore,
  clock: { now: number },
  options: { liveness?: HolderLiveness; sql?: SqlClient } = {},
): StepDependencies {
  return {
    sql: options.sql ?? sql,
    pipeline,
    params: { rowsPerDay: '20' },
    leases: new LeaseService(store, options.liveness ?? everyoneRuns),
    transitions: [],
    maxBackfillDays: 3660,
    now: () => new Date(clock.now),
  };
}

async function fence(): Promise<number> {
  const { rows } = await sql.query<{ token: number }>('SELECT token FROM hindsight_fence WHERE id = 1');
  return Number(rows[0]?.token);
}

async function acquired(deps: StepDependencies, kind: 'daily' | 'backfill', executionId: string) {
  const grant = await handleLease(deps, { action: 'acquire', kind, executionId });
  if (!('token' in grant)) throw new Error('acquire answered without a token');
  return grant;
}

/** The name of what a call threw, or "ok". */
async function outcome(call: () => Promise<unknown>): Promise<string> {
  try {
    await call();
    return 'ok';
  } catch (error) {
    return error instanceof Error ? error.name : String(error);
  }
}

describe('Liveness: a healthy holder keeps its lease', () => {
  it('keeps a RUNNING daily run’s lease while its stages outlast the lease duration: a backfill asking between them waits, every stage commits', async () => {
    // Prepare: the deployed lease (15 minutes); each Task of the run takes its whole timeout's worth.
    const clock = { now: T0 };
    const deps = depsOver(new MemoryLeaseStore(), clock);
    const lease = await acquired(deps, 'daily', DAILY);
    clock.now += 2 * MINUTE;
    await checkEarlierDates(deps, { date: DATE });
    const timeline: string[] = [];

    // Act: the stages, 10 minutes each; between two of them the after-deploy backfill asks for the lease
    for (const stage of pipeline.names) {
      const minute = (clock.now - T0) / MINUTE;
      timeline.push(
        `+${minute} min ${stage}: ${await outcome(() => runStageTask(deps, stage, { date: DATE, token: lease.token, executionId: DAILY }))}`,
      );
      clock.now += 10 * MINUTE;
      timeline.push(
        `+${(clock.now - T0) / MINUTE} min backfill acquire: ${await outcome(() => acquired(deps, 'backfill', BACKFILL))}`,
      );
    }

    // Assess: the run never lost its lease (before the fix, the backfill took it over at +22 min,
    // and Run Summarize then failed with StaleFenceTokenError)
    expect(timeline).toEqual([
      '+2 min collect: ok',
      `+12 min backfill acquire: ${LeaseHeldError.name}`,
      '+12 min validate: ok',
      `+22 min backfill acquire: ${LeaseHeldError.name}`,
      '+22 min summarize: ok',
      `+32 min backfill acquire: ${LeaseHeldError.name}`,
      '+32 min trend: ok',
      `+42 min backfill acquire: ${LeaseHeldError.name}`,
      '+42 min report: ok',
      `+52 min backfill acquire: ${LeaseHeldError.name}`,
    ]);
    expect(await handleLease(deps, { action: 'release', kind: 'daily', executionId: DAILY })).toEqual({
      released: true,
    });
    await expect(acquired(deps, 'backfill', BACKFILL)).resolves.toMatchObject({ token: lease.token + 1 });
  });

  it('has Prepare Date renew the lease its backfill holds before its first statement, so a date as long as its timeout is covered', async () => {
    // Prepare: a backfill holding the lease acquired 14 minutes ago, about to prepare its next date
    const clock = { now: T0 };
    const store = new MemoryLeaseStore();
    const deps = depsOver(store, clock);
    const lease = await acquired(deps, 'backfill', BACKFILL);
    await saveBackfillPlan(sql, BACKFILL, [{ date: DATE, startStage: 'collect', stages: pipeline.names }]);
    clock.now += 14 * MINUTE;

    // Act
    const prepared = await prepareDate(deps, { position: 0, executionId: BACKFILL, token: lease.token });

    // Assess: same token, and the lease now lasts 15 minutes from this date's start
    expect(prepared.token).toBe(lease.token);
    expect(store.current).toMatchObject({ holder: BACKFILL, expiresAt: clock.now + 15 * MINUTE });
  });

  it('has Check Earlier Dates renew the lease it is given, and refuse to go on for a lease it no longer holds', async () => {
    // Prepare
    const clock = { now: T0 };
    const store = new MemoryLeaseStore();
    const deps = depsOver(store, clock);
    const lease = await acquired(deps, 'daily', DAILY);
    clock.now += 5 * MINUTE;

    // Act
    const checked = await checkEarlierDates(deps, { date: DATE, executionId: DAILY, token: lease.token });
    const stale = await outcome(() =>
      checkEarlierDates(deps, { date: DATE, executionId: DAILY, token: lease.token - 1 }),
    );

    // Assess
    expect(checked).toEqual({ date: DATE, checked: null });
    expect(store.current).toMatchObject({ holder: DAILY, expiresAt: clock.now + 15 * MINUTE });
    expect(stale).toBe(LeaseLostError.name);
  });
});

describe('Liveness: a late status-change event', () => {
  const ended = (executionArn: string) => ({
    detail: { executionArn, status: 'FAILED', stateMachineArn: STATUS_RULE_MACHINE },
  });

  it('leaves the lease of an execution that runs again (redriven), and the fence, as they are', async () => {
    // Prepare: the backfill failed, was redriven, and its Prepare Date holds the lease with token 5
    const clock = { now: T0 };
    const store = new MemoryLeaseStore({
      holder: BACKFILL,
      kind: 'backfill',
      token: 5,
      expiresAt: T0 + 15 * MINUTE,
      acquiredAt: T0,
    });
    await sql.query('UPDATE hindsight_fence SET token = 5 WHERE id = 1');
    const deps = depsOver(store, clock, { liveness: { isRunning: async (id) => id === BACKFILL } });

    // Act: the EventBridge event of its first attempt's failure arrives now
    const result = await handleLease(deps, ended(BACKFILL));

    // Assess
    expect(result).toEqual({ released: false, holderRunning: true });
    expect(store.current).toMatchObject({ holder: BACKFILL, token: 5 });
    expect(await fence()).toBe(5);
    await expect(
      runStageTask(deps, 'collect', { date: DATE, token: 5, executionId: BACKFILL }),
    ).resolves.toMatchObject({ stage: 'collect' });
  });

  it('releases an ended execution’s lease, and only the lease it was seen holding: not one a redrive took meanwhile', async () => {
    // Prepare: the execution ended holding token 5; Step Functions says so at first
    const clock = { now: T0 };
    const store = new MemoryLeaseStore({
      holder: BACKFILL,
      kind: 'backfill',
      token: 5,
      expiresAt: T0 + 15 * MINUTE,
      acquiredAt: T0,
    });
    let running = false;
    const deps = depsOver(store, clock, { liveness: { isRunning: async () => running } });
    // Between the rule's read and its write, a redrive releases and re-takes the lease (token 6).
    const retaken: LeaseRecord = {
      holder: BACKFILL,
      kind: 'backfill',
      token: 6,
      expiresAt: T0 + 16 * MINUTE,
      acquiredAt: T0 + MINUTE,
    };
    store.beforeNextWrite((s) => {
      s.overwrite(retaken);
      running = true;
    });

    // Act
    const late = await handleLease(deps, ended(BACKFILL));

    // Assess: token 6 is the redrive's; the rule did not take it away
    expect(late).toEqual({ released: false, holderRunning: true });
    expect(store.current).toEqual(retaken);

    // And once the execution has really ended, the same event releases what it holds.
    running = false;
    expect(await handleLease(deps, ended(BACKFILL))).toEqual({ released: true });
    expect(store.current).toEqual({ holder: null, token: 6 });
    expect(await fence()).toBe(7);
  });
});

describe('Fencing: stage tokens are checked against the lease item', () => {
  it('refuses a forged token (2^53−1) before it moves the fence, so later leases still commit', async () => {
    // Prepare
    const clock = { now: T0 };
    const deps = depsOver(new MemoryLeaseStore(), clock);
    const daily = await acquired(deps, 'daily', DAILY);
    const before = await databaseChecksum(sql);

    // Act: a stage invocation carrying a token the lease never granted
    const forged = await outcome(() =>
      runStageTask(deps, 'collect', { date: DATE, token: Number.MAX_SAFE_INTEGER, executionId: DAILY }),
    );

    // Assess: refused, nothing written, the fence where the lease put it
    expect(forged).toBe(LeaseLostError.name);
    expect(await databaseChecksum(sql)).toBe(before);
    expect(await fence()).toBe(daily.token);
    // The holder and the next owner commit as usual (before the fix, every later token was stale).
    await runStageTask(deps, 'collect', { date: DATE, token: daily.token, executionId: DAILY });
    await handleLease(deps, { action: 'release', kind: 'daily', executionId: DAILY });
    const next = await acquired(deps, 'backfill', BACKFILL);
    await expect(
      runStageTask(deps, 'collect', { date: DATE, token: next.token, executionId: BACKFILL }),
    ).resolves.toMatchObject({ stage: 'collect' });
  });

  it('refuses a stage of an execution that does not hold the lease, whatever token it presents', async () => {
    const deps = depsOver(new MemoryLeaseStore(), { now: T0 });
    const daily = await acquired(deps, 'daily', DAILY);
    await expect(
      runStageTask(deps, 'collect', { date: DATE, token: daily.token, executionId: BACKFILL }),
    ).rejects.toThrow(
      `Execution ${BACKFILL} no longer holds the lease with token ${daily.token}: it is now held by ${DAILY}`,
    );
  });
});

describe('Fencing under lost DynamoDB responses (dynalite, SDK middleware)', () => {
  const storeOn = (client: DynamoDBClient, key: string) =>
    new DynamoDbLeaseStore({ client, tableName: TABLE, key });

  it('reports a takeover whose PutItem response was lost as a takeover, not a re-entry', async () => {
    // Prepare: the daily run's lease expired
    const key = `takeover-${++keys}`;
    const lossy = lossyDynamoClient(dynamo.endpoint);
    await new LeaseService(storeOn(dynamo.client, key), everyoneRuns).acquire('daily', DAILY, T0);
    const service = new LeaseService(storeOn(lossy.client, key), everyoneRuns);
    lossy.loseNextPuts();

    // Act
    const lease = await service.acquire('backfill', BACKFILL, T0 + 15 * MINUTE);

    // Assess
    expect(lossy.lost).toBe(1);
    expect(lease).toMatchObject({
      token: 2,
      outcome: 'took-over',
      displaced: { holder: DAILY, token: 1, reason: 'expired' },
    });
    lossy.client.destroy();
  });

  it('has Prepare Date raise the fence after a takeover whose response was lost, so the displaced holder’s late commit is refused', async () => {
    // Prepare: the daily run holds token 1 (fence 1), then stalls past its lease
    const key = `prepare-${++keys}`;
    const lossy = lossyDynamoClient(dynamo.endpoint);
    const clock = { now: T0 };
    const steady = depsOver(storeOn(dynamo.client, key), clock);
    const daily = await acquired(steady, 'daily', DAILY);
    await saveBackfillPlan(sql, BACKFILL, [{ date: DATE, startStage: 'collect', stages: pipeline.names }]);
    clock.now += 16 * MINUTE;
    const deps = depsOver(storeOn(lossy.client, key), clock);
    lossy.loseNextPuts();

    // Act: the backfill's Prepare Date takes the lease over; DynamoDB's answer is lost
    const prepared = await prepareDate(deps, { position: 0, executionId: BACKFILL, token: daily.token });
    const before = await databaseChecksum(sql);
    const zombie = await outcome(() =>
      runStage(sql, pipeline, { stage: 'collect', date: DATE, fenceToken: daily.token }, deps.params),
    );

    // Assess: the new token is the fence; the zombie's commit with the old one was refused
    expect(lossy.lost).toBe(1);
    expect(prepared.token).toBe(daily.token + 1);
    expect(await fence()).toBe(prepared.token);
    expect(zombie).toBe(StaleFenceTokenError.name);
    expect(await databaseChecksum(sql)).toBe(before);
    lossy.client.destroy();
  });

  it('raises the fence past the released token when the release’s PutItem response was lost', async () => {
    // Prepare
    const key = `release-${++keys}`;
    const lossy = lossyDynamoClient(dynamo.endpoint);
    const deps = depsOver(storeOn(lossy.client, key), { now: T0 });
    const daily = await acquired(deps, 'daily', DAILY);
    lossy.loseNextPuts();

    // Act: "Release Lease"; then a late Task of the released run tries to commit
    const released = await handleLease(deps, { action: 'release', kind: 'daily', executionId: DAILY });
    const late = await outcome(() =>
      runStage(sql, pipeline, { stage: 'collect', date: DATE, fenceToken: daily.token }, deps.params),
    );

    // Assess
    expect(lossy.lost).toBe(1);
    expect(released).toEqual({ released: true });
    expect(await storeOn(dynamo.client, key).read()).toEqual({ holder: null, token: daily.token });
    expect(await fence()).toBe(daily.token + 1);
    expect(late).toBe(StaleFenceTokenError.name);
    lossy.client.destroy();
  });

  it('raises the fence on a retried release after the first one failed between DynamoDB and PostgreSQL', async () => {
    // Prepare: the fence raise of the first release meets a cluster still resuming
    const key = `release-retry-${++keys}`;
    const store = storeOn(dynamo.client, key);
    let failRaises = 1;
    const resuming: SqlClient = {
      kind: sql.kind,
      query: (text, params) => {
        if (failRaises > 0 && text.startsWith('UPDATE hindsight_fence')) {
          failRaises--;
          return Promise.reject(new DatabaseStillResumingError('The Aurora cluster was still resuming'));
        }
        return sql.query(text, params);
      },
      transaction: (work) => sql.transaction(work),
      close: async () => undefined,
    };
    const deps = depsOver(store, { now: T0 }, { sql: resuming });
    const daily = await acquired(depsOver(store, { now: T0 }), 'daily', DAILY);

    // Act: "Release Lease" fails after DynamoDB released; Step Functions retries the Task
    const first = await outcome(() =>
      handleLease(deps, { action: 'release', kind: 'daily', executionId: DAILY }),
    );
    const fenceBetween = await fence();
    const retried = await handleLease(deps, { action: 'release', kind: 'daily', executionId: DAILY });

    // Assess: the retry released nothing more, but the fence went past the released token
    expect(first).toBe(DatabaseStillResumingError.name);
    expect(fenceBetween).toBe(daily.token);
    expect(retried).toEqual({ released: false });
    expect(await fence()).toBe(daily.token + 1);
    expect(
      await outcome(() =>
        runStage(sql, pipeline, { stage: 'collect', date: DATE, fenceToken: daily.token }, deps.params),
      ),
    ).toBe(StaleFenceTokenError.name);
  });
});

describe('A cluster still resuming', () => {
  it('fails a stage Task with DatabaseStillResumingError itself, the name its Retry matches, not StageFailedError', async () => {
    // Prepare
    const resuming: SqlClient = {
      kind: sql.kind,
      query: (text, params) => sql.query(text, params),
      transaction: () =>
        Promise.reject(new DatabaseStillResumingError('The Aurora cluster was still resuming')),
      close: async () => undefined,
    };
    const store = new MemoryLeaseStore();
    const deps = depsOver(store, { now: T0 }, { sql: resuming });
    const daily = await new LeaseService(store, everyoneRuns).acquire('daily', DAILY, T0);

    // Act
    const result = await outcome(() =>
      runStageTask(deps, 'collect', { date: DATE, token: daily.token, executionId: DAILY }),
    );

    // Assess
    expect(result).toBe('DatabaseStillResumingError');
  });
});
