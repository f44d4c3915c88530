import type { Duration } from 'aws-cdk-lib';
import type { Node } from 'constructs';
import { echo, InvalidInputError } from '../lambdas/engine/errors';
import type { PipelineParams } from '../lambdas/engine/stage';
import { findProject, type Project } from './project';
import { DEFAULT_STACK_NAME, STACK_NAME, STACK_NAME_FORM } from './stack-outputs';

/** The `cdk.json` context keys Hindsight reads (all under the `hindsight:` prefix). */
export const CONTEXT_KEYS = {
  dailySchedule: 'hindsight:dailySchedule',
  autoBackfill: 'hindsight:autoBackfill',
  maxBackfillDays: 'hindsight:maxBackfillDays',
  leaseWaitMinutes: 'hindsight:leaseWaitMinutes',
  dailyBlockedAlarmMinutes: 'hindsight:dailyBlockedAlarmMinutes',
  alarmTopicArn: 'hindsight:alarmTopicArn',
  clusterArn: 'hindsight:clusterArn',
  secretArn: 'hindsight:secretArn',
  databaseName: 'hindsight:databaseName',
  pipelineSecretArn: 'hindsight:pipelineSecretArn',
  stackName: 'hindsight:stackName',
  params: 'hindsight:params',
  verify: 'hindsight:verify',
  verifySchedule: 'hindsight:verifySchedule',
  verifySample: 'hindsight:verifySample',
} as const;

/** Dates a scheduled verification draws when `hindsight:verifySample` is not set. */
export const DEFAULT_VERIFY_SAMPLE = 30;

/** The Verify workflow, when deployed (`hindsight:verify`, or a `hindsight:verifySchedule`). */
export interface VerifyConfig {
  /** EventBridge schedule expression that starts it with `{"sample": sample}`; none when unset. */
  readonly schedule?: string;
  /** Dates each scheduled run draws. */
  readonly sample: number;
}

/** An Aurora cluster that already exists, reached through its Data API. */
export interface ImportedDatabaseConfig {
  /** `arn:<partition>:rds:<region>:<account>:cluster:<id>` with the Data API enabled. */
  readonly clusterArn: string;
  /** Complete ARN of the Secrets Manager secret holding the cluster's credentials (ends in `-XXXXXX`). */
  readonly secretArn: string;
  /** The PostgreSQL database the ledger and the stage tables live in. */
  readonly databaseName: string;
  /**
   * Complete ARN of a secret of `{"username", "password"}` for the pipeline's own role, which the
   * after-deploy function creates (or updates) and grants row access after each migration; every
   * function's SQL then runs as that role, and only the after-deploy function reads `secretArn`.
   * @default - every function uses `secretArn` (synth warns `hindsight:SharedDatabaseSecret`)
   */
  readonly pipelineSecretArn?: string;
}

/** Deployment settings, read once from context and validated together. */
export interface HindsightConfig {
  /** The CloudFormation stack `cdk deploy` creates, and the one the CLI's `--aws` mode reads by default. */
  readonly stackName: string;
  /** EventBridge schedule expression of the daily run, e.g. `cron(0 2 * * ? *)`. */
  readonly dailySchedule: string;
  /** Whether a deploy starts an automatic backfill (read by the after-deploy step). */
  readonly autoBackfill: boolean;
  /** Longest date range a backfill accepts. */
  readonly maxBackfillDays: number;
  /** How long an acquire keeps retrying while another execution holds the lease. */
  readonly leaseWait: Duration;
  /** How long a daily run may keep finding the lease busy before the blocked alarm fires (keep it under `leaseWait`). */
  readonly dailyBlockedAlarm: Duration;
  /** SNS topic every alarm notifies; none when unset. */
  readonly alarmTopicArn?: string;
  /** Set when the three `hindsight:clusterArn|secretArn|databaseName` keys name an existing cluster. */
  readonly importedDatabase?: ImportedDatabaseConfig;
  /** The pipeline's own parameters, given to every stage as `params` (`hindsight:params`). */
  readonly params: PipelineParams;
  /** Set when the Verify workflow is deployed. */
  readonly verify?: VerifyConfig;
}

