import { DescribeExecutionCommand, ExecutionDoesNotExist, type SFNClient } from '@aws-sdk/client-sfn';
import type { HolderLiveness } from '../engine/lease';

/**
 * Asks Step Functions whether a lease holder still runs. Only `RUNNING` counts: a finished, failed,
 * timed-out, aborted or redrive-pending execution (or one that does not exist) cannot renew its lease.
 */
export class StepFunctionsLiveness implements HolderLiveness {
  constructor(private readonly client: SFNClient) {}

  async isRunning(executionId: string): Promise<boolean> {
    try {
      const { status } = await this.client.send(new DescribeExecutionCommand({ executionArn: executionId }));
      return status === 'RUNNING';
    } catch (error) {
      if (error instanceof ExecutionDoesNotExist) return false;
      throw error;
    }
  }
}
