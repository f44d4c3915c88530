import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  ProvisionedThroughputExceededException,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
  DescribeExecutionCommand,
  ExecutionDoesNotExist,
  SFNClient,
  SFNServiceException,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoDbLeaseStore } from '../../lambdas/adapters/dynamodb-lease-store';
import { StepFunctionsLiveness } from '../../lambdas/adapters/sfn-liveness';
import { HindsightError, LeaseHeldError, LeaseLostError } from '../../lambdas/engine/errors';
import { type HeldLease, LeaseService } from '../../lambdas/engine/lease';
import { ensureLeaseTable, type LocalDynamo, startDynalite } from '../../local/dynalite-server';
import { lossyDynamoClient } from '../support/lossy-dynamodb';

const TABLE = 'hindsight-lease-test';
const MINUTE = 60_000;
const T0 = Date.parse('2026-03-01T02:00:00Z');
const DAILY = 'arn:aws:states:eu-west-1:123456789012:execution:Daily:2026-03-01';
const BACKFILL = 'arn:aws:states:eu-west-1:123456789012:execution:Backfill:after-deploy';

describe('Class: DynamoDbLeaseStore (dynalite)', () => {
  let dynamo: LocalDynamo;
  let client: DynamoDBClient;
  let keys = 0;

  /** A store on its own item, so tests do not see each other's lease. */
  const freshStore = () => new DynamoDbLeaseStore({ client, tableName: TABLE, key: `lease-${++keys}` });
  const running = { isRunning: async () => true };

  beforeAll(async () => {
    dynamo = await startDynalite(undefined);
    client = dynamo.client;
    await ensureLeaseTable(client, TABLE);
  });

  afterAll(() => dynamo.close());

  describe('Method: read', () => {
    it('answers undefined before any lease was taken', async () => {
      await expect(freshStore().read()).resolves.toBeUndefined();
    });

    it('fails naming the item when the stored item is malformed', async () => {
      // Prepare
      const store = new DynamoDbLeaseStore({ client, tableName: TABLE, key: 'broken' });
      await client.send(
        new PutItemCommand({
          TableName: TABLE,
          Item: { pk: { S: 'broken' }, token: { N: '3' }, holder: { S: DAILY } },
        }),
      );

      // Act & Assess
      await expect(store.read()).rejects.toThrow(HindsightError);
      await expect(store.read()).rejects.toThrow(`The lease item "broken" in table ${TABLE} is malformed`);
    });
  });

  describe('Method: tryWrite', () => {
    const held: HeldLease = {
      holder: DAILY,
      kind: 'daily',
      token: 1,
      expiresAt: T0 + MINUTE,
      acquiredAt: T0,
    };

    it('writes the first record only when none exists', async () => {
      // Prepare
      const store = freshStore();

      // Act
      const first = await store.tryWrite(held, undefined);
      const second = await store.tryWrite({ ...held, holder: BACKFILL }, undefined);

      // Assess
      expect([first, second]).toEqual([true, false]);
      await expect(store.read()).resolves.toEqual(held);
    });

    it('writes over the version it saw, and refuses a write over a version it did not', async () => {
      // Prepare
      const store = freshStore();
      await store.tryWrite(held, undefined);
      const renewed = { ...held, expiresAt: T0 + 2 * MINUTE };

      // Act
      const renew = await store.tryWrite(renewed, held);
      const stale = await store.tryWrite({ ...held, holder: BACKFILL, token: 2 }, held);

      // Assess
      expect([renew, stale]).toEqual([true, false]);
      await expect(store.read()).resolves.toEqual(renewed);
    });

    it('answers false when its response was lost and the SDK resent it, though the record is the one it wrote', async () => {
      // Prepare: the answer of the next PutItem that lands is lost; the SDK sends it again
      const key = `lease-${++keys}`;
      const lossy = lossyDynamoClient(dynamo.endpoint);
      const store = new DynamoDbLeaseStore({ client: lossy.client, tableName: TABLE, key });
      lossy.loseNextPuts();

      // Act
      const written = await store.tryWrite(held, undefined);

      // Assess: the resent write failed its condition, so the store cannot tell; LeaseService re-reads
      expect(lossy.lost).toBe(1);
      expect(written).toBe(false);
      await expect(store.read()).resolves.toEqual(held);
      lossy.client.destroy();
    });

    it('keeps the token and drops the holder fields on release', async () => {
      // Prepare
      const store = freshStore();
      await store.tryWrite(held, undefined);

      // Act
      await store.tryWrite({ holder: null, token: 1 }, held);

      // Assess
      await expect(store.read()).resolves.toEqual({ holder: null, token: 1 });
      expect(await store.tryWrite(held, held)).toBe(false);
      expect(await store.tryWrite({ ...held, token: 2 }, { holder: null, token: 1 })).toBe(true);
    });
  });

  describe('Protocol: LeaseService over real conditional writes', () => {
    it('acquires a free lease, re-enters it, and refuses it to another running execution', async () => {
      // Prepare
      const service = new LeaseService(freshStore(), running, { durationMs: 15 * MINUTE });

      // Act
      const first = await service.acquire('daily', DAILY, T0);
      const again = await service.acquire('daily', DAILY, T0 + MINUTE);
      const refused = service.acquire('backfill', BACKFILL, T0 + 2 * MINUTE);

      // Assess
      expect(first).toMatchObject({ token: 1, outcome: 'acquired' });
      expect(again).toMatchObject({ token: 1, outcome: 'reentered', expiresAt: T0 + 16 * MINUTE });
      await expect(refused).rejects.toThrow(LeaseHeldError);
    });

    it('takes over an expired lease, after which the old holder fails to renew', async () => {
      // Prepare
      const store = freshStore();
      const service = new LeaseService(store, running, { durationMs: 15 * MINUTE });
      await service.acquire('daily', DAILY, T0);

      // Act
      const taken = await service.acquire('backfill', BACKFILL, T0 + 15 * MINUTE);
      const renew = service.renew(DAILY, 1, T0 + 16 * MINUTE);

      // Assess
      expect(taken).toMatchObject({
        token: 2,
        outcome: 'took-over',
        displaced: { holder: DAILY, reason: 'expired' },
      });
      await expect(renew).rejects.toThrow(LeaseLostError);
      await expect(service.renew(BACKFILL, 2, T0 + 16 * MINUTE)).resolves.toMatchObject({
        expiresAt: T0 + 31 * MINUTE,
      });
    });

    it('takes over an unexpired lease whose holder no longer runs', async () => {
      const stopped = { isRunning: async (id: string) => id !== DAILY };
      const service = new LeaseService(freshStore(), stopped);
      await service.acquire('daily', DAILY, T0);
      await expect(service.acquire('backfill', BACKFILL, T0 + 1)).resolves.toMatchObject({
        token: 2,
        displaced: { reason: 'holder-not-running' },
      });
    });

    it('releases for the holder only, keeping tokens increasing', async () => {
      // Prepare
      const store = freshStore();
      const service = new LeaseService(store, running);
      await service.acquire('daily', DAILY, T0);

      // Act
      const byOther = await service.release(BACKFILL);
      const byHolder = await service.release(DAILY, 1);
      const next = await service.acquire('backfill', BACKFILL, T0 + 1);

      // Assess
      expect(byOther).toEqual({ released: false });
      expect(byHolder).toEqual({ released: true, token: 1 });
      expect(next.token).toBe(2);
      await expect(store.read()).resolves.toMatchObject({ holder: BACKFILL, token: 2 });
    });
  });
});

