import { Match } from 'aws-cdk-lib/assertions';
import { logicalIdOf } from '../../lib/nag';
import { OUTPUTS } from '../../lib/stack-outputs';
import type { CfnTemplate } from '../../lib/workflow-definitions';
import { pipeline } from '../fixtures/pipelines/meters';
import { IMPORTED_CLUSTER_CONTEXT, resourcesOfType, type Synthesized, synthesize } from './support';

let owned: Synthesized;
let imported: Synthesized;

beforeAll(() => {
  owned = synthesize();
  imported = synthesize({ context: IMPORTED_CLUSTER_CONTEXT });
});

/**
 * The logical id of every resource of the meters fixture's stack before its resources moved into
 * the `HindsightPipeline` construct (read from a synth of commit e19cbf4, with the same stage
 * names). CloudFormation replaces a resource whose logical id changes: the database and its
 * secret, the lease table and the state machines with their execution history would be new. Left
 * out: the after-deploy function's version, whose id carries a hash of the deployment by design.
 */
const PRE_CONSTRUCT_LOGICAL_IDS = [
  'AWSCDKTriggerCustomResourceProviderCustomResourceProviderHandler97BECD91',
  'AWSCDKTriggerCustomResourceProviderCustomResourceProviderRoleE18FAF0A',
  'AfterDeployTrigger6E6CB4E6',
  'AlarmsBackfillFailed52C95C9B',
  'AlarmsDailyBlockedEFF11B77',
  'AlarmsDailyFailed4E6FB5F3',
  'AlarmsDailyMissing77121DE7',
  'BackfillStateMachine395F6B27',
  'BackfillStateMachineDistributedMapPolicy48ABFC32',
  'BackfillStateMachineLogs3E950448',
  'BackfillStateMachineRoleAF7D34EF',
  'BackfillStateMachineRoleDefaultPolicyD50856A8',
  'DailySchedule7C7ADC08',
  'DailyStateMachine50E41313',
  'DailyStateMachineEventsRoleDefaultPolicyD24C96C9',
  'DailyStateMachineEventsRoleFA95AC1D',
  'DailyStateMachineLogs848D153C',
  'DailyStateMachineRole453091FB',
  'DailyStateMachineRoleDefaultPolicy903F25CD',
  'DatabaseCluster5B53A178',
  'DatabaseClusterSecretAttachmentDC8466C0',
  'DatabaseClusterSecurityGroupFEF1426A',
  'DatabaseClusterSubnets5540150D',
  'DatabaseClusterWriterD43085C6',
  'DatabaseFlowLogs546961C9',
  'DatabaseVpc84C1A5A8',
  'DatabaseVpcDatabaseSubnet1RouteTable9D148825',
  'DatabaseVpcDatabaseSubnet1RouteTableAssociation60B6A9A8',
  'DatabaseVpcDatabaseSubnet1Subnet3894EE2E',
  'DatabaseVpcDatabaseSubnet2RouteTableAssociation49C31606',
  'DatabaseVpcDatabaseSubnet2RouteTableEE596495',
  'DatabaseVpcDatabaseSubnet2SubnetD349BD08',
  'DatabaseVpcRejectedFlowLog7DB2C2AF',
  'DatabaseVpcRejectedIAMRoleDefaultPolicyBA358557',
  'DatabaseVpcRejectedIAMRoleE27EC8E1',
  'FunctionsAfterDeployFunctionBBFB8868',
  'FunctionsAfterDeployLogs4D37F72E',
  'FunctionsAfterDeployRole6D764EBB',
  'FunctionsAfterDeployRoleDefaultPolicy3958CD4D',
  'FunctionsCheckEarlierDatesFunctionFF87FFA9',
  'FunctionsCheckEarlierDatesLogsB7343177',
  'FunctionsCheckEarlierDatesRole99846157',
  'FunctionsCheckEarlierDatesRoleDefaultPolicyEF8163F1',
  'FunctionsCollectStageFunction0316CBCC',
  'FunctionsCollectStageLogs369AA4AC',
  'FunctionsCollectStageRole9A5E2469',
  'FunctionsCollectStageRoleDefaultPolicyCA2EB4B4',
  'FunctionsLeaseFunctionD64EF482',
  'FunctionsLeaseLogsB6471BB2',
  'FunctionsLeaseRoleDefaultPolicy7F32FDED',
  'FunctionsLeaseRoleE0984640',
  'FunctionsPlanFunctionBD0235D8',
  'FunctionsPlanLogs1DC4EAD2',
  'FunctionsPlanRoleB2C3BAA3',
  'FunctionsPlanRoleDefaultPolicyF9AC428A',
  'FunctionsPrepareDateFunction7D6243BD',
  'FunctionsPrepareDateLogs21BFD12F',
  'FunctionsPrepareDateRoleB09D0B2E',
  'FunctionsPrepareDateRoleDefaultPolicy1672B1E4',
  'FunctionsReportStageFunctionBD3867EE',
  'FunctionsReportStageLogs7CE4B68D',
  'FunctionsReportStageRole758A303F',
  'FunctionsReportStageRoleDefaultPolicyAA3BFB71',
  'FunctionsResolveDateFunctionEAE030EB',
  'FunctionsResolveDateLogs0C6C38FD',
  'FunctionsResolveDateRoleC4375731',
  'FunctionsResolveDateRoleDefaultPolicy4C71EA3F',
  'FunctionsSummarizeStageFunctionB0F7BCE7',
  'FunctionsSummarizeStageLogsE45533E3',
  'FunctionsSummarizeStageRoleDefaultPolicy86013ACE',
  'FunctionsSummarizeStageRoleE33A28B6',
  'FunctionsTrendStageFunction498C7324',
  'FunctionsTrendStageLogs90823A6F',
  'FunctionsTrendStageRole4284F287',
  'FunctionsTrendStageRoleDefaultPolicyB616D862',
  'FunctionsValidateStageFunction758852ED',
  'FunctionsValidateStageLogs8E4DD998',
  'FunctionsValidateStageRole66895EEB',
  'FunctionsValidateStageRoleDefaultPolicy9D689324',
  'HindsightDatabaseClusterSecret5061BF5C3fdaad7efa858a3daf9490cf0a702aeb',
  'LeaseLivenessPolicy17BFB229',
  'LeaseTableF838DEF9',
  'ReleaseOnAbortRuleAllowEventRuleHindsightFunctionsLeaseFunctionED3DD42CA8271602',
  'ReleaseOnAbortRuleE1AA3C2C',
];

