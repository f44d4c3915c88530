import { validateAndPlan } from '../workflow/steps';
import { awsDependencies } from './aws-dependencies';

const deps = awsDependencies();

/** "Validate And Plan": the backfill's console input, checked, and the plan. */
export const handler = (event: unknown) => validateAndPlan(deps, event);