describe('Class: DynamoDbLeaseStore (request shapes)', () => {
  // Mock this instance only: mocking the class would also catch the dynalite suite's client.
  const mocked = new DynamoDBClient({ region: 'eu-west-1' });
  const ddb = mockClient(mocked);
  const store = new DynamoDbLeaseStore({ client: mocked, tableName: TABLE });
  const held: HeldLease = { holder: DAILY, kind: 'daily', token: 7, expiresAt: T0 + MINUTE, acquiredAt: T0 };
  const heldItem = {
    pk: { S: 'lease' },
    token: { N: '7' },
    holder: { S: DAILY },
    kind: { S: 'daily' },
    expiresAt: { N: String(T0 + MINUTE) },
    acquiredAt: { N: String(T0) },
  };

  beforeEach(() => ddb.reset());
  afterAll(() => ddb.restore());

  describe('Method: read', () => {
    it('reads the one item with a consistent GetItem', async () => {
      // Prepare
      ddb.on(GetItemCommand).resolves({ Item: heldItem });

      // Act
      const record = await store.read();

      // Assess
      expect(record).toEqual(held);
      expect(ddb.commandCalls(GetItemCommand).map((call) => call.args[0].input)).toEqual([
        { TableName: TABLE, Key: { pk: { S: 'lease' } }, ConsistentRead: true },
      ]);
    });
  });

  describe('Method: tryWrite', () => {
    it('conditions the first write on the item not existing', async () => {
      ddb.on(PutItemCommand).resolves({});
      await expect(store.tryWrite(held, undefined)).resolves.toBe(true);
      expect(ddb.commandCalls(PutItemCommand)[0].args[0].input).toEqual({
        TableName: TABLE,
        Item: heldItem,
        ConditionExpression: 'attribute_not_exists(pk)',
      });
    });

    it('conditions a write over a held lease on its token, holder and expiry', async () => {
      ddb.on(PutItemCommand).resolves({});
      await store.tryWrite({ holder: null, token: 7 }, held);
      expect(ddb.commandCalls(PutItemCommand)[0].args[0].input).toEqual({
        TableName: TABLE,
        Item: { pk: { S: 'lease' }, token: { N: '7' } },
        ConditionExpression: '#token = :token AND #holder = :holder AND #expiresAt = :expiresAt',
        ExpressionAttributeNames: { '#token': 'token', '#holder': 'holder', '#expiresAt': 'expiresAt' },
        ExpressionAttributeValues: {
          ':token': { N: '7' },
          ':holder': { S: DAILY },
          ':expiresAt': { N: String(T0 + MINUTE) },
        },
      });
    });

    it('conditions a write over a released lease on its token and on having no holder', async () => {
      ddb.on(PutItemCommand).resolves({});
      await store.tryWrite({ ...held, token: 8 }, { holder: null, token: 7 });
      expect(ddb.commandCalls(PutItemCommand)[0].args[0].input).toEqual({
        TableName: TABLE,
        Item: { ...heldItem, token: { N: '8' } },
        ConditionExpression: '#token = :token AND attribute_not_exists(#holder)',
        ExpressionAttributeNames: { '#token': 'token', '#holder': 'holder' },
        ExpressionAttributeValues: { ':token': { N: '7' } },
      });
    });

    it('answers false when the condition failed', async () => {
      ddb
        .on(PutItemCommand)
        .rejects(
          new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }),
        );
      await expect(store.tryWrite(held, undefined)).resolves.toBe(false);
    });

    it('fails with any other SDK error', async () => {
      ddb
        .on(PutItemCommand)
        .rejects(new ProvisionedThroughputExceededException({ message: 'Slow down', $metadata: {} }));
      await expect(store.tryWrite(held, undefined)).rejects.toThrow(ProvisionedThroughputExceededException);
    });
  });
});