/** The outputs, by the keys the CLI's `--aws` mode reads; they kept their ids too. */
const PRE_CONSTRUCT_OUTPUTS = [
  'BackfillStateMachineArn',
  'ClusterArn',
  'DailyStateMachineArn',
  'DatabaseName',
  'LeaseTableName',
  'SecretArn',
];

/** Actions that AWS only grants on Resource "*" (X-Ray, and CloudWatch Logs vended log delivery). */
const ACTIONS_AWS_GRANTS_ONLY_ON_STAR = new Set([
  'xray:PutTraceSegments',
  'xray:PutTelemetryRecords',
  'xray:GetSamplingRules',
  'xray:GetSamplingTargets',
  'logs:CreateLogDelivery',
  'logs:GetLogDelivery',
  'logs:UpdateLogDelivery',
  'logs:DeleteLogDelivery',
  'logs:ListLogDeliveries',
  'logs:PutResourcePolicy',
  'logs:DescribeResourcePolicies',
  'logs:DescribeLogGroups',
]);

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
}

interface PolicyProperties {
  PolicyDocument: { Statement: Statement[] };
  Roles: Array<{ Ref: string }>;
}

/** Every statement of every IAM policy, with the policy's logical id, roles and metadata. */
function statementsOf(
  json: CfnTemplate,
): Array<{ policy: string; roles: string[]; statement: Statement; metadata: unknown }> {
  return resourcesOfType(json, 'AWS::IAM::Policy').flatMap(([policy, resource]) => {
    const properties = resource.Properties as PolicyProperties;
    const roles = properties.Roles.map((role) => role.Ref);
    return properties.PolicyDocument.Statement.map((statement) => ({
      policy,
      roles,
      statement,
      metadata: resource.Metadata,
    }));
  });
}

