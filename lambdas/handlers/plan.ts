import { type LeaselessDependencies, validateAndPlan } from '../workflow/steps';
import { awsDependencies } from './aws-dependencies';
import { type Observer, powertoolsObserver, textAt, withObservability } from './observability';

/** "Validate And Plan": the backfill's console input, checked, and the plan, logged with its totals. */
export function createPlanHandler(deps: LeaselessDependencies, observer: Observer) {
  return withObservability(observer, 'plan', {
    fieldsOf: (event) => ({
      mode: textAt(event, 'mode'),
      from: textAt(event, 'from'),
      to: textAt(event, 'to'),
      stage: textAt(event, 'startStage'),
    }),
    run: (event) => validateAndPlan(deps, event),
    succeeded: (plan) => ({
      message: `Planned ${plan.totals.dates} dates, ${plan.totals.stageRuns} stage runs${plan.dryRun ? ' (dry run)' : ''}`,
      fields: {
        dryRun: plan.dryRun,
        dates: plan.totals.dates,
        stageRuns: plan.totals.stageRuns,
        firstDate: plan.firstDate ?? undefined,
        lastDate: plan.lastDate ?? undefined,
      },
    }),
  });
}

export const handler = createPlanHandler(awsDependencies(), powertoolsObserver());
