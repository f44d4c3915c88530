import { handleLease } from '../workflow/steps';
import { awsDependencies } from './aws-dependencies';

const deps = awsDependencies();

/** "Acquire Lease", "Renew Lease", "Release Lease", and the release of an aborted execution's lease. */
export const handler = (event: unknown) => handleLease(deps, event);
