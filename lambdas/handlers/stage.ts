import { runStageTask, type StepDependencies } from '../workflow/steps';
import { awsDependencies, requiredEnv } from './aws-dependencies';
import { awsLeaseService } from './aws-lease';
import {
  METRIC_DIMENSIONS,
  METRIC_NAMES,
  type Observer,
  powertoolsObserver,
  textAt,
  withObservability,
} from './observability';

/** "Run <Stage>" for `stageName`: logs what it wrote, measures RowsWritten and StageDurationMs by Stage. */
export function createStageHandler(deps: StepDependencies, stageName: string, observer: Observer) {
  const stage = deps.pipeline.stage(stageName);
  return withObservability(observer, 'stage', {
    fieldsOf: (event) => ({
      date: textAt(event, 'date'),
      stage: stage.name,
      version: stage.version,
      executionId: textAt(event, 'executionId'),
    }),
    run: (event) => runStageTask(deps, stage.name, event),
    succeeded: (result, { durationMs }) => ({
      message: `Stage ${result.stage} v${result.version} wrote ${result.rowsWritten} rows for ${result.date}`,
      fields: { runId: result.runId, rowsWritten: result.rowsWritten },
      dimensions: { [METRIC_DIMENSIONS.stage]: result.stage },
      metrics: [
        { name: METRIC_NAMES.rowsWritten, unit: 'Count', value: result.rowsWritten },
        { name: METRIC_NAMES.stageDurationMs, unit: 'Milliseconds', value: durationMs },
      ],
    }),
  });
}

/** Every stage Lambda runs this entry, told its stage by HINDSIGHT_STAGE. */
export const handler = createStageHandler(
  { ...awsDependencies(), leases: awsLeaseService() },
  requiredEnv('HINDSIGHT_STAGE'),
  powertoolsObserver(),
);