describe('Class: StepFunctionsLiveness', () => {
  const mocked = new SFNClient({ region: 'eu-west-1' });
  const sfn = mockClient(mocked);
  const liveness = new StepFunctionsLiveness(mocked);

  beforeEach(() => sfn.reset());
  afterAll(() => sfn.restore());

  describe('Method: isRunning', () => {
    it('asks DescribeExecution about the execution ARN and answers true while RUNNING', async () => {
      sfn.on(DescribeExecutionCommand).resolves({ status: 'RUNNING' });
      await expect(liveness.isRunning(DAILY)).resolves.toBe(true);
      expect(sfn.commandCalls(DescribeExecutionCommand).map((call) => call.args[0].input)).toEqual([
        { executionArn: DAILY },
      ]);
    });

    it.each(['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED', 'PENDING_REDRIVE'] as const)(
      'answers false when the execution is %s',
      async (status) => {
        sfn.on(DescribeExecutionCommand).resolves({ status });
        await expect(liveness.isRunning(DAILY)).resolves.toBe(false);
      },
    );

    it('answers false when the execution does not exist', async () => {
      sfn
        .on(DescribeExecutionCommand)
        .rejects(new ExecutionDoesNotExist({ message: 'Execution Does Not Exist', $metadata: {} }));
      await expect(liveness.isRunning(DAILY)).resolves.toBe(false);
    });

    it('fails with any other SDK error', async () => {
      const denied = new SFNServiceException({
        name: 'AccessDeniedException',
        $fault: 'client',
        message: 'not authorized to perform states:DescribeExecution',
        $metadata: {},
      });
      sfn.on(DescribeExecutionCommand).rejects(denied);
      await expect(liveness.isRunning(DAILY)).rejects.toThrow(
        'not authorized to perform states:DescribeExecution',
      );
    });
  });
});
