import { prepareDate, type StepDependencies } from '../workflow/steps';
import { awsDependencies } from './aws-dependencies';
import { METRIC_NAMES, type Observer, powertoolsObserver, textAt, withObservability } from './observability';

/**
 * "Prepare Date": hold the lease, check the previous date is done, apply transitions. Counts
 * DatesBackfilled once per date prepared, i.e. per date that enters the stage chain.
 */
export function createPrepareDateHandler(deps: StepDependencies, observer: Observer) {
  return withObservability(observer, 'prepare-date', {
    fieldsOf: (event) => {
      const stage = textAt(event, 'item', 'startStage');
      return {
        date: textAt(event, 'item', 'date'),
        stage,
        version:
          stage && deps.pipeline.names.includes(stage) ? deps.pipeline.stage(stage).version : undefined,
        executionId: textAt(event, 'executionId'),
      };
    },
    run: (event) => prepareDate(deps, event),
    succeeded: (prepared) => ({
      message: `Prepared ${prepared.date}: it runs from stage ${prepared.startStage}`,
      fields: { token: prepared.token, transitionsApplied: prepared.transitionsApplied },
      metrics: [{ name: METRIC_NAMES.datesBackfilled, unit: 'Count', value: 1 }],
    }),
  });
}

export const handler = createPrepareDateHandler(awsDependencies(), powertoolsObserver());
