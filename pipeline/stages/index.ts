/**
 * THE ORDERED STAGE LIST. Everything follows from it: the Lambdas, the daily chain, the backfill's
 * "Start At Which Stage?" branches, the local bindings and the planner. To add a stage, write its
 * file next to this one and put it in the list; to change what a stage computes, bump its version.
 */
import { definePipeline } from 'hindsight';
import { aggregate } from './aggregate';
import { ingest } from './ingest';
import { publish } from './publish';
import { rolling } from './rolling';
import { transform } from './transform';

export const pipeline = definePipeline([ingest, transform, aggregate, rolling, publish]);
