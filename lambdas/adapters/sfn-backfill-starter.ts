import { ExecutionAlreadyExists, type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { BackfillStarter } from '../workflow/after-deploy';

/** Starts the deployed backfill state machine; an existing execution of the same name counts as started. */
export class StepFunctionsBackfillStarter implements BackfillStarter {
  constructor(
    private readonly client: SFNClient,
    private readonly stateMachineArn: string,
  ) {}

  async startAuto(name: string): Promise<{ executionArn: string; alreadyStarted: boolean }> {
    try {
      const { executionArn } = await this.client.send(
        new StartExecutionCommand({ stateMachineArn: this.stateMachineArn, name, input: '{"mode":"auto"}' }),
      );
      return { executionArn: executionArn ?? '', alreadyStarted: false };
    } catch (error) {
      if (!(error instanceof ExecutionAlreadyExists)) throw error;
      const executionArn = `${this.stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
      return { executionArn, alreadyStarted: true };
    }
  }
}
