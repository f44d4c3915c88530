/**
 * Issue #6: the daily run for a date, while it holds the lease and before its first stage, checks
 * that no earlier date it reads is planned to be rewritten. In-process, on the synthesized
 * workflows and PGlite: a refused run writes nothing, releases the lease and names the backfill
 * that runs the earlier dates and then this one; what no stage reads over a window never blocks it.
 */
import { addDays, dateRange } from '../../lambdas/engine/dates';
import { definePipeline, type Pipeline } from '../../lambdas/engine/pipeline';
import { defineStage } from '../../lambdas/engine/stage';
import { readHistory } from '../../lambdas/ledger/ledger-store';
import type { WorkflowDefinitions } from '../../lib/workflow-definitions';
import type { ExecutionOutcome } from '../../local/local-workflows';
import { pipeline as original } from '../fixtures/pipelines/meters';
import { report } from '../fixtures/pipelines/meters/stages/report';
import { pipeline as validateV2 } from '../fixtures/pipelines/meters-validate-v2';
import { dumpTables } from '../support/databases';
import {
  backfillOutput,
  type LocalSession,
  type LocalStore,
  type LocalStoreKind,
  localStoreKinds,
  plannedDates,
  withLocalSession,
} from '../support/local-stores';
import { databaseChecksum, readLease } from '../support/state-checksum';
import { testWorkflowDefinitions } from '../support/test-definitions';

const params = { rowsPerDay: '100' };
const DATES = dateRange('2026-01-01', '2026-01-14');
const NEW_DATE = '2026-01-15';
const OWNED_TABLES = original.stages.flatMap((stage) => stage.owns);
/**
 * The fence moves on every acquire and release, and Resolve Date records the date as due; every
 * other table is the ledger's or a stage's.
 */
const UNCHANGED = { except: ['hindsight_fence', 'hindsight_due_dates'] };

/** report v2: the trend is written in capitals; no stage reads report, let alone over a window. */
const reportV2 = definePipeline(
  original.stages.map((stage) =>
    stage.name === 'report'
      ? defineStage({
          ...report,
          version: report.version + 1,
          run: async (context) => {
            const written = await report.run(context);
            await context.sql.query(`UPDATE usage_report SET trend = upper(trend) WHERE day = $1::date`, [
              context.date,
            ]);
            return written;
          },
        })
      : stage,
  ),
);

let kinds: LocalStoreKind[];
let kind: LocalStoreKind;
let definitions: WorkflowDefinitions;
/** Daily runs of the original code for every date of DATES. */
let baseline: LocalStore;

const withSession = <T>(store: LocalStore, code: Pipeline, work: (s: LocalSession) => Promise<T>) =>
  withLocalSession(store, code, params, definitions, work);

function failed(outcome: ExecutionOutcome): { error: string; cause: string } {
  if (outcome.status !== 'FAILED')
    throw new Error(`Expected a failed execution, got ${JSON.stringify(outcome)}`);
  return outcome;
}

/** What a refused daily run must leave as it was: every row but the fence's, and a free lease. */
async function expectNothingWritten(session: LocalSession, before: string, executionId: string) {
  expect(await databaseChecksum(session.services.deps.sql, UNCHANGED)).toBe(before);
  const history = await readHistory(session.services.deps.sql);
  expect(history.filter((run) => run.executionId === executionId)).toEqual([]);
  const lease = await readLease(session.services);
  expect(lease?.holder).toBeNull();
}

beforeAll(async () => {
  kinds = localStoreKinds();
  kind = kinds[0];
  definitions = testWorkflowDefinitions('daily-checks-earlier-dates', original);
  baseline = await kind.fresh();
  await withSession(baseline, original, (session) => session.daily(DATES));
});

afterAll(async () => {
  for (const each of kinds ?? []) await each.dispose();
});

describe('a date whose daily run wrote nothing', () => {
  it('stays due: after a daily run gave up waiting for the lease, {"mode": "auto"} runs it and the refused day after it, in order', async () => {
    // Prepare: a backfill that is still running holds the lease
    const store = await kind.copy(baseline);
    await withSession(store, original, async (session) => {
      const { leases, sql } = session.services.deps;
      const holder = 'arn:aws:states:us-east-1:123456789012:execution:HindsightBackfill:long-one';
      await leases.acquire('backfill', holder, Date.now());
      session.services.running.add(holder);

      // Act: the daily run for the next date waits out the whole lease wait, then the backfill ends
      const gaveUp = await session.workflows.start('daily', { date: NEW_DATE }).done;
      session.services.running.delete(holder);
      await leases.release(holder);
      const nextDay = await session.workflows.start('daily', { date: '2026-01-16' }).done;
      const backfill = session.workflows.start('backfill', { mode: 'auto' });

      // Assess
      expect(failed(gaveUp)).toMatchObject({ error: 'GaveUpWaitingForLeaseError' });
      expect(failed(gaveUp).cause).toContain('it stays due. Start the backfill {"mode": "auto"}');
      expect(failed(nextDay)).toMatchObject({ error: 'EarlierDatesStaleError' });
      expect((await backfill.done).status).toBe('SUCCEEDED');
      expect(await plannedDates(sql, backfill.executionId)).toEqual([
        [NEW_DATE, 'collect'],
        ['2026-01-16', 'collect'],
      ]);
      const done = (await readHistory(sql)).filter((run) => run.executionId === backfill.executionId);
      expect(done.map((run) => `${run.date} ${run.stage}`)).toEqual(
        [NEW_DATE, '2026-01-16'].flatMap((date) => original.names.map((stage) => `${date} ${stage}`)),
      );
    });
  });
});