/** The default durations, in minutes (`hindsight:leaseWaitMinutes`, `hindsight:dailyBlockedAlarmMinutes`). */
const DEFAULT_MINUTES = { leaseWait: 120, dailyBlockedAlarm: 60 } as const;

/** The values `cdk.json` ships with; a key missing from context falls back to these. */
export const DEFAULT_CONFIG: HindsightConfig = withDurations(
  {
    stackName: DEFAULT_STACK_NAME,
    dailySchedule: 'cron(0 2 * * ? *)',
    autoBackfill: true,
    maxBackfillDays: 3660,
    params: {},
  },
  DEFAULT_MINUTES.leaseWait,
  DEFAULT_MINUTES.dailyBlockedAlarm,
);

const SCHEDULE = /^(cron|rate)\(.+\)$/;
const CLUSTER_ARN = /^arn:aws[a-z-]*:rds:[a-z0-9-]+:\d{12}:cluster:[a-z][a-z0-9-]{0,62}$/;
const SECRET_ARN =
  /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}$/;
const DATABASE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
/** Standard topics only: CloudWatch alarm actions cannot publish to a FIFO topic. */
const TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/;

/**
 * Reads and validates the `hindsight:*` context of `node` (values given with `cdk -c key=value`
 * arrive as strings and are accepted). Collects every problem and throws once.
 */
