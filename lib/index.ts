/**
 * `hindsight/cdk`: the constructs a CDK app deploys a Hindsight pipeline with. `HindsightPipeline`
 * is the whole of it; `HindsightStack` is a stack around one, configured from cdk.json.
 */
export { type HindsightConfig, type ImportedDatabaseConfig, readConfig } from './config';
export { HindsightPipeline, type HindsightPipelineProps } from './hindsight-pipeline';
export { HindsightStack, type HindsightStackProps } from './hindsight-stack';
export {
  findProject,
  loadPipelineModule,
  PIPELINE_KEYS,
  type PipelineModule,
  type PipelineSource,
  pipelineSource,
} from './project';
export { VerifyWorkflow, type VerifyWorkflowProps } from './verify-workflow';
