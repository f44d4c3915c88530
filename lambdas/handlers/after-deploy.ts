import { join } from 'node:path';
import { SFNClient } from '@aws-sdk/client-sfn';
import { StepFunctionsBackfillStarter } from '../adapters/sfn-backfill-starter';
import { loadMigrations } from '../ledger/migrator';
import { type AfterDeployRequest, afterDeploy, type BackfillStarter } from '../workflow/after-deploy';
import type { StepDependencies } from '../workflow/steps';
import { awsDependencies, requiredEnv } from './aws-dependencies';
import { type Observer, powertoolsObserver, withObservability } from './observability';

/** Where the two migration sequences are: Hindsight's own, and the pipeline's. */
export interface MigrationDirectories {
  readonly framework: string;
  readonly pipeline: string;
}

/** After `cdk deploy` (a CDK Trigger): migrations, the plan in the deploy's log, the automatic backfill. */
export function createAfterDeployHandler(
  deps: StepDependencies,
  migrations: MigrationDirectories,
  starter: BackfillStarter,
  request: AfterDeployRequest,
  observer: Observer,
) {
  return withObservability(observer, 'after-deploy', {
    fieldsOf: () => ({ deploymentId: request.deploymentId }),
    run: () =>
      afterDeploy(
        deps,
        { framework: loadMigrations(migrations.framework), pipeline: loadMigrations(migrations.pipeline) },
        starter,
        request,
      ),
    succeeded: (result) => ({
      message:
        `${result.migrationsApplied.length} migrations applied; ${result.summary}\n` +
        (result.backfill === null
          ? request.autoBackfill
            ? 'No backfill needed.'
            : 'Automatic backfill is off (hindsight:autoBackfill): start it from the console with {"mode": "auto"}.'
          : `Backfill ${result.backfill.alreadyStarted ? 'already started' : 'started'}: ${result.backfill.executionArn}`),
      fields: {
        migrationsApplied: result.migrationsApplied,
        plannedDates: result.plannedDates,
        backfillExecution: result.backfill?.executionArn,
      },
    }),
  });
}

export const handler = createAfterDeployHandler(
  awsDependencies(),
  // The bundling copies both sequences next to the bundle (lib/functions.ts).
  {
    framework: join(__dirname, 'migrations', 'hindsight'),
    pipeline: join(__dirname, 'migrations', 'pipeline'),
  },
  new StepFunctionsBackfillStarter(new SFNClient({}), requiredEnv('BACKFILL_STATE_MACHINE_ARN')),
  {
    deploymentId: requiredEnv('HINDSIGHT_DEPLOYMENT_ID'),
    autoBackfill: requiredEnv('HINDSIGHT_AUTO_BACKFILL') === 'true',
  },
  powertoolsObserver(),
);
