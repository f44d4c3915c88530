/**
 * THE LIST OF LAMBDA ENTRY POINTS: `lambdas/handlers/<name>.ts` for each name, and for those behind
 * a Task state the step it runs. The CDK functions (lib/functions.ts), the local runtime's Task
 * bindings (local/local-workflows.ts) and the bench's bundles all follow this one list.
 */

import { handleLease } from './lease-steps';
import { resolveDate } from './resolve-date';
import {
  checkEarlierDates,
  prepareDate,
  runStageTask,
  type StepDependencies,
  validateAndPlan,
} from './steps';
import { verifyTask } from './verify-tasks';

/** What a Task state's Lambda does, given the steps' dependencies, its input and (stage Tasks) its stage. */
export type TaskStep = (
  deps: StepDependencies,
  input: unknown,
  stage: string | undefined,
) => Promise<unknown>;

export const HANDLERS = {
  stage: {
    step: (deps, input, stage) => {
      if (stage === undefined) throw new Error('A stage Task without its stage.');
      return runStageTask(deps, stage, input);
    },
  },
  'resolve-date': { step: (deps, input) => resolveDate(deps, input) },
  lease: { step: async (deps, input) => handleLease(deps, input) },
  'check-earlier-dates': { step: (deps, input) => checkEarlierDates(deps, input) },
  plan: { step: (deps, input) => validateAndPlan(deps, input) },
  'prepare-date': { step: (deps, input) => prepareDate(deps, input) },
  // The Verify workflow's three Tasks (deployed only with hindsight:verify).
  verify: { step: (deps, input) => verifyTask(deps, input) },
  // Runs once after each deploy (a CDK Trigger), behind no Task state.
  'after-deploy': { step: null },
} as const satisfies Record<string, { readonly step: TaskStep | null }>;

/** A Lambda entry point: `lambdas/handlers/<name>.ts`. */
export type HandlerName = keyof typeof HANDLERS;

export const HANDLER_NAMES = Object.keys(HANDLERS) as readonly HandlerName[];
