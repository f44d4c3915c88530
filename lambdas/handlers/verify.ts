import type { LeaselessDependencies } from '../workflow/steps';
import {
  type VerifyChosen,
  type VerifyDateResult,
  type VerifyWorkflowReport,
  verifyTask,
} from '../workflow/verify-tasks';
import { awsDependencies } from './aws-dependencies';
import {
  METRIC_NAMES,
  type Observation,
  type Observer,
  powertoolsObserver,
  textAt,
  withObservability,
} from './observability';

/**
 * The Verify workflow's Tasks: choose the dates, verify one date (its differing rows go to the log
 * line), report the totals as the `VerifyDifferences` and `CellsVerified` metrics.
 */
export function createVerifyHandler(deps: LeaselessDependencies, observer: Observer) {
  return withObservability(observer, 'verify', {
    fieldsOf: (event) => ({ action: textAt(event, 'action'), date: textAt(event, 'date') }),
    run: (event) => verifyTask(deps, event),
    succeeded: (result) => observe(result),
  });
}

function observe(result: VerifyChosen | VerifyDateResult | VerifyWorkflowReport): Observation {
  if ('items' in result) {
    return {
      message: `Chose ${result.items.length} dates to verify`,
      fields: { from: result.from ?? undefined, to: result.to ?? undefined, seed: result.sample?.seed },
    };
  }
  if ('cells' in result) {
    return {
      message:
        result.differing.length === 0
          ? `Verified ${result.date}: ${result.counts.same} same`
          : `Verified ${result.date}: ${result.differing.join('; ')}`,
      // The example rows of each differing table, for whoever reads the alarm.
      fields: { differing: result.differing, cells: JSON.stringify(result.cells) },
    };
  }
  const { totals } = result;
  return {
    message: result.summary,
    fields: { differs: result.differs, seed: result.sample?.seed },
    metrics: [
      { name: METRIC_NAMES.verifyDifferences, unit: 'Count', value: totals.differs + totals.failed },
      {
        name: METRIC_NAMES.cellsVerified,
        unit: 'Count',
        value: totals.same + totals.differs + totals.failed,
      },
    ],
  };
}

export const handler = createVerifyHandler(awsDependencies(), powertoolsObserver());