export function readConfig(node: Pick<Node, 'tryGetContext'>): HindsightConfig {
  const problems: string[] = [];
  const read = <T>(
    key: string,
    fallback: unknown,
    parse: (value: unknown) => T | undefined,
    accepted: string,
  ) => {
    const value: unknown = node.tryGetContext(key) ?? fallback;
    const parsed = parse(value);
    if (parsed === undefined) problems.push(problem(key, value, accepted));
    return parsed;
  };

  const stackName = read(
    CONTEXT_KEYS.stackName,
    DEFAULT_CONFIG.stackName,
    matching(STACK_NAME),
    STACK_NAME_FORM,
  );
  const dailySchedule = read(
    CONTEXT_KEYS.dailySchedule,
    DEFAULT_CONFIG.dailySchedule,
    matching(SCHEDULE),
    'an EventBridge expression such as cron(0 2 * * ? *)',
  );
  const autoBackfill = read(
    CONTEXT_KEYS.autoBackfill,
    DEFAULT_CONFIG.autoBackfill,
    toBoolean,
    'true or false',
  );
  const maxBackfillDays = read(
    CONTEXT_KEYS.maxBackfillDays,
    DEFAULT_CONFIG.maxBackfillDays,
    wholeNumberIn(1, 36_600),
    'a whole number of days from 1 to 36600',
  );
  const leaseWaitMinutes = read(
    CONTEXT_KEYS.leaseWaitMinutes,
    DEFAULT_MINUTES.leaseWait,
    wholeNumberIn(1, 7 * 24 * 60),
    'a whole number of minutes from 1 to 10080',
  );
  // Alarm periods are 5 minutes, and CloudWatch evaluates at most one day of periods under an hour.
  const dailyBlockedAlarmMinutes = read(
    CONTEXT_KEYS.dailyBlockedAlarmMinutes,
    DEFAULT_MINUTES.dailyBlockedAlarm,
    wholeNumberIn(5, 24 * 60),
    'a whole number of minutes from 5 to 1440',
  );
  const alarmTopicArn =
    node.tryGetContext(CONTEXT_KEYS.alarmTopicArn) === undefined
      ? undefined
      : read(
          CONTEXT_KEYS.alarmTopicArn,
          undefined,
          matching(TOPIC_ARN),
          'a standard SNS topic ARN, arn:aws:sns:<region>:<account>:<name>',
        );

  const params = read(
    CONTEXT_KEYS.params,
    DEFAULT_CONFIG.params,
    toParams,
    'an object of parameter names (lower camel or snake case) to string values, e.g. {"rowsPerDay": "1000"}',
  );

  const verifyOn = read(CONTEXT_KEYS.verify, true, toBoolean, 'true or false');
  const verifySchedule = read(
    CONTEXT_KEYS.verifySchedule,
    false,
    (value) => (value === false || value === 'false' ? false : matching(SCHEDULE)(value)),
    'an EventBridge expression such as cron(0 4 ? * MON *), or false for no schedule',
  );
  const verifySample = read(
    CONTEXT_KEYS.verifySample,
    DEFAULT_VERIFY_SAMPLE,
    wholeNumberIn(1, 366),
    'a whole number of dates from 1 to 366',
  );
  // A schedule implies the workflow it starts.
  const verify: VerifyConfig | undefined =
    verifyOn || (verifySchedule !== undefined && verifySchedule !== false)
      ? {
          ...(verifySchedule ? { schedule: verifySchedule } : {}),
          sample: verifySample ?? DEFAULT_VERIFY_SAMPLE,
        }
      : undefined;

  const importKeys = [CONTEXT_KEYS.clusterArn, CONTEXT_KEYS.secretArn, CONTEXT_KEYS.databaseName];
  const missing = importKeys.filter((key) => node.tryGetContext(key) === undefined);
  let importedDatabase: ImportedDatabaseConfig | undefined;
  if (missing.length > 0 && missing.length < importKeys.length) {
    problems.push(`To import a cluster, set all of ${importKeys.join(', ')}; missing ${missing.join(', ')}.`);
  } else if (missing.length === 0) {
    const clusterArn = read(
      CONTEXT_KEYS.clusterArn,
      undefined,
      matching(CLUSTER_ARN),
      'an Aurora cluster ARN, arn:aws:rds:<region>:<account>:cluster:<id>',
    );
    const secretArn = read(
      CONTEXT_KEYS.secretArn,
      undefined,
      matching(SECRET_ARN),
      'a complete secret ARN, arn:aws:secretsmanager:<region>:<account>:secret:<name>-XXXXXX',
    );
    const databaseName = read(
      CONTEXT_KEYS.databaseName,
      undefined,
      matching(DATABASE_NAME),
      'a PostgreSQL database name in lower snake case',
    );
    const pipelineSecretArn =
      node.tryGetContext(CONTEXT_KEYS.pipelineSecretArn) === undefined
        ? undefined
        : read(
            CONTEXT_KEYS.pipelineSecretArn,
            undefined,
            matching(SECRET_ARN),
            'a complete secret ARN, arn:aws:secretsmanager:<region>:<account>:secret:<name>-XXXXXX',
          );
    if (pipelineSecretArn !== undefined && pipelineSecretArn === secretArn) {
      problems.push(
        `Invalid ${CONTEXT_KEYS.pipelineSecretArn}: got the secret of ${CONTEXT_KEYS.secretArn}; expected the ` +
          "secret of the pipeline's own role, not the master user's.",
      );
    } else if (clusterArn && secretArn && databaseName) {
      importedDatabase = {
        clusterArn,
        secretArn,
        databaseName,
        ...(pipelineSecretArn ? { pipelineSecretArn } : {}),
      };
    }
  }
  if (
    missing.length === importKeys.length &&
    node.tryGetContext(CONTEXT_KEYS.pipelineSecretArn) !== undefined
  ) {
    problems.push(
      `${CONTEXT_KEYS.pipelineSecretArn} names the pipeline role of an existing cluster: set it with ` +
        `${importKeys.join(', ')}, or remove it (an owned cluster generates the pipeline role's secret).`,
    );
  }

  if (
    problems.length > 0 ||
    stackName === undefined ||
    dailySchedule === undefined ||
    autoBackfill === undefined ||
    maxBackfillDays === undefined ||
    leaseWaitMinutes === undefined ||
    dailyBlockedAlarmMinutes === undefined ||
    params === undefined
  ) {
    throw new Error(`Invalid Hindsight context in cdk.json:\n${problems.join('\n')}`);
  }
  return withDurations(
    {
      stackName,
      dailySchedule,
      autoBackfill,
      maxBackfillDays,
      params,
      ...(alarmTopicArn ? { alarmTopicArn } : {}),
      ...(importedDatabase ? { importedDatabase } : {}),
      ...(verify ? { verify } : {}),
    },
    leaseWaitMinutes,
    dailyBlockedAlarmMinutes,
  );
}

