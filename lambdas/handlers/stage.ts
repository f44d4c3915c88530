import { runStageTask } from '../workflow/steps';
import { awsDependencies, requiredEnv } from './aws-dependencies';

const deps = awsDependencies();
const stage = deps.pipeline.stage(requiredEnv('HINDSIGHT_STAGE')).name;

/** "Run <Stage>": every stage Lambda runs this entry, told its stage by HINDSIGHT_STAGE. */
export const handler = (event: unknown) => runStageTask(deps, stage, event);