const list = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

describe('Class: HindsightStack', () => {
  describe('functions', () => {
    it('has one Node.js 24 ARM64 function per stage, told its stage by HINDSIGHT_STAGE', () => {
      for (const stage of pipeline.names) {
        owned.template.hasResourceProperties('AWS::Lambda::Function', {
          Runtime: 'nodejs24.x',
          Architectures: ['arm64'],
          TracingConfig: { Mode: 'Active' },
          Environment: { Variables: Match.objectLike({ HINDSIGHT_STAGE: stage }) },
        });
      }
      const stageFunctions = resourcesOfType(owned.json, 'AWS::Lambda::Function').filter(
        ([, fn]) => (fn.Metadata as Record<string, unknown> | undefined)?.['hindsight:handler'] === 'stage',
      );
      expect(stageFunctions).toHaveLength(pipeline.names.length);
    });

    it('has the control functions, and gives every function the database and lease table settings', () => {
      // Hindsight's own functions; CDK adds one more, the provider that runs the after-deploy Trigger.
      const functions = resourcesOfType(owned.json, 'AWS::Lambda::Function').filter(
        ([, fn]) => (fn.Metadata as Record<string, unknown> | undefined)?.['hindsight:handler'] !== undefined,
      );
      expect(
        functions.map(([, fn]) => (fn.Metadata as Record<string, unknown>)['hindsight:handler']).sort(),
      ).toEqual(
        [
          ...pipeline.names.map(() => 'stage'),
          'after-deploy',
          'check-earlier-dates',
          'lease',
          'plan',
          'prepare-date',
          'resolve-date',
          'verify',
        ].sort(),
      );
      for (const [, fn] of functions) {
        expect(fn.Properties).toMatchObject({
          Runtime: 'nodejs24.x',
          Timeout: expect.any(Number),
          LoggingConfig: { LogGroup: expect.anything(), LogFormat: 'JSON' },
          Environment: {
            Variables: {
              DB_CLUSTER_ARN: expect.anything(),
              DB_SECRET_ARN: expect.anything(),
              DB_NAME: 'hindsight',
              LEASE_TABLE_NAME: { Ref: expect.stringMatching(/^LeaseTable/) },
            },
          },
        });
      }
      owned.template.hasResourceProperties('AWS::Lambda::Function', {
        Environment: { Variables: Match.objectLike({ HINDSIGHT_MAX_BACKFILL_DAYS: '3660' }) },
      });
    });

    it('keeps every function log and execution log for a set time', () => {
      owned.template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: Match.anyValue() });
    });
  });

  describe('daily schedule', () => {
    it('starts the daily machine on the cron from context with the event time as scheduledTime', () => {
      owned.template.hasResourceProperties('AWS::Events::Rule', {
        ScheduleExpression: 'cron(0 2 * * ? *)',
        State: 'ENABLED',
        Targets: [
          Match.objectLike({
            Arn: { Ref: Match.stringLikeRegexp('^DailyStateMachine') },
            InputTransformer: {
              InputPathsMap: { time: '$.time' },
              InputTemplate: '{"scheduledTime":<time>}',
            },
          }),
        ],
      });
    });

    it('follows hindsight:dailySchedule', () => {
      const other = synthesize({ context: { 'hindsight:dailySchedule': 'cron(30 5 * * ? *)' } });
      other.template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'cron(30 5 * * ? *)' });
    });
  });

  describe('lease table', () => {
    it('is keyed by pk, on demand, with point-in-time recovery and encryption, and retained', () => {
      owned.template.hasResource('AWS::DynamoDB::Table', {
        Properties: Match.objectLike({
          KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
          AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
          BillingMode: 'PAY_PER_REQUEST',
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          SSESpecification: { SSEEnabled: true },
        }),
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
      });
    });
  });

  describe('release on abort', () => {
    it('sends ABORTED, TIMED_OUT and FAILED executions of both machines to the lease function', () => {
      owned.template.hasResourceProperties('AWS::Events::Rule', {
        EventPattern: {
          source: ['aws.states'],
          'detail-type': ['Step Functions Execution Status Change'],
          detail: {
            status: ['ABORTED', 'TIMED_OUT', 'FAILED'],
            stateMachineArn: [
              { Ref: Match.stringLikeRegexp('^DailyStateMachine') },
              { Ref: Match.stringLikeRegexp('^BackfillStateMachine') },
            ],
          },
        },
        Targets: [
          Match.objectLike({
            Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^FunctionsLeaseFunction'), 'Arn'] },
          }),
        ],
      });
    });
  });

  describe('state machines', () => {
    it('are Standard, log ALL events with execution data and trace with X-Ray', () => {
      // Daily, backfill and verify.
      owned.template.resourceCountIs('AWS::StepFunctions::StateMachine', 3);
      owned.template.allResourcesProperties('AWS::StepFunctions::StateMachine', {
        StateMachineType: 'STANDARD',
        LoggingConfiguration: Match.objectLike({ Level: 'ALL', IncludeExecutionData: true }),
        TracingConfiguration: { Enabled: true },
      });
    });
  });

  describe('IAM', () => {
    it('grants no wildcard action, and Resource "*" only for actions AWS grants on nothing else, each acknowledged with a reason', () => {
      for (const { policy, statement, metadata } of statementsOf(owned.json)) {
        const actions = list(statement.Action);
        expect(actions.filter((action) => action.includes('*'))).toEqual([]);
        if (!list(statement.Resource).includes('*')) continue;
        expect([policy, actions.filter((action) => !ACTIONS_AWS_GRANTS_ONLY_ON_STAR.has(action))]).toEqual([
          policy,
          [],
        ]);
        expect(metadata).toMatchObject({
          cdk_nag: {
            rules_to_suppress: expect.arrayContaining([
              {
                id: 'AwsSolutions-IAM5[Resource::*]',
                reason: expect.stringMatching(/support.* resource-level/),
              },
            ]),
          },
        });
      }
    });

    it("lets the functions that acquire the lease describe the two machines' executions, and no other", () => {
      // Prepare
      const roleOf = (handler: string) =>
        resourcesOfType(owned.json, 'AWS::Lambda::Function')
          .filter(([, fn]) => (fn.Metadata as Record<string, unknown>)['hindsight:handler'] === handler)
          .map(
            ([, fn]) => (fn.Properties as { Role: { 'Fn::GetAtt': [string, string] } }).Role['Fn::GetAtt'][0],
          );

      // Act
      const liveness = statementsOf(owned.json).filter(
        ({ statement, roles }) =>
          list(statement.Action).includes('states:DescribeExecution') &&
          roles.some((role) => role.startsWith('Functions')),
      );

      // Assess
      expect(liveness).toHaveLength(1);
      expect(liveness[0]?.roles.sort()).toEqual([...roleOf('lease'), ...roleOf('prepare-date')].sort());
      const resources = list(liveness[0]?.statement.Resource).map((arn) => JSON.stringify(arn));
      expect(resources).toEqual([
        expect.stringMatching(/:execution:",\{"Fn::GetAtt":\["DailyStateMachine\w+","Name"\]\},":\*"/),
        expect.stringMatching(/:execution:",\{"Fn::GetAtt":\["BackfillStateMachine\w+","Name"\]\},":\*"/),
      ]);
    });

    it('gives the check of earlier dates the Data API, its secret and the lease item only: it renews the lease, then reads the ledger', () => {
      // Prepare
      const [role] = resourcesOfType(owned.json, 'AWS::Lambda::Function')
        .filter(
          ([, fn]) => (fn.Metadata as Record<string, unknown>)['hindsight:handler'] === 'check-earlier-dates',
        )
        .map(
          ([, fn]) => (fn.Properties as { Role: { 'Fn::GetAtt': [string, string] } }).Role['Fn::GetAtt'][0],
        );

      // Act
      const actions = statementsOf(owned.json)
        .filter(({ roles }) => roles.includes(role ?? ''))
        .flatMap(({ statement }) => list(statement.Action));

      // Assess
      expect(role).toBeDefined();
      expect(actions).toEqual(
        expect.arrayContaining(['rds-data:ExecuteStatement', 'secretsmanager:GetSecretValue']),
      );
      expect(new Set(actions.map((action) => action.split(':')[0]))).toEqual(
        new Set(['rds-data', 'secretsmanager', 'dynamodb', 'logs', 'xray']),
      );
      expect(actions.filter((action) => action.startsWith('dynamodb:')).sort()).toEqual([
        'dynamodb:GetItem',
        'dynamodb:PutItem',
      ]);
    });

    it('deploys: no dependency cycle between resources', () => {
      expect(findCycle(owned.json)).toBeUndefined();
      expect(findCycle(imported.json)).toBeUndefined();
    });
  });

  describe('database', () => {
    it('creates an encrypted, protected Aurora Serverless v2 PostgreSQL cluster that scales to zero, with the Data API', () => {
      owned.template.hasResource('AWS::RDS::DBCluster', {
        Properties: Match.objectLike({
          Engine: 'aurora-postgresql',
          EngineVersion: Match.stringLikeRegexp('^17\\.'),
          EnableHttpEndpoint: true,
          StorageEncrypted: true,
          DeletionProtection: true,
          ServerlessV2ScalingConfiguration: { MinCapacity: 0, MaxCapacity: 4 },
          MasterUserPassword: Match.anyValue(),
        }),
        DeletionPolicy: 'Snapshot',
        UpdateReplacePolicy: 'Snapshot',
      });
      owned.template.hasResourceProperties('AWS::RDS::DBInstance', { DBInstanceClass: 'db.serverless' });
      owned.template.resourceCountIs('AWS::EC2::NatGateway', 0);
      owned.template.resourceCountIs('AWS::EC2::InternetGateway', 0);
    });

    it('lets every function that runs SQL use the Data API and read the secret, and no other', () => {
      // The lease function too: acquiring moves the fencing token in PostgreSQL. After-deploy migrates.
      // The daily run's check reads the ledger; Resolve Date records the date as due.
      const sqlHandlers = new Set([
        'resolve-date',
        'stage',
        'plan',
        'prepare-date',
        'lease',
        'after-deploy',
        'check-earlier-dates',
        'verify',
      ]);
      for (const [id, fn] of resourcesOfType(owned.json, 'AWS::Lambda::Function')) {
        const handler = String((fn.Metadata as Record<string, unknown> | undefined)?.['hindsight:handler']);
        const role = (fn.Properties as { Role: { 'Fn::GetAtt': [string, string] } }).Role['Fn::GetAtt'][0];
        const actions = statementsOf(owned.json)
          .filter(({ roles }) => roles.includes(role))
          .flatMap(({ statement }) => list(statement.Action));
        expect([id, actions.includes('rds-data:ExecuteStatement')]).toEqual([id, sqlHandlers.has(handler)]);
        expect([id, actions.includes('secretsmanager:GetSecretValue')]).toEqual([
          id,
          sqlHandlers.has(handler),
        ]);
      }
    });

    it('imports the cluster named in context instead: no cluster, no VPC, grants scoped to it', () => {
      imported.template.resourceCountIs('AWS::RDS::DBCluster', 0);
      imported.template.resourceCountIs('AWS::EC2::VPC', 0);
      imported.template.resourceCountIs('AWS::SecretsManager::Secret', 0);
      imported.template.hasResourceProperties('AWS::IAM::Policy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Action: Match.arrayWith(['rds-data:BeginTransaction', 'rds-data:ExecuteStatement']),
              Resource: IMPORTED_CLUSTER_CONTEXT['hindsight:clusterArn'],
            }),
            Match.objectLike({
              Action: Match.arrayWith(['secretsmanager:GetSecretValue']),
              Resource: IMPORTED_CLUSTER_CONTEXT['hindsight:secretArn'],
            }),
          ]),
        },
      });
      imported.template.hasOutput(OUTPUTS.databaseName, { Value: 'orders' });
      imported.template.hasOutput(OUTPUTS.clusterArn, {
        Value: IMPORTED_CLUSTER_CONTEXT['hindsight:clusterArn'],
      });
    });
  });

  describe('logical ids', () => {
    it('keeps the ids resources had before they moved into the HindsightPipeline construct, whose id "Default" CDK leaves out', () => {
      // Prepare
      const ids = Object.keys(owned.json.Resources ?? {});

      // Assess
      expect(owned.stack.pipeline.node.path).toBe('Hindsight/Default');
      expect(ids).toEqual(expect.arrayContaining(PRE_CONSTRUCT_LOGICAL_IDS));
      expect(ids.filter((id) => id.startsWith('Default'))).toEqual([]);
      expect(Object.keys(owned.template.findOutputs('*')).sort()).toEqual(PRE_CONSTRUCT_OUTPUTS);
    });

    it('gives the stateful resources and the state machines the ids they always had', () => {
      const { pipeline } = owned.stack;
      expect({
        cluster: logicalIdOf(pipeline.database.cluster!),
        leaseTable: logicalIdOf(pipeline.leaseTable.table),
        daily: logicalIdOf(pipeline.daily.stateMachine),
        backfill: logicalIdOf(pipeline.backfill.stateMachine),
        collect: logicalIdOf(pipeline.functions.stages.get('collect')!),
      }).toEqual({
        cluster: 'DatabaseCluster5B53A178',
        leaseTable: 'LeaseTableF838DEF9',
        daily: 'DailyStateMachine50E41313',
        backfill: 'BackfillStateMachine395F6B27',
        collect: 'FunctionsCollectStageFunction0316CBCC',
      });
      owned.template.hasOutput('DailyStateMachineArn', { Value: { Ref: 'DailyStateMachine50E41313' } });
      owned.template.hasOutput('BackfillStateMachineArn', { Value: { Ref: 'BackfillStateMachine395F6B27' } });
      owned.template.hasOutput('LeaseTableName', { Value: { Ref: 'LeaseTableF838DEF9' } });
    });
  });

  describe('outputs', () => {
    it('exports what the CLI --aws mode reads', () => {
      for (const key of Object.values(OUTPUTS)) owned.template.hasOutput(key, { Value: Match.anyValue() });
    });
  });
});

