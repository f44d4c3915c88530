import { ArnFormat, CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import { Policy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Topic } from 'aws-cdk-lib/aws-sns';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import type { Pipeline } from '../lambdas/engine/pipeline';
import type { Transition } from '../lambdas/engine/transition';
import { defaultMigrationsDirectory } from '../lambdas/ledger/migrator';
import { pipeline as repositoryPipeline } from '../lambdas/stages';
import { transitions as repositoryTransitions } from '../lambdas/transitions';
import { AfterDeploy } from './after-deploy';
import { HindsightAlarms } from './alarms';
import { BackfillWorkflow } from './backfill-workflow';
import { type HindsightConfig, readConfig } from './config';
import { DailyWorkflow } from './daily-workflow';
import { HindsightDatabase } from './database';
import { HindsightFunctions } from './functions';
import { LeaseTable } from './lease-table';
import { acknowledgeWildcard, logicalIdOf } from './nag';
import { ReleaseOnAbort } from './release-on-abort';
import { OUTPUTS } from './stack-outputs';

export interface HindsightStackProps extends StackProps {
  /**
   * The ordered stage list the stack is built from.
   * @default the repository's list, `lambdas/stages`
   */
  readonly pipeline?: Pipeline;
  /**
   * The transitions the backfill applies.
   * @default the repository's list when the pipeline is the repository's, else none
   */
  readonly transitions?: readonly Transition[];
  /**
   * Deployment settings.
   * @default - read from the `hindsight:*` context of `cdk.json`
   */
  readonly config?: HindsightConfig;
}

/**
 * Hindsight's infrastructure, derived from the ordered stage list: one function, one Task per
 * workflow and one "Start At Which Stage?" branch per stage, around a database, a lease table,
 * the daily and backfill workflows, the rule that releases the lease of a stopped execution, and
 * the alarms.
 */
export class HindsightStack extends Stack {
  readonly database: HindsightDatabase;
  readonly leaseTable: LeaseTable;
  readonly functions: HindsightFunctions;
  readonly daily: DailyWorkflow;
  readonly backfill: BackfillWorkflow;
  readonly alarms: HindsightAlarms;
  readonly afterDeploy: AfterDeploy;

  constructor(scope: Construct, id: string, props: HindsightStackProps = {}) {
    super(scope, id, props);
    const pipeline = props.pipeline ?? repositoryPipeline;
    const config = props.config ?? readConfig(this.node);

    this.database = new HindsightDatabase(this, 'Database', {
      ...(config.importedDatabase ? { imported: config.importedDatabase } : {}),
    });
    this.leaseTable = new LeaseTable(this, 'LeaseTable');
    this.functions = new HindsightFunctions(this, 'Functions', {
      pipeline,
      database: this.database,
      leaseTable: this.leaseTable,
      maxBackfillDays: config.maxBackfillDays,
    });
    this.daily = new DailyWorkflow(this, 'Daily', {
      pipeline,
      functions: this.functions,
      schedule: config.dailySchedule,
      leaseWait: config.leaseWait,
    });
    this.backfill = new BackfillWorkflow(this, 'Backfill', {
      pipeline,
      functions: this.functions,
      leaseWait: config.leaseWait,
    });
    const machines = [this.daily.stateMachine, this.backfill.stateMachine];
    new ReleaseOnAbort(this, 'ReleaseOnAbort', { stateMachines: machines, lease: this.functions.lease });
    this.allowLivenessChecks(machines);
    this.alarms = new HindsightAlarms(this, 'Alarms', {
      daily: this.daily.stateMachine,
      backfill: this.backfill.stateMachine,
      dailyBlockedLimit: config.dailyBlockedAlarm,
      leaseWait: config.leaseWait,
      ...(config.alarmTopicArn
        ? { topic: Topic.fromTopicArn(this, 'AlarmTopic', config.alarmTopicArn) }
        : {}),
    });

    this.afterDeploy = new AfterDeploy(this, 'AfterDeploy', {
      pipeline,
      transitions: props.transitions ?? (pipeline === repositoryPipeline ? repositoryTransitions : []),
      migrationsDirectory: defaultMigrationsDirectory(),
      functions: this.functions,
      database: this.database,
      leaseTable: this.leaseTable,
      backfill: this.backfill.stateMachine,
      executeAfter: [this.database, this.daily, this.backfill],
      autoBackfill: config.autoBackfill,
    });

    new CfnOutput(this, OUTPUTS.dailyStateMachineArn, { value: this.daily.stateMachine.stateMachineArn });
    new CfnOutput(this, OUTPUTS.backfillStateMachineArn, {
      value: this.backfill.stateMachine.stateMachineArn,
    });
    new CfnOutput(this, OUTPUTS.leaseTableName, { value: this.leaseTable.tableName });
    new CfnOutput(this, OUTPUTS.clusterArn, { value: this.database.clusterArn });
    new CfnOutput(this, OUTPUTS.secretArn, { value: this.database.secret.secretArn });
    new CfnOutput(this, OUTPUTS.databaseName, { value: this.database.databaseName });
  }

  /**
   * Lets the functions that acquire the lease (lease, and prepare-date, which re-takes it after a
   * redrive) ask whether the holder's execution still runs: `states:DescribeExecution` on the two
   * workflows' executions. A policy of its own, not in the roles' default ones: each function
   * depends on its default policy, the workflows on the functions, and this on the workflows.
   */
  private allowLivenessChecks(machines: readonly StateMachine[]): void {
    const executionArns = machines.map((machine) =>
      this.formatArn({
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
