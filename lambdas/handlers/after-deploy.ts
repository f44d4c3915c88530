import { join } from 'node:path';
import { SFNClient } from '@aws-sdk/client-sfn';
import { StepFunctionsBackfillStarter } from '../adapters/sfn-backfill-starter';
import { loadMigrations } from '../ledger/migrator';
import type { PipelineRoleReport } from '../ledger/pipeline-role';
import {
  type AfterDeployRequest,
  afterDeploy,
  type BackfillStarter,
  type DatabaseAdministration,
} from '../workflow/after-deploy';
import type { LeaselessDependencies } from '../workflow/steps';
import { awsDatabaseAdministration } from './aws-database-administration';
import { awsDependencies, requiredEnv } from './aws-dependencies';
import { METRIC_NAMES, type Observer, powertoolsObserver, withObservability } from './observability';

/** Where the two migration sequences are: Hindsight's own, and the pipeline's. */
export interface MigrationDirectories {
  readonly framework: string;
  readonly pipeline: string;
}

/**
 * After `cdk deploy` (a CDK Trigger): migrations and the pipeline role's grants (as the master
 * user, `admin`), the plan in the deploy's log, the automatic backfill.
 */
export function createAfterDeployHandler(
  deps: LeaselessDependencies,
  migrations: MigrationDirectories,
  starter: BackfillStarter,
  request: AfterDeployRequest,
  observer: Observer,
  admin?: DatabaseAdministration,
) {
  return withObservability(observer, 'after-deploy', {
    fieldsOf: () => ({ deploymentId: request.deploymentId }),
    run: () =>
      afterDeploy(
        deps,
        { framework: loadMigrations(migrations.framework), pipeline: loadMigrations(migrations.pipeline) },
        starter,
        request,
        admin,
      ),
    // A refused plan does not fail the deploy (the Trigger would roll it back): it is reported, as an
    // error line and AfterDeployPlanRefused 1, which the alarm of that name watches.
    succeeded: (result) => ({
      message:
        `${result.migrationsApplied.length} migrations applied; ${describePipelineRole(result.pipelineRole)}` +
        `${result.summary}\n` +
        (result.planRefused !== null
          ? 'The automatic backfill was not started: its plan was refused. The deploy went ahead. Start the ' +
            'backfill from the console in parts, {"mode": "auto", "from": …, "to": …}, as the refusal says.'
          : result.backfill === null
            ? request.autoBackfill
              ? 'No backfill needed.'
              : 'Automatic backfill is off (hindsight:autoBackfill): start it from the console with {"mode": "auto"}.'
            : `Backfill ${result.backfill.alreadyStarted ? 'already started' : 'started'}: ${result.backfill.executionArn}`),
      level: result.planRefused === null ? 'info' : 'error',
      fields: {
        migrationsApplied: result.migrationsApplied,
        pipelineRole: result.pipelineRole?.role,
        pipelineRoleCanCreateIn: result.pipelineRole?.canCreateIn,
        plannedDates: result.plannedDates,
        planRefused: result.planRefused ?? undefined,
        backfillExecution: result.backfill?.executionArn,
      },
      metrics: [
        {
          name: METRIC_NAMES.afterDeployPlanRefused,
          unit: 'Count',
          value: result.planRefused === null ? 0 : 1,
        },
      ],
    }),
  });
}

/** The pipeline role's line of the deploy's log; a role that can still create objects is said plainly. */
function describePipelineRole(role: PipelineRoleReport | null): string {
  if (role === null) return 'no pipeline role (every function uses the master secret); ';
  const granted =
    `pipeline role ${role.role} ${role.created ? 'created' : 'updated'}: rows of ${role.tables} tables ` +
    `in ${role.schemas.join(', ') || 'no schema'}; `;
  if (role.canCreateIn.length === 0) return granted;
  return (
    `${granted}WARNING: it can still create objects in ${role.canCreateIn.join(', ')} through PUBLIC's ` +
    'privileges; the database owner can revoke them (e.g. REVOKE CREATE ON SCHEMA public FROM PUBLIC). '
  );
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
  awsDatabaseAdministration(),
);
