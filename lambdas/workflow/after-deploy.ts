import { InvalidInputError } from '../engine/errors';
import { type BackfillPlan, formatPlan } from '../engine/plan';
import type { SqlClient } from '../engine/sql';
import type { Migration } from '../ledger/migrator';
import { migrate } from '../ledger/migrator';
import {
  type DatabaseCredentials,
  grantPipelineRole,
  type PipelineRoleReport,
} from '../ledger/pipeline-role';
import { computePlan, type LeaselessDependencies } from './steps';

/** Starts executions of the backfill state machine (Step Functions in AWS). */
export interface BackfillStarter {
  /**
   * Starts `{"mode": "auto"}` under `name`. An execution of that name that already exists is not
   * an error: it means this deployment already started its backfill.
   */
  startAuto(name: string): Promise<{ readonly executionArn: string; readonly alreadyStarted: boolean }>;
}

export interface AfterDeployRequest {
  /** Identifies the deployment's content; the backfill execution is named after it. */
  readonly deploymentId: string;
  /** `hindsight:autoBackfill` in cdk.json: false plans and logs, but starts nothing. */
  readonly autoBackfill: boolean;
}

/**
 * The master user's side of a deploy: it migrates, then grants the pipeline's role. Every other
 * step (the plan included) runs with the steps' own connection, as the pipeline role.
 */
export interface DatabaseAdministration {
  /** Connected as the user that owns the schema (the cluster's master user). */
  readonly sql: SqlClient;
  /** The pipeline role's login, read from its secret; absent when the stack has no pipeline role. */
  readonly pipelineRole?: () => Promise<DatabaseCredentials>;
}

export interface AfterDeployResult {
  readonly migrationsApplied: readonly string[];
  /** The pipeline role, created or updated and granted after the migrations; null when there is none. */
  readonly pipelineRole: PipelineRoleReport | null;
  readonly summary: string;
  readonly plannedDates: number;
  /**
   * Why the auto plan was refused (it would cover more than `hindsight:maxBackfillDays`, say): the
   * deploy goes ahead, no backfill is started, and the handler reports it (error line, metric, alarm).
   * Null when the plan was made.
   */
  readonly planRefused: string | null;
  /** The backfill execution started (or found already started); null when none was needed or allowed. */
  readonly backfill: { readonly executionArn: string; readonly alreadyStarted: boolean } | null;
}

/**
 * What runs after `cdk deploy`: apply schema migrations and grant the pipeline role its rows (as
 * the master user, `admin`), compute the plan (its summary goes to the deploy's log), and unless
 * turned off start the backfill in auto mode under a name derived from the deployment, so a
 * retried deploy never starts two.
 */
export async function afterDeploy(
  deps: LeaselessDependencies,
  migrations: { readonly framework: readonly Migration[]; readonly pipeline: readonly Migration[] },
  starter: BackfillStarter,
  request: AfterDeployRequest,
  admin: DatabaseAdministration = { sql: deps.sql },
): Promise<AfterDeployResult> {
  const { applied } = await migrate(admin.sql, migrations.pipeline, migrations.framework);
  const pipelineRole = admin.pipelineRole
    ? await grantPipelineRole(admin.sql, await admin.pipelineRole())
    : null;
  const planned = await autoPlan(deps);
  if (!('plan' in planned)) {
    return {
      migrationsApplied: applied,
      pipelineRole,
      summary: `No backfill was planned: the auto plan was refused. ${planned.refused}`,
      plannedDates: 0,
      planRefused: planned.refused,
      backfill: null,
    };
  }
  const { plan } = planned;
  const summary = formatPlan(plan, deps.pipeline);
  const wanted = request.autoBackfill && plan.dates.length > 0;
  const backfill = wanted ? await starter.startAuto(backfillExecutionName(request.deploymentId)) : null;
  return {
    migrationsApplied: applied,
    pipelineRole,
    summary,
    plannedDates: plan.dates.length,
    planRefused: null,
    backfill,
  };
}

/**
 * The auto plan, or why it was refused. A refusal (an InvalidInputError: the plan would cover more
 * than `maxBackfillDays`) is the data's state, not the deploy's fault: failing here would fail the
 * CDK Trigger and roll back every deploy until someone fixed the data by hand.
 */
async function autoPlan(deps: LeaselessDependencies): Promise<{ plan: BackfillPlan } | { refused: string }> {
  try {
    return { plan: (await computePlan(deps, { mode: 'auto' })).plan };
  } catch (error) {
    if (error instanceof InvalidInputError) return { refused: error.message };
    throw error;
  }
}

/** Step Functions execution names: at most 80 characters of letters, digits, - and _. */
export function backfillExecutionName(deploymentId: string): string {
  return `deploy-${deploymentId.replace(/[^A-Za-z0-9_-]/g, '-')}`.slice(0, 80);
}
