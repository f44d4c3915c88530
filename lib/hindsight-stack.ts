import { Stack, type StackProps } from 'aws-cdk-lib';
import { Topic } from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { type HindsightConfig, readConfig } from './config';
import { HindsightPipeline } from './hindsight-pipeline';
import {
  loadPipelineModule,
  PIPELINE_KEYS,
  type PipelineModule,
  type PipelineSource,
  pipelineSource,
} from './project';

export interface HindsightStackProps extends StackProps {
  /**
   * Where the pipeline's code and migrations are.
   * @default - `hindsight:pipeline` and `hindsight:migrations` of cdk.json, relative to the current directory
   */
  readonly source?: PipelineSource;
  /**
   * The pipeline module's exports, when already loaded.
   * @default - `source.entry` is loaded
   */
  readonly pipeline?: PipelineModule;
  /**
   * The project whose lock file and `node_modules` the bundling uses.
   * @default - the current directory
   */
  readonly projectRoot?: string;
  /**
   * Deployment settings.
   * @default - read from the `hindsight:*` context of `cdk.json`
   */
  readonly config?: HindsightConfig;
}

/** A stack that holds one `HindsightPipeline`, configured from the `hindsight:*` keys of cdk.json. */
export class HindsightStack extends Stack {
  readonly pipeline: HindsightPipeline;

  constructor(scope: Construct, id: string, props: HindsightStackProps = {}) {
    super(scope, id, props);
    const config = props.config ?? readConfig(this.node);
    const source = props.source ?? pipelineSource((key) => this.node.tryGetContext(key), process.cwd());
    // Loaded here so a module that is no pipeline is refused naming the cdk.json key, not a prop.
    const pipeline =
      props.pipeline ??
      loadPipelineModule(
        source.entry,
        props.source ? 'source.entry' : PIPELINE_KEYS.pipeline,
        props.source ? source.entry : String(this.node.tryGetContext(PIPELINE_KEYS.pipeline)),
      );
    // The id "Default" keeps the construct out of logical ids: resources keep the ids they had when
    // they were the stack's own, so upgrading a deployed stack replaces nothing (the database least).
    this.pipeline = new HindsightPipeline(this, 'Default', {
      entry: source.entry,
      migrationsDirectory: source.migrationsDirectory,
      pipeline,
      ...(props.projectRoot ? { projectRoot: props.projectRoot } : {}),
      dailySchedule: config.dailySchedule,
      leaseWait: config.leaseWait,
      dailyBlockedAlarm: config.dailyBlockedAlarm,
      maxBackfillDays: config.maxBackfillDays,
      autoBackfill: config.autoBackfill,
      params: config.params,
      verify: config.verify ?? false,
      ...(config.importedDatabase ? { existingDatabase: config.importedDatabase } : {}),
      ...(config.alarmTopicArn
        ? { alarmTopic: Topic.fromTopicArn(this, 'AlarmTopic', config.alarmTopicArn) }
        : {}),
    });
  }
}
