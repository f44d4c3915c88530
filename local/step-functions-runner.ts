/**
 * aws-local-stepfunctions publishes its types for ESM only; its CommonJS build is what Node loads
 * here. The types are taken with `resolution-mode: import` and the module with a dynamic import,
 * which works from CommonJS.
 */
type Runner = typeof import('aws-local-stepfunctions', { with: { 'resolution-mode': 'import' }});
type StateMachineDefinition = ConstructorParameters<Runner['StateMachine']>[0];
type RunOptions = NonNullable<Parameters<InstanceType<Runner['StateMachine']>['run']>[1]>;

import type { AslDefinition } from '../lib/workflow-definitions';

export interface LocalStateMachine {
  run(input: unknown, options?: RunOptions): { abort: () => void; result: Promise<unknown> };
}

/** Builds a local state machine from a synthesized definition (validated by the runner, paths included). */
export async function loadStepFunctionsRunner(): Promise<(definition: AslDefinition) => LocalStateMachine> {
  const { StateMachine } = await import('aws-local-stepfunctions');
  return (definition) => {
    const machine = new StateMachine(definition as StateMachineDefinition);
    return { run: (input, options) => machine.run(input as Parameters<typeof machine.run>[0], options) };
  };
}
