/**
 * Where a command acts: the local runtime on a data directory (the default), or a deployed stack
 * (`--aws`). Commands see one shape: the steps' dependencies (the ledger's database, the code),
 * the lease store, and a way to start the daily and backfill workflows and follow them.
 */
import type { LeaseStore } from '../lambdas/engine/lease';
import type { StepDependencies } from '../lambdas/workflow/steps';
import { type RolledBackTransaction, rollingBack } from '../lambdas/workflow/verify';
import { BACKFILL_STATES } from '../lib/backfill-states';
import type { WorkflowKind } from '../lib/state-machine';
import type { JsonValue } from '../lib/workflow-definitions';
import type { ExecutionOutcome, TaskEvent } from '../local/local-workflows';
import { type GlobalOptions, openSession, type ProjectPipeline } from './session';

/** One look at a running backfill: dates done of the total, the date being run (when known) and what it is doing. */
export interface BackfillProgressUpdate {
  readonly done: number;
  /** Dates in the backfill, when the runtime knows it (AWS: the Map Run's item count). */
  readonly total?: number;
  /** The date now running (known locally; AWS reports counts only). */
  readonly date?: string;
  /** A word on the current step: a stage name, `running`, `2 failed`. */
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
  /** Transactions that always roll back, for `verify`: a stage's SQL runs, nothing is kept. */
  readonly rolledBack: RolledBackTransaction;
  /** Starts the daily or backfill workflow with `input`, under `name` when given. */
  start(kind: WorkflowKind, input: JsonValue, name?: string): Promise<StartedExecution>;
  /**
   * Tells how far the command is (dates planned, dates done), for `status` from another shell:
   * published in the local data directory; nothing to do against a stack.
   */
  progress?(update: { readonly planned?: number; readonly done?: number }): void;
  close(): Promise<void>;
}

/** The local runtime: opens the data directory and runs the synthesized workflows in this process. */
export async function openLocalTarget(
  options: GlobalOptions,
  pipeline: ProjectPipeline,
  notify?: (line: string) => void,
): Promise<Target> {
  let onTask: ((event: TaskEvent) => void) | undefined;
  const session = await openSession(options, pipeline, (event) => onTask?.(event), notify);
  const { services } = session;
  return {
    description: `the data directory ${options.dataDir}`,
    deps: services.deps,
    leaseStore: services.leaseStore,
    rolledBack: rollingBack(services.deps.sql),
    start: async (kind, input, name) => {
      const workflows = await session.workflows();
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
    progress: (update) => session.progress(update),
    close: () => session.close(),
  };
}

/**
 * Backfill progress from the local runtime's Task events: "Prepare Date" gives the planned date's
 * position, each "Run <Stage>" the date and the stage running now.
 */
function localProgress(
  executionId: string,
  onProgress: (update: BackfillProgressUpdate) => void,
): (event: TaskEvent) => void {
  let done: number | undefined;
  return (event) => {
    if (event.executionId !== executionId) return;
    if (event.state === BACKFILL_STATES.prepareDate) {
      done = (event.input as { position: number }).position;
    } else if (done !== undefined && event.state.startsWith('Run ')) {
      const { date } = event.input as { date: string };
      onProgress({ done, date, detail: event.state.slice(4).toLowerCase() });
    }
  };
}