describe('the daily run, before its first stage', () => {
  it('refuses to run on top of earlier dates a validate change will rewrite, writes nothing, and the backfill it names runs them and then this date, in order', async () => {
    // Prepare: v1 history, then validate v2 deployed
    const store = await kind.copy(baseline);
    await withSession(store, validateV2, async (session) => {
      const { sql } = session.services.deps;
      const before = await databaseChecksum(sql, UNCHANGED);
      const tokenBefore = (await readLease(session.services))?.token ?? 0;

      // Act
      const daily = session.workflows.start('daily', { date: NEW_DATE });
      const { error, cause } = failed(await daily.done);

      // Assess: refused with the dates trend reads, where they rerun from and why
      expect(error).toBe('EarlierDatesStaleError');
      expect(cause).toContain(`The daily run for ${NEW_DATE} did not run: 6 earlier dates it reads`);
      expect(cause).toContain(
        '2026-01-09 .. 2026-01-14 (6 dates): rerun from validate, read by trend; ' +
          'why: code changed: validate v1 → v2',
      );
      const suggested = '{"mode": "auto"}';
      expect(cause).toContain(`Start the backfill ${suggested}`);
      // No stage ran, the ledger and owned tables are as they were, the lease is free again.
      await expectNothingWritten(session, before, daily.executionId);
      expect((await readLease(session.services))?.token).toBe(tokenBefore + 1);

      // Act: the backfill the refusal names
      const backfill = session.workflows.start('backfill', JSON.parse(suggested));
      backfillOutput(await backfill.done);

      // Assess: every earlier date from validate, then the new date from collect, in date order
      expect(await plannedDates(sql, backfill.executionId)).toEqual([
        ...DATES.map((date) => [date, 'validate']),
        [NEW_DATE, 'collect'],
      ]);
      const order = (await readHistory(sql))
        .filter((run) => run.executionId === backfill.executionId)
        .map((run) => run.date);
      expect(order).toHaveLength(DATES.length * 4 + original.stages.length);
      expect(order).toEqual([...order].sort());
      expect(order.at(-1)).toBe(NEW_DATE);

      // The tables are those of the new code run from scratch, and the next day runs.
      const fresh = await kind.fresh();
      const expected = await withSession(fresh, validateV2, async (reference) => {
        await reference.daily([...DATES, NEW_DATE]);
        return dumpTables(reference.services.deps.sql, OWNED_TABLES);
      });
      expect(await dumpTables(sql, OWNED_TABLES)).toEqual(expected);
      await session.daily([addDays(NEW_DATE, 1)]);
    });
  });

  it('runs after a change to report, which no stage reads over a window', async () => {
    const store = await kind.copy(baseline);
    await withSession(store, reportV2, async (session) => {
      const daily = session.workflows.start('daily', { date: NEW_DATE });
      expect(await daily.done).toMatchObject({
        status: 'SUCCEEDED',
        output: { earlierDates: { date: NEW_DATE, checked: { from: '2026-01-09', to: '2026-01-14' } } },
      });
      const runs = (await readHistory(session.services.deps.sql)).filter(
        (run) => run.executionId === daily.executionId,
      );
      expect(runs.map((run) => [run.stage, run.version])).toEqual(
        reportV2.stages.map((stage) => [stage.name, stage.version]),
      );
    });
  });

  it("refuses when an earlier date inside trend's window is missing, until the backfill it names has run it", async () => {
    const store = await kind.fresh();
    await withSession(store, original, async (session) => {
      // Prepare: 2026-01-06 never ran
      await session.daily(dateRange('2026-01-01', '2026-01-05'));
      const before = await databaseChecksum(session.services.deps.sql, UNCHANGED);

      // Act
      const daily = session.workflows.start('daily', { date: '2026-01-07' });
      const { error, cause } = failed(await daily.done);

      // Assess
      expect(error).toBe('EarlierDatesStaleError');
      expect(cause).toContain(
        '2026-01-06 (1 date): rerun from collect, read by trend; why: collect has not run',
      );
      await expectNothingWritten(session, before, daily.executionId);

      // Act: the backfill named, then the next day
      const backfill = session.workflows.start('backfill', { mode: 'auto', to: '2026-01-07' });
      backfillOutput(await backfill.done);
      expect(await plannedDates(session.services.deps.sql, backfill.executionId)).toEqual([
        ['2026-01-06', 'collect'],
        ['2026-01-07', 'collect'],
      ]);
      await session.daily(['2026-01-08']);
    });
  });

  it('runs when the missing earlier date is outside every window', async () => {
    const store = await kind.fresh();
    await withSession(store, original, async (session) => {
      // Prepare: 2026-01-03 never ran; the later dates were run by an explicit backfill
      await session.daily(['2026-01-01', '2026-01-02']);
      backfillOutput(
        await session.workflows.start('backfill', {
          from: '2026-01-04',
          to: '2026-01-14',
          startStage: 'collect',
        }).done,
      );

      // Act & Assess: trend on 2026-01-15 reads 2026-01-09 .. 2026-01-14, all fresh
      await session.daily([NEW_DATE]);
    });
  });

  it('runs the first date ever, on an empty ledger, with nothing earlier to check', async () => {
    const store = await kind.fresh();
    await withSession(store, original, async (session) => {
      const outcome = await session.workflows.start('daily', { date: '2026-01-01' }).done;
      expect(outcome).toMatchObject({
        status: 'SUCCEEDED',
        output: { earlierDates: { date: '2026-01-01', checked: null } },
      });
    });
  });
});
