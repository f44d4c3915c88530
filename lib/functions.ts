import * as path from 'node:path';
import { CfnResource, Duration } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, LoggingFormat, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { type BundlingOptions, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { Pipeline } from '../lambdas/engine/pipeline';
import type { PipelineParams } from '../lambdas/engine/stage';
import { frameworkMigrationsDirectory } from '../lambdas/ledger/migrator';
import type { HandlerName } from '../lambdas/workflow/handlers';
import type { HindsightDatabase } from './database';
import type { LeaseTable } from './lease-table';
import { acknowledgeWildcard } from './nag';
import { LOCK_FILES, lockFileIn } from './project';

export { HANDLER_NAMES, type HandlerName } from '../lambdas/workflow/handlers';

/** CloudFormation metadata key on every function: which handler file it runs. */
export const HANDLER_METADATA_KEY = 'hindsight:handler';
/** CloudFormation metadata key on stage functions: which stage they run (also `HINDSIGHT_STAGE`). */
export const STAGE_METADATA_KEY = 'hindsight:stage';

/**
 * Where the handlers are bundled from, whichever project uses Hindsight: the repository's
 * sources when this file runs from TypeScript (tsx, jest); when it runs compiled (the package),
 * `dist/esm/`, the handlers and the engine as ES modules (tools/build.mjs), which esbuild
 * tree-shakes where it would keep all of the CommonJS build. The handlers and the engine are taken
 * from the same place.
 */
const RUNS_COMPILED = path.extname(__filename) === '.js';
const FRAMEWORK_ROOT = RUNS_COMPILED ? path.join(__dirname, '..', 'esm') : path.join(__dirname, '..');
const FRAMEWORK_EXTENSION = RUNS_COMPILED ? '.js' : '.ts';

/** The entry file the function of handler `name` is bundled from. */
export function handlerEntry(name: HandlerName): string {
  return path.join(FRAMEWORK_ROOT, 'lambdas', 'handlers', `${name}${FRAMEWORK_EXTENSION}`);
}

/**
 * The name under which a team's stages import the engine (`import { defineStage } from
 * 'hindsight'`). The bundling aliases it to the engine the handlers themselves import, so a bundle
 * holds one copy of it: without the alias, esbuild would follow the package's "exports" to
 * `dist/` and bundle a second engine beside the handlers' (twice the code, and two of each class).
 */
export const ENGINE_MODULE = 'hindsight';

/**
 * The import name under which the handlers reach the deployed pipeline (see
 * `lambdas/handlers/aws-dependencies.ts`); the bundling aliases it to the configured module.
 */
export const CONFIGURED_PIPELINE_MODULE = 'hindsight-configured-pipeline';

/** The esbuild aliases of every bundle: the configured pipeline, and `hindsight` to the handlers' engine. */
export function bundleAliases(pipelineEntry: string): Record<string, string> {
  return {
    [CONFIGURED_PIPELINE_MODULE]: path.resolve(pipelineEntry),
    [ENGINE_MODULE]: path.join(FRAMEWORK_ROOT, 'lambdas', 'engine', `index${FRAMEWORK_EXTENSION}`),
  };
}

/**
 * The default credential chain's links for profiles, SSO, credential processes and web-identity
 * token files. A Lambda function gets its credentials from environment variables, the chain's
 * first link, so it never reaches these (the SDK imports each only when the chain gets to it);
 * left out of the bundles they take about 100 KiB less each (a second SSO client, the CBOR
 * protocol). Were one ever reached (an `AWS_PROFILE` set on a function), the copy of the AWS SDK
 * that the Node.js runtime ships on its NODE_PATH would serve it.
 */
export const UNREACHED_CREDENTIAL_PROVIDERS = [
  '@aws-sdk/credential-provider-ini',
  '@aws-sdk/credential-provider-process',
  '@aws-sdk/credential-provider-sso',
  '@aws-sdk/credential-provider-web-identity',
];

/**
 * esbuild settings shared by every function. `keepNames` matters: the engine's errors name
 * themselves after their class (`LeaseHeldError`), the Lambda runtime reports that name as the
 * error type, and the state machines' Retry and Catch match on it, so minification must not
 * rename classes.
 *
 * The AWS SDK v3 is bundled rather than taken from the runtime, so the deployed clients are the
 * versions the tests ran against (the RDS Data API's timeouts and retries matter here) and a
 * runtime update cannot change them; only the credential links a function never reaches are left
 * out (`UNREACHED_CREDENTIAL_PROVIDERS`). What keeps the SDK cheap: `mainFields` puts `module`
 * first, so esbuild takes the SDK's ES modules, which it can tree-shake (their CommonJS builds
 * carry every command of a client), and each handler imports only the clients it calls
 * (lambdas/handlers/aws-*.ts). For the same reason the engine's input schemas use `zod/mini`.
 * test/infra/pipeline-bundles.test.ts checks what each bundle holds;
 * the bench's "bundles" section measures size and load time.
 *
 * The source map is a file beside the bundle, without the sources' text: `--enable-source-maps`
 * (NODE_OPTIONS on every function) still maps stack traces to file and line, and Node reads a map
 * a third the size when the function starts.
 */
export const BUNDLING: BundlingOptions = {
  minify: true,
  keepNames: true,
  sourceMap: true,
  sourcesContent: false,
  mainFields: ['module', 'main'],
  target: 'node24',
  format: OutputFormat.CJS,
  externalModules: UNREACHED_CREDENTIAL_PROVIDERS,
  forceDockerBundling: false,
};

/** `NODE_OPTIONS` of every function: stack traces in the logs name the TypeScript file and line. */
export const FUNCTION_NODE_OPTIONS = '--enable-source-maps';

export interface HindsightFunctionsProps {
  /** The ordered stage list: one function per stage. */
  readonly pipeline: Pipeline;
  /** The module that exports `pipeline` and `transitions`: every bundle is built with its code. */
  readonly pipelineEntry: string;
  /** The pipeline's SQL migrations, bundled with the after-deploy function. */
  readonly migrationsDirectory: string;
  /** The directory whose `package-lock.json` and `node_modules` the bundling uses. */
  readonly projectRoot: string;
  /** The pipeline's parameters (`HINDSIGHT_PARAMS` of every function). */
  readonly params: PipelineParams;
  readonly database: HindsightDatabase;
  readonly leaseTable: LeaseTable;
  /**
   * Longest date range a backfill accepts (`HINDSIGHT_MAX_BACKFILL_DAYS` of the functions that plan, and
   * of Resolve Date, which refuses a daily date further back without `extendHistory`).
   */
  readonly maxBackfillDays: number;
  /**
   * How long function logs are kept.
   * @default RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: RetentionDays;
}

interface FunctionSpec {
  readonly handler: HandlerName;
  readonly description: string;
  readonly timeout: Duration;
  readonly memorySize?: number;
  readonly environment?: Record<string, string>;
  readonly stage?: string;
  /** Copies both migration sequences next to the bundle, where the handler reads them at runtime. */
  readonly withMigrations?: boolean;
}

/**
 * Every Lambda of Hindsight, with every default in one place: Node.js 24 on ARM64, a log group
 * with retention, X-Ray tracing, an explicit timeout, esbuild bundling, a role of its own and
 * only the grants its handler needs. Stages differ only in `HINDSIGHT_STAGE`.
 */
export class HindsightFunctions extends Construct {
  /** Stage functions by stage name, in pipeline order. */
  readonly stages: ReadonlyMap<string, NodejsFunction>;
  /** Resolves a daily run's date (`resolve-date`). */
  readonly resolveDate: NodejsFunction;
  /** Acquires, renews and releases the lease; also releases it when an execution is aborted (`lease`). */
  readonly lease: NodejsFunction;
  /** Refuses a daily run whose earlier dates a backfill would rewrite (`check-earlier-dates`). */
  readonly checkEarlierDates: NodejsFunction;
  /** Validates a backfill's input and plans it (`plan`). */
  readonly plan: NodejsFunction;
  /** Renews the lease, checks earlier dates and applies transitions before a date runs (`prepare-date`). */
  readonly prepareDate: NodejsFunction;

  private readonly logRetention: RetentionDays;
  private readonly commonEnvironment: Record<string, string>;
  private readonly bundling: BundlingOptions;
  private readonly migrationsDirectory: string;
  private readonly projectRoot: string;
  private readonly lockFile: string;
  private readonly maxBackfillDays: number;

  constructor(scope: Construct, id: string, props: HindsightFunctionsProps) {
    super(scope, id);
    this.logRetention = props.logRetention ?? RetentionDays.THREE_MONTHS;
    this.commonEnvironment = {
      DB_CLUSTER_ARN: props.database.clusterArn,
      DB_SECRET_ARN: props.database.secret.secretArn,
      DB_NAME: props.database.databaseName,
      LEASE_TABLE_NAME: props.leaseTable.tableName,
      NODE_OPTIONS: FUNCTION_NODE_OPTIONS,
      ...(Object.keys(props.params).length > 0 ? { HINDSIGHT_PARAMS: JSON.stringify(props.params) } : {}),
    };
    this.bundling = {
      ...BUNDLING,
      esbuildArgs: {
        '--alias': Object.entries(bundleAliases(props.pipelineEntry)).map(([from, to]) => `${from}=${to}`),
      },
    };
    this.migrationsDirectory = path.resolve(props.migrationsDirectory);
    this.projectRoot = path.resolve(props.projectRoot);
    const lockFile = lockFileIn(this.projectRoot);
    if (lockFile === undefined) {
      throw new Error(
        `Invalid projectRoot: got ${this.projectRoot}; expected the folder of the project's ` +
          `${LOCK_FILES.join(' or ')} (run npm install there).`,
      );
    }
    this.lockFile = lockFile;
    this.maxBackfillDays = props.maxBackfillDays;

    const stages = new Map<string, NodejsFunction>();
    for (const stage of props.pipeline.stages) {
      const fn = this.define(`${pascalCase(stage.name)}Stage`, {
        handler: 'stage',
        stage: stage.name,
        description: `Hindsight stage ${stage.name} v${stage.version}: ${stage.description}`,
        timeout: Duration.minutes(10),
        environment: { HINDSIGHT_STAGE: stage.name },
      });
      props.database.grantDataApiAccess(fn);
      // It renews the lease before it runs (GetItem, and PutItem when the extension is due).
      props.leaseTable.grantReadWrite(fn);
      stages.set(stage.name, fn);
    }
    this.stages = stages;

    this.resolveDate = this.define('ResolveDate', {
      handler: 'resolve-date',
      description: 'Hindsight: resolve the date of a daily run and record it as due',
      timeout: Duration.seconds(30),
      // It refuses a date more than this many days back unless the input says extendHistory.
      environment: { HINDSIGHT_MAX_BACKFILL_DAYS: String(props.maxBackfillDays) },
    });
    // It records the date as due: the Data API only.
    props.database.grantDataApiAccess(this.resolveDate);
    this.lease = this.define('Lease', {
      handler: 'lease',
      description: 'Hindsight: acquire, renew and release the lease; release it when an execution stops',
      timeout: Duration.minutes(1),
    });
    // Acquire moves the fencing token in PostgreSQL as well.
    props.database.grantDataApiAccess(this.lease);
    props.leaseTable.grantReadWrite(this.lease);
    this.checkEarlierDates = this.define('CheckEarlierDates', {
      handler: 'check-earlier-dates',
      description:
        "Hindsight: before a daily run's stages, check no earlier date it reads is planned to be rewritten",
      timeout: Duration.minutes(2),
    });
    // It renews the daily lease (the lease table), then reads the ledger (the Data API).
    props.database.grantDataApiAccess(this.checkEarlierDates);
    props.leaseTable.grantReadWrite(this.checkEarlierDates);
    this.plan = this.define('Plan', {
      handler: 'plan',
      description: 'Hindsight: validate a backfill input and plan it',
      timeout: Duration.minutes(5),
      memorySize: 1024,
      environment: { HINDSIGHT_MAX_BACKFILL_DAYS: String(props.maxBackfillDays) },
    });
    props.database.grantDataApiAccess(this.plan);
    this.prepareDate = this.define('PrepareDate', {
      handler: 'prepare-date',
      description: 'Hindsight: renew the lease, check earlier dates and apply transitions before a date',
      timeout: Duration.minutes(10),
    });
    props.database.grantDataApiAccess(this.prepareDate);
    props.leaseTable.grantReadWrite(this.prepareDate);
  }

  /**
   * The function that runs after each deployment (migrations, plan, automatic backfill), with the
   * same defaults as every other; its Trigger lives in `lib/after-deploy.ts`.
   */
  defineAfterDeploy(environment: Record<string, string>): NodejsFunction {
    return this.define('AfterDeploy', {
      handler: 'after-deploy',
      description: 'Hindsight: after a deploy, apply migrations, log the plan and start the backfill',
      timeout: Duration.minutes(5),
      memorySize: 1024,
      // It plans the automatic backfill: with the same longest range as the plan function.
      environment: { HINDSIGHT_MAX_BACKFILL_DAYS: String(this.maxBackfillDays), ...environment },
      withMigrations: true,
    });
  }

  /**
   * The Verify workflow's function (`verify`: choose the dates, recompute one date's cells in
   * rolled-back transactions, report), with the same defaults as every other; its state machine
   * lives in `lib/verify-workflow.ts`. Its timeout bounds one date: all its stages, recomputed.
   */
  defineVerify(): NodejsFunction {
    return this.define('Verify', {
      handler: 'verify',
      description:
        'Hindsight: recompute fresh cells in rolled-back transactions and compare with what is stored',
      timeout: Duration.minutes(15),
      memorySize: 1024,
      environment: { HINDSIGHT_MAX_BACKFILL_DAYS: String(this.maxBackfillDays) },
    });
  }

  /** The function of `stage`; throws naming the known stages when there is none. */
  stage(name: string): NodejsFunction {
    const fn = this.stages.get(name);
    if (!fn)
      throw new Error(
        `No function for stage "${name}"; the stages are ${[...this.stages.keys()].join(', ')}.`,
      );
    return fn;
  }

  /** Every function: the stages in pipeline order, then the control functions. */
  get all(): readonly NodejsFunction[] {
    return [
      ...this.stages.values(),
      this.resolveDate,
      this.lease,
      this.checkEarlierDates,
      this.plan,
      this.prepareDate,
    ];
  }

  private define(id: string, spec: FunctionSpec): NodejsFunction {
    const scope = new Construct(this, id);
    const logGroup = new LogGroup(scope, 'Logs', { retention: this.logRetention });
    const role = new Role(scope, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Runs the Hindsight ${spec.handler} handler${spec.stage ? ` for stage ${spec.stage}` : ''}`,
    });
    logGroup.grantWrite(role);
    const fn = new NodejsFunction(scope, 'Function', {
      entry: handlerEntry(spec.handler),
      handler: 'handler',
      depsLockFilePath: this.lockFile,
      projectRoot: this.projectRoot,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: spec.memorySize ?? 512,
      timeout: spec.timeout,
      description: spec.description.slice(0, 256),
      role,
      logGroup,
      loggingFormat: LoggingFormat.JSON,
      tracing: Tracing.ACTIVE,
      environment: { ...this.commonEnvironment, ...spec.environment },
      bundling: spec.withMigrations
        ? {
            ...this.bundling,
            commandHooks: {
              beforeBundling: () => [],
              beforeInstall: () => [],
              afterBundling: (_inputDir, outputDir) => [
                `mkdir -p "${outputDir}/migrations"`,
                `cp -r "${frameworkMigrationsDirectory()}" "${outputDir}/migrations/hindsight"`,
                `cp -r "${this.migrationsDirectory}" "${outputDir}/migrations/pipeline"`,
              ],
            },
          }
        : this.bundling,
    });
    const cfn = fn.node.defaultChild;
    if (cfn instanceof CfnResource) {
      cfn.addMetadata(HANDLER_METADATA_KEY, spec.handler);
      if (spec.stage) cfn.addMetadata(STAGE_METADATA_KEY, spec.stage);
    }
    acknowledgeWildcard(
      role,
      'Resource::*',
      'Only xray:PutTraceSegments and xray:PutTelemetryRecords (active tracing) use Resource *: ' +
        'X-Ray supports no resource-level permissions for them.',
    );
    return fn;
  }
}

/** `rolling` → `Rolling`, `clean_orders` → `CleanOrders`. */
export function pascalCase(name: string): string {
  return name
    .split('_')
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join('');
}
