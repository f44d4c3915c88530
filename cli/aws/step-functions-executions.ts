import {
  DescribeExecutionCommand,
  DescribeMapRunCommand,
  ListMapRunsCommand,
  type SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import type { WorkflowKind } from '../../lib/state-machine';
import type { ExecutionOutcome } from '../../local/local-workflows';
import type { BackfillProgressUpdate } from '../target';
import { awsCall } from './aws-errors';
import type { DeployedStack } from './deployed-stack';

export interface StepFunctionsExecutionsOptions {
  /** Time between two looks at a running execution, in ms. */
  readonly pollMs: number;
  /** @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * Starts the deployed workflows and follows an execution to its end: `DescribeExecution` for its
 * status and, for a backfill, the Distributed Map's Map Run for how many dates are done.
 */
export class StepFunctionsExecutions {
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(
    private readonly sfn: SFNClient,
    private readonly stack: DeployedStack,
    private readonly options: StepFunctionsExecutionsOptions,
  ) {
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /** `StartExecution` of the daily or backfill state machine; resolves to the execution ARN. */
  async start(kind: WorkflowKind, input: unknown, name?: string): Promise<string> {
    const stateMachineArn =
      kind === 'daily' ? this.stack.dailyStateMachineArn : this.stack.backfillStateMachineArn;
    const { executionArn } = await awsCall(
      {
        action: 'states:StartExecution',
        resource: stateMachineArn,
        ...(name === undefined ? {} : { executionName: name }),
      },
      () =>
        this.sfn.send(
          new StartExecutionCommand({
            stateMachineArn,
            input: JSON.stringify(input),
            ...(name === undefined ? {} : { name }),
          }),
        ),
    );
    if (!executionArn) throw new Error(`StartExecution of ${stateMachineArn} returned no executionArn.`);
    return executionArn;
  }

  /** Polls the execution until it ends; reports the Map Run's item counts on the way when asked. */
  async waitFor(
    executionArn: string,
    onProgress?: (update: BackfillProgressUpdate) => void,
  ): Promise<ExecutionOutcome> {
    let mapRunArn: string | undefined;
    for (;;) {
      const execution = await awsCall({ action: 'states:DescribeExecution', resource: executionArn }, () =>
        this.sfn.send(new DescribeExecutionCommand({ executionArn })),
      );
      if (execution.status !== 'RUNNING') {
        if (onProgress && mapRunArn) onProgress(await this.mapRunProgress(mapRunArn));
        return outcomeOf(execution);
      }
      if (onProgress) {
        mapRunArn ??= await this.findMapRun(executionArn);
        if (mapRunArn) onProgress(await this.mapRunProgress(mapRunArn));
      }
      await this.sleep(this.options.pollMs);
    }
  }

  /** The execution's latest Map Run (a redrive adds one); none before the Map state starts. */
  private async findMapRun(executionArn: string): Promise<string | undefined> {
    const { mapRuns = [] } = await awsCall({ action: 'states:ListMapRuns', resource: executionArn }, () =>
      this.sfn.send(new ListMapRunsCommand({ executionArn })),
    );
    const latest = [...mapRuns].sort(
      (a, b) => (b.startDate?.getTime() ?? 0) - (a.startDate?.getTime() ?? 0),
    )[0];
    return latest?.mapRunArn;
  }

  private async mapRunProgress(mapRunArn: string): Promise<BackfillProgressUpdate> {
    const { itemCounts } = await awsCall({ action: 'states:DescribeMapRun', resource: mapRunArn }, () =>
      this.sfn.send(new DescribeMapRunCommand({ mapRunArn })),
    );
    const failed = (itemCounts?.failed ?? 0) + (itemCounts?.timedOut ?? 0) + (itemCounts?.aborted ?? 0);
    return {
      done: itemCounts?.succeeded ?? 0,
      total: itemCounts?.total ?? 0,
      detail: failed > 0 ? `${failed} failed` : (itemCounts?.running ?? 0) > 0 ? 'running' : '',
    };
  }
}

function outcomeOf(execution: {
  status?: string;
  output?: string;
  error?: string;
  cause?: string;
}): ExecutionOutcome {
  switch (execution.status) {
    case 'SUCCEEDED':
      return { status: 'SUCCEEDED', output: execution.output ? JSON.parse(execution.output) : null };
    case 'ABORTED':
      return { status: 'ABORTED' };
    case 'TIMED_OUT':
      return { status: 'FAILED', error: 'States.Timeout', cause: 'The execution timed out.' };
    default:
      return {
        status: 'FAILED',
        error: execution.error ?? execution.status ?? 'Unknown',
        cause: execution.cause ?? '',
      };
  }
}
