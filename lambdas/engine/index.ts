/**
 * `hindsight`: the stage kit a pipeline is written with. Pure: no AWS SDK, no CDK, no I/O, so a
 * stage module imports it at no cost, in a Lambda bundle, in the CLI and in the pipeline's tests.
 */
export { addDays, type IsoDate, isIsoDate } from './dates';
export { HindsightError, type InputProblem, InvalidInputError } from './errors';
export { definePipeline, type Lineage, type Pipeline, type ResolvedInput } from './pipeline';
export {
  type SqlClient,
  type SqlExecutor,
  type SqlResult,
  type SqlRow,
  type SqlValue,
  sqlDate,
  sqlDecimal,
  sqlJson,
  sqlTimestamp,
  sqlUuid,
  type TypedSqlValue,
} from './sql';
export {
  defineStage,
  type PipelineParams,
  type Stage,
  type StageContext,
  type StageDefinition,
  type StageInput,
} from './stage';
export {
  defineTransition,
  defineTransitions,
  type Transition,
  type TransitionContext,
  type TransitionDefinition,
} from './transition';
