import { formatPlan } from '../engine/plan';
import type { Migration } from '../ledger/migrator';
import { migrate } from '../ledger/migrator';
import { computePlan, type StepDependencies } from './steps';

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

export interface AfterDeployResult {
  readonly migrationsApplied: readonly string[];
  readonly summary: string;
  readonly plannedDates: number;
  /** The backfill execution started (or found already started); null when none was needed or allowed. */
  readonly backfill: { readonly executionArn: string; readonly alreadyStarted: boolean } | null;
}

/**
 * What runs after `cdk deploy`: apply schema migrations, compute the plan (its summary goes to
 * the deploy's log), and unless turned off start the backfill in auto mode under a name derived
 * from the deployment, so a retried deploy never starts two.
 */
export async function afterDeploy(
  deps: StepDependencies,
  migrations: { readonly framework: readonly Migration[]; readonly pipeline: readonly Migration[] },
  starter: BackfillStarter,
  request: AfterDeployRequest,
): Promise<AfterDeployResult> {
  const { applied } = await migrate(deps.sql, migrations.pipeline, migrations.framework);
  const { plan } = await computePlan(deps, { mode: 'auto' });
  const summary = formatPlan(plan, deps.pipeline);
  const wanted = request.autoBackfill && plan.dates.length > 0;
  const backfill = wanted ? await starter.startAuto(backfillExecutionName(request.deploymentId)) : null;
  return { migrationsApplied: applied, summary, plannedDates: plan.dates.length, backfill };
}

/** Step Functions execution names: at most 80 characters of letters, digits, - and _. */
export function backfillExecutionName(deploymentId: string): string {
  return `deploy-${deploymentId.replace(/[^A-Za-z0-9_-]/g, '-')}`.slice(0, 80);
}
