import { prepareDate, type StepDependencies } from '../workflow/steps';
import { awsDependencies } from './aws-dependencies';
import { awsLeaseService } from './aws-lease';
import {
  METRIC_NAMES,
  numberAt,
  type Observer,
  powertoolsObserver,
  textAt,
  withObservability,
} from './observability';

/**
 * "Prepare Date": hold the lease, read the planned date, check the previous one is done, apply transitions. Counts
 * DatesBackfilled once per date prepared, i.e. per date that enters the stage chain.
 */
export function createPrepareDateHandler(deps: StepDependencies, observer: Observer) {
  return withObservability(observer, 'prepare-date', {
    fieldsOf: (event) => ({
      position: numberAt(event, 'position'),
      executionId: textAt(event, 'executionId'),
    }),
    run: (event) => prepareDate(deps, event),
    succeeded: (prepared) => ({
      message: `Prepared ${prepared.date}: it reruns ${prepared.stages.join(', ')}`,
      fields: {
        date: prepared.date,
        stage: prepared.startStage,
        stages: prepared.stages,
        version: deps.pipeline.stage(prepared.startStage).version,
        token: prepared.token,
        transitionsApplied: prepared.transitionsApplied,
      },
      metrics: [{ name: METRIC_NAMES.datesBackfilled, unit: 'Count', value: 1 }],
    }),
  });
}

export const handler = createPrepareDateHandler(
  { ...awsDependencies(), leases: awsLeaseService() },
  powertoolsObserver(),
);
