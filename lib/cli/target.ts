/**
 * Where a command acts: the local runtime on a data directory (the default), or a deployed stack
 * (`--aws`). Commands see one shape: the steps' dependencies (the ledger's database, the code),
 * the lease store, and a way to start the daily and backfill workflows and follow them.
 */
import { DynamoDbLeaseStore } from '../../lambdas/adapters/dynamodb-lease-store';
import type { LeaseStore } from '../../lambdas/engine/lease';
import type { Pipeline } from '../../lambdas/engine/pipeline';
import type { StepDependencies } from '../../lambdas/workflow/steps';
import { BACKFILL_STATES } from '../backfill-workflow';
import { LOCAL_LEASE_TABLE } from '../local/local-services';
import type { ExecutionOutcome, TaskEvent } from '../local/local-workflows';
import type { WorkflowKind } from '../state-machine';
import type { JsonValue } from '../workflow-definitions';
import { type GlobalOptions, openSession } from './session';

/** One look at a running backfill: dates done of the total, the date being run (when known) and what it is doing. */
export interface BackfillProgressUpdate {
  readonly done: number;
  /** Dates in the backfill, when the runtime knows it (AWS: the Map Run's item count). */
  readonly total?: number;
  /** The date now running (known locally; AWS reports counts only). */
  readonly date?: string;
  /** A word on the current step: a stage name, `preparing`, `running`, `2 failed`. */
  readonly detail: string;
}

/** An execution that was started. */
export interface StartedExecution {
  /** The execution ARN (local ones are shaped like AWS's). */
  readonly executionId: string;
  /** Resolves when the execution has ended, reporting backfill progress on the way when asked. */
  wait(onProgress?: (update: BackfillProgressUpdate) => void): Promise<ExecutionOutcome>;
}

export interface Target {
  /** For messages: `the data directory .pipeline`, `stack Hindsight in eu-west-1`. */
  readonly description: string;
  readonly deps: StepDependencies;
  readonly leaseStore: LeaseStore;
  /** Starts the daily or backfill workflow with `input`, under `name` when given. */
  start(kind: WorkflowKind, input: JsonValue, name?: string): Promise<StartedExecution>;
  close(): Promise<void>;
}

/** The local runtime: opens the data directory and runs the synthesized workflows in this process. */
export async function openLocalTarget(options: GlobalOptions, pipeline: Pipeline): Promise<Target> {
  let onTask: ((event: TaskEvent) => void) | undefined;
  const session = await openSession(options, pipeline, (event) => onTask?.(event));
  const { services, workflows } = session;
  return {
    description: `the data directory ${options.dataDir}`,
    deps: services.deps,
    leaseStore: new DynamoDbLeaseStore({ client: services.dynamo.client, tableName: LOCAL_LEASE_TABLE }),
    start: async (kind, input, name) => {
      const execution = workflows.start(kind, input, ...(name === undefined ? [] : [name]));
      return {
        executionId: execution.executionId,
        wait: async (onProgress) => {
          onTask = onProgress ? localProgress(execution.executionId, onProgress) : undefined;
          try {
            return await execution.done;
          } finally {
            onTask = undefined;
          }
        },
      };
    },
    close: () => session.close(),
  };
}

/**
 * Backfill progress from the local runtime's Task events: each "Prepare Date" starts the planned
 * date at its position, each "Run <Stage>" names the stage running now.
 */
function localProgress(
  executionId: string,
  onProgress: (update: BackfillProgressUpdate) => void,
): (event: TaskEvent) => void {
  let current: { done: number; date: string } | undefined;
  return (event) => {
    if (event.executionId !== executionId) return;
    if (event.state === BACKFILL_STATES.prepareDate) {
      const { item } = event.input as { item: { date: string; position: number } };
      current = { done: item.position, date: item.date };
      onProgress({ ...current, detail: 'preparing' });
    } else if (current && event.state.startsWith('Run ')) {
      onProgress({ ...current, detail: event.state.slice(4).toLowerCase() });
    }
  };
}
