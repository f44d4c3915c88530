/**
 * Two data directories against one PostgreSQL database (`--database-url`: two laptops, two
 * checkouts): the lease lives in that database next to the fence, so there is one lease for the
 * one ledger. Skipped without a PostgreSQL server (test/support/global-setup.ts starts one where
 * PostgreSQL is installed).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LeaseHeldError } from '../../lambdas/engine/errors';
import type { WorkflowDefinitions } from '../../lib/workflow-definitions';
import type { ExecutionOutcome } from '../../local/local-workflows';
import { pipeline as meters } from '../fixtures/pipelines/meters';
import {
  type LocalSession,
  type LocalStore,
  type LocalStoreKind,
  localStoreKinds,
  openLocalSession,
} from '../support/local-stores';
import { testWorkflowDefinitions } from '../support/test-definitions';

const PARAMS = { rowsPerDay: '20' };
const BACKFILL = 'arn:aws:states:us-east-1:123456789012:execution:HindsightBackfill:on-laptop-a';
const DAILY_ON_B = 'arn:aws:states:us-east-1:123456789012:execution:HindsightDaily:on-laptop-b';

let postgres: LocalStoreKind | undefined;
let definitions: WorkflowDefinitions;
let root: string;

beforeAll(() => {
  postgres = localStoreKinds().find((kind) => kind.name === 'postgres');
  definitions = testWorkflowDefinitions('shared-database-lease', meters);
  root = mkdtempSync(join(tmpdir(), 'hindsight-shared-db-'));
});

afterAll(async () => {
  await postgres?.dispose();
  rmSync(root, { recursive: true, force: true });
});

/** Laptop A's store, and laptop B's: another data directory on the same database. */
async function twoLaptops(): Promise<[LocalStore, LocalStore]> {
  if (!postgres) throw new Error('no PostgreSQL server');
  const a = await postgres.fresh();
  return [a, { dataDir: mkdtempSync(join(root, 'laptop-b-')), databaseUrl: a.databaseUrl }];
}

/** The outcome as a user reads it: the status, and why when it failed. */
function shown(outcome: ExecutionOutcome): { status: string; cause?: string } {
  return outcome.status === 'FAILED'
    ? { status: outcome.status, cause: outcome.cause }
    : { status: outcome.status };
}

const open = (store: LocalStore): Promise<LocalSession> =>
  openLocalSession(store, meters, PARAMS, definitions);

(process.env.TEST_DATABASE_URL ? describe : describe.skip)('the local lease with --database-url', () => {
  it('is one lease for both data directories: B cannot take it while an execution of A holds it', async () => {
    const [storeA, storeB] = await twoLaptops();
    const a = await open(storeA);
    const b = await open(storeB);
    try {
      // Act: A's backfill holds the lease; B's daily run tries to take it
      const now = Date.now();
      a.services.running.add(BACKFILL);
      const held = await a.services.deps.leases.acquire('backfill', BACKFILL, now);
      const refused = b.services.deps.leases.acquire('daily', DAILY_ON_B, now);

      // Assess: one holder, the same lease seen from both directories
      expect(held).toMatchObject({ outcome: 'acquired', token: 1 });
      await expect(refused).rejects.toThrow(LeaseHeldError);
      await expect(refused).rejects.toThrow(`The lease is held by backfill execution ${BACKFILL} until `);
      expect(await b.services.leaseStore.read()).toMatchObject({ holder: BACKFILL, token: 1 });
    } finally {
      await b.close();
      await a.close();
    }
  });

  it('gives B the token after the last one A used: B runs after A without a "token already used" refusal', async () => {
    const [storeA, storeB] = await twoLaptops();
    const a = await open(storeA);
    const b = await open(storeB);
    try {
      // Act: A runs three dates, then B the next one
      await a.daily(['2026-02-01', '2026-02-02', '2026-02-03']);
      const bDaily = await b.workflows.start('daily', { date: '2026-02-04' }).done;

      // Assess: B ran, with the token after A's three
      expect(shown(bDaily)).toEqual({ status: 'SUCCEEDED' });
      const { rows } = await b.services.deps.sql.query(
        "SELECT DISTINCT fence_token AS token FROM hindsight_run_history WHERE day = '2026-02-04'",
      );
      expect(rows).toEqual([{ token: 4 }]);
      expect(await a.services.leaseStore.read()).toEqual({ holder: null, token: 4 });
    } finally {
      await b.close();
      await a.close();
    }
  });

  it('is taken over at once from a data directory whose process has ended while holding it', async () => {
    const [storeA, storeB] = await twoLaptops();
    const a = await open(storeA);
    const b = await open(storeB);
    try {
      a.services.running.add(BACKFILL);
      await a.services.deps.leases.acquire('backfill', BACKFILL, Date.now());

      // Act: A's process ends without releasing (killed); B's daily run starts
      await a.close();
      const bDaily = await b.workflows.start('daily', { date: '2026-02-01' }).done;

      // Assess: B took the lease over (A's execution no longer runs anywhere) and ran
      expect(shown(bDaily)).toEqual({ status: 'SUCCEEDED' });
      expect(await b.services.leaseStore.read()).toEqual({ holder: null, token: 2 });
    } finally {
      await b.close();
    }
  });
});
