/**
 * The pipeline the benchmark measures: the one `hindsight:pipeline` and `hindsight:migrations`
 * of the project's cdk.json name (run the bench from the project's folder).
 */
import type { PipelineParams } from '../lambdas/engine/stage';
import { findProject, loadPipelineModule, PIPELINE_KEYS, pipelineSource } from '../lib/project';

const project = findProject();
export const source = pipelineSource((key) => project.context[key], project.root);
export const { pipeline, transitions } = loadPipelineModule(
  source.entry,
  PIPELINE_KEYS.pipeline,
  String(project.context[PIPELINE_KEYS.pipeline]),
);

/**
 * The parameters that size the source: the bench asks for `rowsPerDay` rows a day (the orders
 * example reads it; a pipeline whose source has another knob sizes itself).
 */
export function sizeParams(rowsPerDay: number): PipelineParams {
  return { rowsPerDay: String(rowsPerDay) };
}