/** A dependency cycle among resources (Ref, Fn::GetAtt, DependsOn), as a list of logical ids. */
function findCycle(json: CfnTemplate): string[] | undefined {
  const resources = json.Resources ?? {};
  const edges = new Map<string, Set<string>>();
  for (const [id, resource] of Object.entries(resources)) {
    const targets = new Set<string>();
    collectReferences(resource.Properties, targets);
    for (const dependency of list((resource as { DependsOn?: string | string[] }).DependsOn ?? []))
      targets.add(dependency);
    edges.set(id, new Set([...targets].filter((target) => target in resources)));
  }
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (id: string, path: string[]): string[] | undefined => {
    if (state.get(id) === 'done') return undefined;
    if (state.get(id) === 'visiting') return [...path.slice(path.indexOf(id)), id];
    state.set(id, 'visiting');
    for (const next of edges.get(id) ?? []) {
      const cycle = visit(next, [...path, id]);
      if (cycle) return cycle;
    }
    state.set(id, 'done');
    return undefined;
  };
  for (const id of edges.keys()) {
    const cycle = visit(id, []);
    if (cycle) return cycle;
  }
  return undefined;
}

function collectReferences(value: unknown, into: Set<string>): void {
  if (Array.isArray(value)) {
    for (const item of value) collectReferences(item, into);
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      if (key === 'Ref' && typeof item === 'string') into.add(item);
      else if (key === 'Fn::GetAtt' && Array.isArray(item) && typeof item[0] === 'string') into.add(item[0]);
      else collectReferences(item, into);
    }
  }
}
