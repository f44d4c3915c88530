import { ArnFormat, CfnOutput, type Duration, Stack } from 'aws-cdk-lib';
import { Policy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { PipelineParams } from '../lambdas/engine/stage';
import { AfterDeploy } from './after-deploy';
import { HindsightAlarms } from './alarms';
import { BackfillWorkflow } from './backfill-workflow';
import { DEFAULT_CONFIG, type ImportedDatabaseConfig } from './config';
import { DailyWorkflow } from './daily-workflow';
import { HindsightDatabase } from './database';
import { HindsightFunctions } from './functions';
import { checkLeaseCoverage, synthesizedWorkflows } from './lease-coverage';
import { LeaseTable } from './lease-table';
import { acknowledgeWildcard, logicalIdOf } from './nag';
import { loadPipelineModule, type PipelineModule } from './project';
import { ReleaseOnAbort } from './release-on-abort';
import { OUTPUTS } from './stack-outputs';
import { VerifyWorkflow } from './verify-workflow';

export interface HindsightPipelineProps {
  /**
   * The module that exports the ordered stage list as `pipeline` (and `transitions`, when there
   * are any). Every Lambda bundle is built with this module's code.
   */
  readonly entry: string;
  /** The directory of the pipeline's `NNNN_name.sql` migrations, applied after every deploy. */
  readonly migrationsDirectory: string;
  /**
   * The module's exports, when the caller has loaded it already.
   * @default - `entry` is loaded
   */
  readonly pipeline?: PipelineModule;
  /**
   * The project whose `package-lock.json` and `node_modules` the bundling uses.
   * @default - the current directory (where `cdk` runs the app)
   */
  readonly projectRoot?: string;
  /**
   * EventBridge schedule expression of the daily run.
   * @default 'cron(0 2 * * ? *)' (02:00 UTC, for the day before)
   */
  readonly dailySchedule?: string;
  /**
   * How long a daily run waits for the lease while a backfill holds it, before it gives up (the
   * date stays due and the next auto backfill runs it).
   * @default Duration.minutes(120)
   */
  readonly leaseWait?: Duration;
  /**
   * How long a daily run may keep finding the lease busy before the blocked alarm fires; keep it
   * under `leaseWait`.
   * @default Duration.minutes(60)
   */
  readonly dailyBlockedAlarm?: Duration;
  /**
   * The longest date range one backfill accepts, in days.
   * @default 3660
   */
  readonly maxBackfillDays?: number;
  /**
   * Start the backfill with `{"mode": "auto"}` after each deploy. When false the after-deploy
   * function still migrates and logs the plan.
   * @default true
   */
  readonly autoBackfill?: boolean;
  /**
   * An Aurora PostgreSQL cluster that exists already, reached through its Data API.
   * @default - an Aurora Serverless v2 cluster (and its VPC) is created
   */
  readonly existingDatabase?: ImportedDatabaseConfig;
  /**
   * The SNS topic every alarm notifies.
   * @default - alarms notify nobody
   */
  readonly alarmTopic?: ITopic;
  /**
   * The pipeline's parameters, given to every stage as `params`.
   * @default - none
   */
  readonly params?: PipelineParams;
  /**
   * The Verify workflow (a state machine, its function and the `VerifyDifferences` alarm), which
   * recomputes sampled fresh cells in rolled-back transactions and compares them with what is
   * stored; `schedule` starts it with `{"sample": sample}`. `false` leaves it out.
   * @default - the Verify workflow, started from the console only (no schedule)
   */
  readonly verify?: { readonly schedule?: string; readonly sample?: number } | false;
}

/**
 * A Hindsight pipeline, derived from its ordered stage list: one function, one Task per workflow
 * and one "Start At Which Stage?" branch per stage, around a database, a lease table, the daily
 * and backfill workflows, the rule that releases the lease of a stopped execution, the alarms
 * and the after-deploy backfill. One per stack: its outputs have fixed names, which the CLI's
 * `--aws` mode reads.
 */
export class HindsightPipeline extends Construct {
  readonly database: HindsightDatabase;
  readonly leaseTable: LeaseTable;
  readonly functions: HindsightFunctions;
  readonly daily: DailyWorkflow;
  readonly backfill: BackfillWorkflow;
  readonly alarms: HindsightAlarms;
  /** The rule that releases a stopped execution's lease, and the queue of releases that failed. */
  readonly releaseOnAbort: ReleaseOnAbort;
  readonly afterDeploy: AfterDeploy;
  /** The Verify workflow, unless `verify` is false. */
  readonly verify?: VerifyWorkflow;

  constructor(scope: Construct, id: string, props: HindsightPipelineProps) {
    super(scope, id);
    const { pipeline, transitions } = props.pipeline ?? loadPipelineModule(props.entry, 'entry');
    const leaseWait = props.leaseWait ?? DEFAULT_CONFIG.leaseWait;

    this.database = new HindsightDatabase(this, 'Database', {
      ...(props.existingDatabase ? { imported: props.existingDatabase } : {}),
    });
    this.leaseTable = new LeaseTable(this, 'LeaseTable');
    this.functions = new HindsightFunctions(this, 'Functions', {
      pipeline,
      pipelineEntry: props.entry,
      migrationsDirectory: props.migrationsDirectory,
      projectRoot: props.projectRoot ?? process.cwd(),
      params: props.params ?? DEFAULT_CONFIG.params,
      database: this.database,
      leaseTable: this.leaseTable,
      maxBackfillDays: props.maxBackfillDays ?? DEFAULT_CONFIG.maxBackfillDays,
    });
    this.daily = new DailyWorkflow(this, 'Daily', {
      pipeline,
      functions: this.functions,
      schedule: props.dailySchedule ?? DEFAULT_CONFIG.dailySchedule,
      leaseWait,
    });
    this.backfill = new BackfillWorkflow(this, 'Backfill', {
      pipeline,
      functions: this.functions,
      leaseWait,
    });
    if (props.verify !== false) {
      this.verify = new VerifyWorkflow(this, 'Verify', {
        functions: this.functions,
        database: this.database,
        ...props.verify,
      });
    }
    const machines = [this.daily.stateMachine, this.backfill.stateMachine];
    // At synth: every path under the lease renews it before the lease can run out.
    this.node.addValidation({
      validate: () => {
        try {
          checkLeaseCoverage(
            synthesizedWorkflows({
              daily: this.daily.stateMachine,
              backfill: this.backfill.stateMachine,
              functions: this.functions.all,
            }),
          );
          return [];
        } catch (error) {
          return [error instanceof Error ? error.message : String(error)];
        }
      },
    });
    this.releaseOnAbort = new ReleaseOnAbort(this, 'ReleaseOnAbort', {
      stateMachines: machines,
      lease: this.functions.lease,
    });
    this.allowLivenessChecks(machines);
    this.alarms = new HindsightAlarms(this, 'Alarms', {
      daily: this.daily.stateMachine,
      backfill: this.backfill.stateMachine,
      dailyBlockedLimit: props.dailyBlockedAlarm ?? DEFAULT_CONFIG.dailyBlockedAlarm,
      leaseWait,
      ...(props.alarmTopic ? { topic: props.alarmTopic } : {}),
      ...(this.verify ? { verify: true } : {}),
      leaseReleaseFailures: this.releaseOnAbort.failures,
    });

    this.afterDeploy = new AfterDeploy(this, 'AfterDeploy', {
      pipeline,
      transitions,
      migrationsDirectory: props.migrationsDirectory,
      functions: this.functions,
      database: this.database,
      leaseTable: this.leaseTable,
      backfill: this.backfill.stateMachine,
      executeAfter: [this.database, this.daily, this.backfill],
      autoBackfill: props.autoBackfill ?? DEFAULT_CONFIG.autoBackfill,
    });

    this.output(OUTPUTS.dailyStateMachineArn, this.daily.stateMachine.stateMachineArn);
    this.output(OUTPUTS.backfillStateMachineArn, this.backfill.stateMachine.stateMachineArn);
    this.output(OUTPUTS.leaseTableName, this.leaseTable.tableName);
    this.output(OUTPUTS.clusterArn, this.database.clusterArn);
    this.output(OUTPUTS.secretArn, this.database.secret.secretArn);
    this.output(OUTPUTS.databaseName, this.database.databaseName);
  }

  /** An output under its fixed key, wherever the construct sits: the CLI's `--aws` mode finds it by that key. */
  private output(key: string, value: string): void {
    new CfnOutput(this, key, { value }).overrideLogicalId(key);
  }

  /**
   * Lets the functions that acquire the lease (lease, and prepare-date, which re-takes it after a
   * redrive) ask whether the holder's execution still runs: `states:DescribeExecution` on the two
   * workflows' executions. A policy of its own, not in the roles' default ones: each function
   * depends on its default policy, the workflows on the functions, and this on the workflows.
   */
  private allowLivenessChecks(machines: readonly StateMachine[]): void {
    const stack = Stack.of(this);
    const executionArns = machines.map((machine) =>
      stack.formatArn({
        service: 'states',
        resource: 'execution',
        resourceName: `${machine.stateMachineName}:*`,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      }),
    );
    const policy = new Policy(this, 'LeaseLivenessPolicy', {
      statements: [new PolicyStatement({ actions: ['states:DescribeExecution'], resources: executionArns })],
    });
    for (const fn of [this.functions.lease, this.functions.prepareDate]) {
      if (!fn.role) throw new Error(`${fn.node.path} has no role.`);
      policy.attachToRole(fn.role);
    }
    for (const machine of machines) {
      acknowledgeWildcard(
        policy,
        `Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:<${logicalIdOf(machine)}.Name>:*`,
        'Execution names are generated per run; the wildcard covers only the executions of this one workflow.',
      );
    }
  }
}
