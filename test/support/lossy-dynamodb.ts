import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ConfiguredRetryStrategy } from '@smithy/core/retry';

/**
 * A DynamoDB client (for dynalite) that can lose the responses of PutItem calls that landed: an
 * SDK middleware in the deserialize step, which runs inside the SDK's retry loop, lets the write
 * reach the table, then throws a retryable `TimeoutError` in place of its response. The SDK then
 * sends the same conditional PutItem again (at once: no backoff here), which fails its condition,
 * as happens in AWS when a connection drops after the request went out.
 */
export interface LossyDynamoClient {
  readonly client: DynamoDBClient;
  /** Loses the response of the next `count` PutItem calls that land. */
  loseNextPuts(count?: number): void;
  /** Loses the responses of the PutItem calls numbered `indices` (0-based, counted from now). */
  losePuts(indices: Iterable<number>): void;
  /** Responses lost so far. */
  readonly lost: number;
}

export function lossyDynamoClient(endpoint: string): LossyDynamoClient {
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    retryStrategy: new ConfiguredRetryStrategy(3, () => 0),
  });
  const state = { puts: 0, next: 0, indices: new Set<number>(), lost: 0 };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const put = context.commandName === 'PutItemCommand' ? state.puts++ : -1;
      const result = await next(args);
      // At most one lost answer per call (the context lives across the SDK's retries of it): the
      // retry then reaches the table, as the fault being modelled does, instead of exhausting the
      // SDK's attempts, which is another fault (the caller sees an error).
      const call = context as { hindsightLostOnce?: boolean };
      const lose = put >= 0 && !call.hindsightLostOnce && (state.indices.has(put) || state.next > 0);
      if (put >= 0 && call.hindsightLostOnce) state.indices.delete(put);
      if (lose) {
        call.hindsightLostOnce = true;
        if (!state.indices.delete(put)) state.next--;
        state.lost++;
        throw Object.assign(new Error('The connection closed before the response arrived'), {
          name: 'TimeoutError',
          $metadata: {},
        });
      }
      return result;
    },
    { step: 'deserialize', name: 'loseLandedPutResponses' },
  );
  return {
    client,
    loseNextPuts: (count = 1) => {
      state.next += count;
    },
    losePuts: (indices) => {
      state.puts = 0;
      state.indices = new Set(indices);
    },
    get lost() {
      return state.lost;
    },
  };
}
