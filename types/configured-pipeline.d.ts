/**
 * The pipeline module a deployment runs: the Lambda bundling aliases this name to the module that
 * `hindsight:pipeline` names (lib/functions.ts); jest maps it to a test fixture. Only
 * `lambdas/handlers/aws-dependencies.ts` imports it.
 */
declare module 'hindsight-configured-pipeline' {
  export const pipeline: import('../lambdas/engine/pipeline').Pipeline;
  export const transitions: readonly import('../lambdas/engine/transition').Transition[] | undefined;
}