/**
 * `settings` with the two Durations, made when first read: the CLI reads this configuration too
 * (stack name, parameters, longest backfill) and must not load aws-cdk-lib for it (`hindsight
 * --help` would take a good part of a second longer). Enumerable getters: a spread copy reads them.
 */
function withDurations(
  settings: Omit<HindsightConfig, 'leaseWait' | 'dailyBlockedAlarm'>,
  leaseWaitMinutes: number,
  dailyBlockedAlarmMinutes: number,
): HindsightConfig {
  const minutes = (value: number): Duration =>
    (require('aws-cdk-lib') as typeof import('aws-cdk-lib')).Duration.minutes(value);
  return Object.defineProperties(settings, {
    leaseWait: { get: () => minutes(leaseWaitMinutes), enumerable: true },
    dailyBlockedAlarm: { get: () => minutes(dailyBlockedAlarmMinutes), enumerable: true },
  }) as HindsightConfig;
}

function problem(key: string, value: unknown, accepted: string): string {
  // As every refusal: the value echoed, cut to a readable length.
  return `Invalid ${key}: got ${echo(value)}; expected ${accepted}.`;
}

function matching(pattern: RegExp): (value: unknown) => string | undefined {
  return (value) => (typeof value === 'string' && pattern.test(value) ? value : undefined);
}

function toBoolean(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (value === 'true' || value === 'false') return value === 'true';
  return undefined;
}

function wholeNumberIn(min: number, max: number): (value: unknown) => number | undefined {
  return (value) => {
    const number = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
    return typeof number === 'number' && Number.isInteger(number) && number >= min && number <= max
      ? number
      : undefined;
  };
}

/** A parameter's name: what `--param NAME=VALUE` and `hindsight:params` accept. */
export const PARAM_NAME = /^[A-Za-z][A-Za-z0-9_]{0,39}$/;
const PARAM_VALUE_LENGTH = 256;

function toParams(value: unknown): PipelineParams | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const entries = Object.entries(value);
  const valid = entries.every(
    ([name, text]) => PARAM_NAME.test(name) && typeof text === 'string' && text.length <= PARAM_VALUE_LENGTH,
  );
  return valid ? Object.freeze(Object.fromEntries(entries)) : undefined;
}

/** `--param name=value`: a parameter for the pipeline's stages, checked like `hindsight:params`. */
export function parseParamOption(option: string): [string, string] {
  const at = option.indexOf('=');
  const name = at < 0 ? option : option.slice(0, at);
  const value = at < 0 ? undefined : option.slice(at + 1);
  if (!PARAM_NAME.test(name) || value === undefined || value.length > PARAM_VALUE_LENGTH) {
    throw new InvalidInputError([
      {
        field: '--param',
        value: option,
        accepted: `NAME=VALUE, NAME a letter then letters, digits or _ (at most 40), VALUE at most ${PARAM_VALUE_LENGTH} characters`,
      },
    ]);
  }
  return [name, value];
}

/**
 * The `hindsight:*` settings of the project's `cdk.json`, for the local runtime and the CLI, so a
 * laptop and a deployment refuse the same backfill ranges.
 */
export function readProjectConfig(project: Project = findProject()): HindsightConfig {
  return readConfig({ tryGetContext: (key: string) => project.context[key] });
}
