import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  type PutItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import { HindsightError } from '../engine/errors';
import type { LeaseRecord, LeaseStore } from '../engine/lease';
import type { LeaseKind } from '../workflow/contracts';

export interface DynamoDbLeaseStoreProps {
  readonly client: DynamoDBClient;
  /** Table with a string partition key `pk` and no sort key. */
  readonly tableName: string;
  /**
   * Partition key value of the lease item.
   * @default 'lease'
   */
  readonly key?: string;
}

type Item = Record<string, AttributeValue>;

/**
 * The lease as one DynamoDB item, changed only by PutItem with a ConditionExpression on the version
 * the caller read. Works on dynalite too: no transactions, no TTL, no ReturnValuesOnConditionCheckFailure.
 *
 * Item: `pk` (S), `token` (N); while held also `holder` (S), `kind` (S), `expiresAt` and `acquiredAt` (N, epoch ms).
 */
export class DynamoDbLeaseStore implements LeaseStore {
  private readonly client: DynamoDBClient;
  private readonly tableName: string;
  private readonly key: string;

  constructor(props: DynamoDbLeaseStoreProps) {
    this.client = props.client;
    this.tableName = props.tableName;
    this.key = props.key ?? 'lease';
  }

  async read(): Promise<LeaseRecord | undefined> {
    const { Item: item } = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: { pk: { S: this.key } }, ConsistentRead: true }),
    );
    return item ? this.parse(item) : undefined;
  }

  /**
   * `false` also when this very write landed but its response was lost and the SDK's retry then
   * failed the condition: `LeaseService` re-reads the record and recognises its own write.
   */
  async tryWrite(next: LeaseRecord, seen: LeaseRecord | undefined): Promise<boolean> {
    try {
      await this.client.send(
        new PutItemCommand({ TableName: this.tableName, Item: this.toItem(next), ...condition(seen) }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  private toItem(record: LeaseRecord): Item {
    const item: Item = { pk: { S: this.key }, token: num(record.token) };
    if (record.holder === null) return item;
    return {
      ...item,
      holder: { S: record.holder },
      kind: { S: record.kind },
      expiresAt: num(record.expiresAt),
      acquiredAt: num(record.acquiredAt),
    };
  }

  private parse(item: Item): LeaseRecord {
    const token = readNumber(item.token);
    if (item.holder === undefined && token !== undefined) return { holder: null, token };
    const holder = item.holder?.S;
    const kind = item.kind?.S;
    const expiresAt = readNumber(item.expiresAt);
    const acquiredAt = readNumber(item.acquiredAt);
    if (
      token === undefined ||
      holder === undefined ||
      !isLeaseKind(kind) ||
      expiresAt === undefined ||
      acquiredAt === undefined
    ) {
      throw new HindsightError(
        `The lease item ${JSON.stringify(this.key)} in table ${this.tableName} is malformed: got ` +
          `${JSON.stringify(item)}; expected token (N) and, while held, holder (S), kind (daily|backfill), ` +
          'expiresAt and acquiredAt (N). Delete the item to reset the lease.',
      );
    }
    return { holder, kind, token, expiresAt, acquiredAt };
  }
}

/** The ConditionExpression that makes a PutItem land only on the version the caller read. */
function condition(
  seen: LeaseRecord | undefined,
): Pick<
  PutItemCommandInput,
  'ConditionExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'
> {
  if (seen === undefined) return { ConditionExpression: 'attribute_not_exists(pk)' };
  if (seen.holder === null) {
    return {
      ConditionExpression: '#token = :token AND attribute_not_exists(#holder)',
      ExpressionAttributeNames: { '#token': 'token', '#holder': 'holder' },
      ExpressionAttributeValues: { ':token': num(seen.token) },
    };
  }
  return {
    ConditionExpression: '#token = :token AND #holder = :holder AND #expiresAt = :expiresAt',
    ExpressionAttributeNames: { '#token': 'token', '#holder': 'holder', '#expiresAt': 'expiresAt' },
    ExpressionAttributeValues: {
      ':token': num(seen.token),
      ':holder': { S: seen.holder },
      ':expiresAt': num(seen.expiresAt),
    },
  };
}

function num(value: number): AttributeValue {
  return { N: String(value) };
}

function readNumber(value: AttributeValue | undefined): number | undefined {
  if (value?.N === undefined) return undefined;
  const parsed = Number(value.N);
  return Number.isSafeInteger(parsed) ? parsed : undefined;
}

function isLeaseKind(value: string | undefined): value is LeaseKind {
  return value === 'daily' || value === 'backfill';
}
