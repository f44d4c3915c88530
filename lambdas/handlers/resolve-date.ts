import { resolveDate } from '../workflow/resolve-date';
import type { StepDependencies } from '../workflow/steps';
import { awsDependencies } from './aws-dependencies';
import { type Observer, powertoolsObserver, textAt, withObservability } from './observability';

/** "Resolve Date": the daily run's date, recorded as due. */
export function createResolveDateHandler(
  deps: Pick<StepDependencies, 'now' | 'sql' | 'pipeline' | 'maxBackfillDays'>,
  observer: Observer,
) {
  return withObservability(observer, 'resolve-date', {
    fieldsOf: (event) => ({ date: textAt(event, 'date'), scheduledTime: textAt(event, 'scheduledTime') }),
    run: (event) => resolveDate(deps, event),
    succeeded: (resolved) => ({
      message: `Resolved the daily run's date: ${resolved.date}`,
      fields: { date: resolved.date },
    }),
  });
}

export const handler = createResolveDateHandler(awsDependencies(), powertoolsObserver());
