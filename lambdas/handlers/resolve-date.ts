import { resolveDate, type StepDependencies } from '../workflow/steps';
import { type Observer, powertoolsObserver, textAt, withObservability } from './observability';

/** "Resolve Date": needs no database, so it builds no clients. */
export function createResolveDateHandler(deps: Pick<StepDependencies, 'now'>, observer: Observer) {
  return withObservability(observer, 'resolve-date', {
    fieldsOf: (event) => ({ date: textAt(event, 'date'), scheduledTime: textAt(event, 'scheduledTime') }),
    run: async (event) => resolveDate(deps, event),
    succeeded: (resolved) => ({
      message: `Resolved the daily run's date: ${resolved.date}`,
      fields: { date: resolved.date },
    }),
  });
}

export const handler = createResolveDateHandler({ now: () => new Date() }, powertoolsObserver());
