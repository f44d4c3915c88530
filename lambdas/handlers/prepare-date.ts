import { prepareDate } from '../workflow/steps';
import { awsDependencies } from './aws-dependencies';

const deps = awsDependencies();

/** "Prepare Date": hold the lease, check the previous date is done, apply transitions. */
export const handler = (event: unknown) => prepareDate(deps, event);
