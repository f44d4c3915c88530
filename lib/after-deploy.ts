import { createHash } from 'node:crypto';
import { Duration } from 'aws-cdk-lib';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Trigger } from 'aws-cdk-lib/triggers';
import { Construct, type IConstruct } from 'constructs';
import type { Pipeline } from '../lambdas/engine/pipeline';
import type { Transition } from '../lambdas/engine/transition';
import {
  frameworkMigrationsDirectory,
  loadMigrations,
  MIGRATION_SEQUENCES,
} from '../lambdas/ledger/migrator';
import type { HindsightDatabase } from './database';
import type { HindsightFunctions } from './functions';
import type { LeaseTable } from './lease-table';

export interface AfterDeployProps {
  readonly pipeline: Pipeline;
  readonly transitions: readonly Transition[];
  /** Directory of the pipeline's migrations; they and Hindsight's own identify a deployment. */
  readonly migrationsDirectory: string;
  readonly functions: HindsightFunctions;
  readonly database: HindsightDatabase;
  readonly leaseTable: LeaseTable;
  readonly backfill: StateMachine;
  /** Everything the trigger must run after: both state machines, the database. */
  readonly executeAfter: readonly IConstruct[];
  /**
   * Start the backfill with `{"mode": "auto"}` after the deploy (`hindsight:autoBackfill`).
   * When false the trigger still migrates and logs the plan; it just cannot start executions.
   */
  readonly autoBackfill: boolean;
}

/**
 * What happens after `cdk deploy`: a CDK Trigger runs a function once the workflows and the
 * database exist. It applies schema migrations, logs the plan, and starts the backfill under an
 * execution name derived from the deployment's content (stage versions, transitions,
 * migrations), so a retried deploy finds the execution already there and never starts two.
 */
export class AfterDeploy extends Construct {
  readonly function: NodejsFunction;
  readonly deploymentId: string;

  constructor(scope: Construct, id: string, props: AfterDeployProps) {
    super(scope, id);
    this.deploymentId = deploymentIdOf(props);
    this.function = props.functions.defineAfterDeploy({
      BACKFILL_STATE_MACHINE_ARN: props.backfill.stateMachineArn,
      HINDSIGHT_DEPLOYMENT_ID: this.deploymentId,
      HINDSIGHT_AUTO_BACKFILL: String(props.autoBackfill),
      // The master user's secret, for migrations and the pipeline role's grants: this function's alone.
      ...(props.database.pipelineSecret
        ? { DB_MASTER_SECRET_ARN: props.database.masterSecret.secretArn }
        : {}),
    });
    props.database.grantAdministration(this.function);
    // Planning builds the same dependencies as the workflow steps, lease client included; it reads nothing there.
    props.leaseTable.grantRead(this.function);
    if (props.autoBackfill) props.backfill.grantStartExecution(this.function);

    new Trigger(this, 'Trigger', {
      handler: this.function,
      executeAfter: [...props.executeAfter],
      // Runs whenever the function changes, and its environment carries the deployment id:
      // a change of stage version, transition or migration runs it again.
      executeOnHandlerChange: true,
      timeout: Duration.minutes(5),
    });
  }
}

/** A short hash of what makes a deployment need a backfill: stage versions, transitions, migrations. */
export function deploymentIdOf(
  props: Pick<AfterDeployProps, 'pipeline' | 'transitions' | 'migrationsDirectory'>,
): string {
  const content = {
    // A chain's stages hash as they did before stage graphs, so upgrading triggers no backfill.
    stages: props.pipeline.stages.map((stage) =>
      stage.inputs === undefined
        ? [stage.name, stage.version, stage.lookbackDays]
        : [stage.name, stage.version, props.pipeline.inputsOf(stage.name)],
    ),
    transitions: props.transitions.map((transition) => transition.id),
    migrations: [
      ...loadMigrations(frameworkMigrationsDirectory()).map((migration) => [
        `${MIGRATION_SEQUENCES.framework.prefix}${migration.id}`,
        migration.checksum,
      ]),
      ...loadMigrations(props.migrationsDirectory).map((migration) => [migration.id, migration.checksum]),
    ],
  };
  return createHash('sha256').update(JSON.stringify(content)).digest('hex').slice(0, 16);
}
