import { LeaseHeldError } from '../engine/errors';
import { handleLease } from '../workflow/lease-steps';
import type { StepDependencies } from '../workflow/steps';
import { awsDependencies } from './aws-dependencies';
import { awsLeaseService } from './aws-lease';
import {
  type LogFields,
  METRIC_DIMENSIONS,
  METRIC_NAMES,
  type Observer,
  powertoolsObserver,
  textAt,
  withObservability,
} from './observability';

/**
 * "Acquire Lease", "Renew Lease", "Release Lease", and the release of an aborted execution's
 * lease (unless Step Functions says it runs again: a late event about a redriven execution). Counts LeaseAcquired and LeaseBusy by the Kind of the execution asking; a busy lease is
 * logged at info, since Step Functions polls again.
 */
export function createLeaseHandler(deps: StepDependencies, observer: Observer) {
  return withObservability(observer, 'lease', {
    fieldsOf: requestFields,
    run: (event) => handleLease(deps, event),
    succeeded: (result, { event }) => {
      const { action, kind } = requestFields(event);
      if (!('token' in result)) {
        if ('holderRunning' in result && result.holderRunning) {
          return {
            message:
              'Kept the lease: the execution runs again (redriven), so its late status change releases nothing',
          };
        }
        return { message: result.released ? 'Released the lease' : 'Held no lease to release' };
      }
      const message = `${action === 'acquire' ? 'Acquired' : 'Renewed'} the ${kind} lease with token ${result.token}`;
      const fields = { token: result.token, expiresAt: result.expiresAt };
      if (action !== 'acquire' || kind === undefined) return { message, fields };
      return {
        message,
        fields,
        dimensions: { [METRIC_DIMENSIONS.kind]: kind },
        metrics: [{ name: METRIC_NAMES.leaseAcquired, unit: 'Count', value: 1 }],
      };
    },
    failed: (error, { event }) => {
      const { kind } = requestFields(event);
      if (!(error instanceof LeaseHeldError) || kind === undefined) return undefined;
      return {
        expected: true,
        message: `Lease busy: held by ${error.kind} execution ${error.holder}; Step Functions polls again`,
        fields: { holder: error.holder, holderKind: error.kind },
        dimensions: { [METRIC_DIMENSIONS.kind]: kind },
        metrics: [{ name: METRIC_NAMES.leaseBusy, unit: 'Count', value: 1 }],
      };
    },
  });
}

/** A lease request's keys, or a stopped execution's from its status-change event. */
function requestFields(event: unknown): LogFields & { action?: string; kind?: string } {
  const stopped = textAt(event, 'detail', 'executionArn');
  if (stopped !== undefined) {
    return { action: 'release-after-stop', executionId: stopped, status: textAt(event, 'detail', 'status') };
  }
  return {
    action: textAt(event, 'action'),
    kind: textAt(event, 'kind'),
    executionId: textAt(event, 'executionId'),
  };
}

export const handler = createLeaseHandler(
  { ...awsDependencies(), leases: awsLeaseService() },
  powertoolsObserver(),
);
