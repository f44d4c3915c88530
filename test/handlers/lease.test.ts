import './lambda-environment';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { LeaseHeldError } from '../../lambdas/engine/errors';
import { createLeaseHandler, handler } from '../../lambdas/handlers/lease';
import { pipeline } from '../fixtures/pipelines/meters';
import { MemoryLeaseStore } from '../support/memory-lease-store';
import {
  BACKFILL_EXECUTION,
  DAILY_EXECUTION,
  lambdaContext,
  observerWithClock,
  testDependencies,
  useHandlerTestBed,
} from './support';

const NOW = new Date('2026-03-02T02:00:00Z');

describe('Handler: lease', () => {
  const bed = useHandlerTestBed();

  it('logs an acquire with its execution, kind and token, and counts LeaseAcquired by Kind', async () => {
    // Prepare
    const store = new MemoryLeaseStore();
    const lease = createLeaseHandler(
      testDependencies(bed.sql, pipeline, { store, now: NOW }),
      observerWithClock(0, 5),
    );

    // Act
    const grant = await lease(
      { action: 'acquire', kind: 'daily', executionId: DAILY_EXECUTION },
      lambdaContext('Lease'),
    );

    // Assess
    expect(grant).toEqual({ token: 1, expiresAt: '2026-03-02T02:15:00.000Z' });
    expect(bed.output.logs()).toEqual([
      expect.objectContaining({
        level: 'INFO',
        message: 'Acquired the daily lease with token 1',
        handler: 'lease',
        action: 'acquire',
        kind: 'daily',
        executionId: DAILY_EXECUTION,
        token: 1,
        expiresAt: '2026-03-02T02:15:00.000Z',
      }),
    ]);
    expect(bed.output.emf()).toEqual([
      expect.objectContaining({
        namespace: 'Hindsight',
        dimensions: [['service', 'Kind']],
        metrics: { LeaseAcquired: { value: 1, unit: 'Count' } },
      }),
    ]);
    expect(bed.output.emf()[0]?.line).toMatchObject({ Kind: 'daily' });
  });

  it('fails a busy acquire with LeaseHeldError unchanged, logged at info as a poll, and counts LeaseBusy by Kind', async () => {
    // Prepare
    const store = new MemoryLeaseStore({
      holder: BACKFILL_EXECUTION,
      kind: 'backfill',
      token: 7,
      acquiredAt: NOW.getTime() - 60_000,
      expiresAt: NOW.getTime() + 600_000,
    });
    const lease = createLeaseHandler(
      testDependencies(bed.sql, pipeline, { store, now: NOW }),
      observerWithClock(0, 5),
    );

    // Act
    const failure = lease(
      { action: 'acquire', kind: 'daily', executionId: DAILY_EXECUTION },
      lambdaContext('Lease'),
    );

    // Assess
    await expect(failure).rejects.toBeInstanceOf(LeaseHeldError);
    await expect(failure).rejects.toMatchObject({ name: 'LeaseHeldError' });
    expect(bed.output.logs()).toEqual([
      expect.objectContaining({
        level: 'INFO',
        message: `Lease busy: held by backfill execution ${BACKFILL_EXECUTION}; Step Functions polls again`,
        executionId: DAILY_EXECUTION,
        kind: 'daily',
        holder: BACKFILL_EXECUTION,
        error: expect.objectContaining({ name: 'LeaseHeldError' }),
      }),
    ]);
    expect(bed.output.emf()).toEqual([
      expect.objectContaining({
        dimensions: [['service', 'Kind']],
        metrics: { LeaseBusy: { value: 1, unit: 'Count' } },
      }),
    ]);
    expect(bed.output.emf()[0]?.line).toMatchObject({ Kind: 'daily' });
  });

  it("logs the release of a stopped execution's lease under that execution, with no metrics", async () => {
    // Prepare
    const lease = createLeaseHandler(
      testDependencies(bed.sql, pipeline, { now: NOW }),
      observerWithClock(0, 5),
    );

    // Act
    const result = await lease(
      {
        detail: {
          executionArn: BACKFILL_EXECUTION,
          status: 'ABORTED',
          stateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:BackfillStateMachine',
        },
      },
      lambdaContext('Lease'),
    );

    // Assess
    expect(result).toEqual({ released: false });
    expect(bed.output.logs()).toEqual([
      expect.objectContaining({
        level: 'INFO',
        message: 'Held no lease to release',
        action: 'release-after-stop',
        status: 'ABORTED',
        executionId: BACKFILL_EXECUTION,
      }),
    ]);
    expect(bed.output.emf()).toEqual([]);
  });

  it('is deployed as `handler`: the lease in DynamoDB, logged by Powertools as service hindsight', async () => {
    // Prepare
    const dynamo = mockClient(DynamoDBClient);
    dynamo.on(GetItemCommand).resolves({});

    // Act
    const result = await handler(
      { action: 'release', kind: 'daily', executionId: DAILY_EXECUTION, token: 3 },
      lambdaContext('Lease'),
    );

    // Assess
    expect(result).toEqual({ released: false });
    expect(dynamo.commandCalls(GetItemCommand)[0]?.args[0].input).toMatchObject({
      TableName: 'hindsight-test-lease',
    });
    expect(bed.output.logs()).toEqual([
      expect.objectContaining({
        level: 'INFO',
        service: 'hindsight',
        message: 'Held no lease to release',
        action: 'release',
        executionId: DAILY_EXECUTION,
      }),
    ]);
    dynamo.restore();
  });
});
