import { EarlierDatesStaleError } from '../engine/errors';
import { checkEarlierDates, type StepDependencies } from '../workflow/steps';
import { awsDependencies } from './aws-dependencies';
import { awsLeaseService } from './aws-lease';
import { type Observer, powertoolsObserver, textAt, withObservability } from './observability';

/**
 * "Check Earlier Dates": before the daily run's first stage, refuse to run on top of earlier dates
 * a backfill would rewrite. Renews the daily lease first (GetItem, and PutItem when due), then
 * reads the ledger.
 */
export function createCheckEarlierDatesHandler(
  deps: Pick<StepDependencies, 'sql' | 'pipeline' | 'leases' | 'now'>,
  observer: Observer,
) {
  return withObservability(observer, 'check-earlier-dates', {
    fieldsOf: (event) => ({ date: textAt(event, 'date'), executionId: textAt(event, 'executionId') }),
    run: (event) => checkEarlierDates(deps, event),
    succeeded: ({ date, checked }) => ({
      message:
        checked === null
          ? `No earlier date to check for ${date}`
          : `The earlier dates ${date} reads are fresh: ${checked.from} .. ${checked.to}`,
      fields: { checkedFrom: checked?.from, checkedTo: checked?.to },
    }),
    failed: (error) =>
      error instanceof EarlierDatesStaleError
        ? {
            message: `Refused the daily run for ${error.date}: ${error.earlierDates.length} earlier dates it reads are planned to be rewritten`,
            fields: { earlierDates: error.earlierDates },
          }
        : undefined,
  });
}

export const handler = createCheckEarlierDatesHandler(
  { ...awsDependencies(), leases: awsLeaseService() },
  powertoolsObserver(),
);
