/**
 * The Lambda bundles carry the configured pipeline, and only it: a stack synthesized WITH bundling
 * (esbuild, once per function) for the visits fixture holds the visits code in every function
 * and neither the orders example's nor the meters fixture's, and the after-deploy function holds
 * Hindsight's migrations and the visits pipeline's. This is what makes `pipeline/` replaceable.
 * Each bundle is also small: one copy of the engine (the stages' `hindsight` is the handlers'
 * engine), only the AWS clients its handler calls, nothing to resolve at run time but Node's
 * own modules and the credential providers a function never reaches.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { App, Aspects } from 'aws-cdk-lib';
import { AwsSolutionsChecks, WriteNagSuppressionsToCloudFormationAspect } from 'cdk-nag';
import {
  HANDLER_METADATA_KEY,
  STAGE_METADATA_KEY,
  UNREACHED_CREDENTIAL_PROVIDERS,
} from '../../lib/functions';
import { HindsightStack } from '../../lib/hindsight-stack';
import type { CfnTemplate } from '../../lib/workflow-definitions';
import { VISITS } from '../support/fixture-pipelines';
import { resourcesOfType } from './support';

const REPO = join(__dirname, '..', '..');

/** Text that only the visits fixture's code holds (its SQL and stage names). */
const VISITS_CODE = ['INSERT INTO visitor_window', 'INSERT INTO page_views', 'daily_visitors', 'page_views'];
/** Text of the orders example's stages, and of the meters fixture's: in no bundle of this stack. */
const OTHER_CODE = [
  'raw_orders',
  'clean_orders',
  'sales_report',
  'INSERT INTO clean_orders',
  'meter_readings',
  'valid_readings',
  'usage_report',
  'INSERT INTO meter_trend',
];

/** The AWS SDK clients each handler calls (its grants in lib/functions.ts): its bundle holds these and no other. */
const CLIENTS_OF: Record<string, readonly string[]> = {
  // The Data API, and the lease: DynamoDB, with Step Functions asked whether a holder still runs.
  stage: ['dynamodb', 'rds-data', 'sfn'],
  lease: ['dynamodb', 'rds-data', 'sfn'],
  'check-earlier-dates': ['dynamodb', 'rds-data', 'sfn'],
  'prepare-date': ['dynamodb', 'rds-data', 'sfn'],
  // The Data API alone.
  'resolve-date': ['rds-data'],
  plan: ['rds-data'],
  verify: ['rds-data'],
  // Migrations as the master user (its secret), and the backfill it starts.
  'after-deploy': ['rds-data', 'secrets-manager', 'sfn'],
};

/** Issue 16's budget for each bundle (index.js). */
const MAX_BUNDLE_KIB = 400;

/** `@aws-sdk/client-dynamodb` → `dynamodb`, for each client package a bundle was built from. */
function clientsIn(sources: readonly string[]): string[] {
  const clients = new Set<string>();
  for (const source of sources) {
    const client = /node_modules\/@aws-sdk\/client-([a-z0-9-]+)\//.exec(source)?.[1];
    if (client !== undefined) clients.add(client);
  }
  return [...clients].sort();
}

interface Bundle {
  /** The function's handler (`stage`, `plan`, …) and, for a stage, its stage. */
  readonly handler: string;
  readonly stage?: string;
  /** The asset folder of the cloud assembly holding the function's code. */
  readonly directory: string;
  readonly code: string;
  /** The files the bundle was built from, as its source map lists them, relative to the repository. */
  readonly sources: string[];
}

let outdir: string;
let app: App;
let stack: HindsightStack;
let bundles: Bundle[];

beforeAll(() => {
  outdir = mkdtempSync(join(tmpdir(), 'hindsight-bundles-'));
  // No `aws:cdk:bundling-stacks` context: every function is bundled, as `cdk deploy` does.
  app = new App({ outdir });
  stack = new HindsightStack(app, 'Visits', { source: VISITS, projectRoot: REPO });
  Aspects.of(app).add(new WriteNagSuppressionsToCloudFormationAspect());
  const template: CfnTemplate = app.synth().getStackByName(stack.stackName).template;
  bundles = resourcesOfType(template, 'AWS::Lambda::Function').flatMap(([, fn]) => {
    const metadata = (fn.Metadata ?? {}) as Record<string, unknown>;
    const handler = metadata[HANDLER_METADATA_KEY];
    if (typeof handler !== 'string') return []; // CDK's own Trigger provider
    const { S3Key } = (fn.Properties as { Code: { S3Key: string } }).Code;
    const directory = join(outdir, `asset.${S3Key.replace(/\.zip$/, '')}`);
    const map = JSON.parse(readFileSync(join(directory, 'index.js.map'), 'utf8')) as { sources: string[] };
    const stage = metadata[STAGE_METADATA_KEY];
    return [
      {
        handler,
        ...(typeof stage === 'string' ? { stage } : {}),
        directory,
        code: readFileSync(join(directory, 'index.js'), 'utf8'),
        sources: map.sources.map((source) => relative(REPO, resolve(directory, source))),
      },
    ];
  });
}, 600_000);

afterAll(() => {
  if (outdir) rmSync(outdir, { recursive: true, force: true });
});

describe('Class: HindsightStack, bundled for the visits fixture', () => {
  it('bundles one function per visits stage, and the control functions', () => {
    expect(bundles.filter((bundle) => bundle.handler === 'stage').map((bundle) => bundle.stage)).toEqual([
      'page_views',
      'daily_visitors',
      'visitor_window',
    ]);
    expect(bundles.map((bundle) => bundle.handler).sort()).toEqual(
      [
        'after-deploy',
        'check-earlier-dates',
        'lease',
        'plan',
        'prepare-date',
        'resolve-date',
        'verify',
        'stage',
        'stage',
        'stage',
      ].sort(),
    );
  });

  it.each(['stage', 'plan', 'prepare-date', 'check-earlier-dates', 'after-deploy'])(
    'puts the visits code in the %s bundle, and neither the example nor the meters fixture',
    (handler) => {
      const found = bundles.filter((bundle) => bundle.handler === handler);
      expect(found.length).toBeGreaterThan(0);
      for (const bundle of found) {
        for (const text of VISITS_CODE)
          expect([bundle.stage ?? handler, text, bundle.code.includes(text)]).toEqual([
            bundle.stage ?? handler,
            text,
            true,
          ]);
        for (const text of OTHER_CODE)
          expect([bundle.stage ?? handler, text, bundle.code.includes(text)]).toEqual([
            bundle.stage ?? handler,
            text,
            false,
          ]);
        expect(bundle.sources).toContain('test/fixtures/pipelines/visits/index.ts');
        expect(
          bundle.sources.filter((source) => /^pipeline\/|fixtures\/pipelines\/meters/.test(source)),
        ).toEqual([]);
      }
    },
  );

  it('builds every bundle from the same visits code, whatever the handler', () => {
    for (const bundle of bundles) {
      expect([bundle.handler, bundle.sources.includes('test/fixtures/pipelines/visits/index.ts')]).toEqual([
        bundle.handler,
        true,
      ]);
      expect([bundle.handler, OTHER_CODE.filter((text) => bundle.code.includes(text))]).toEqual([
        bundle.handler,
        [],
      ]);
    }
  });

  it.each(Object.keys(CLIENTS_OF))('holds only the AWS clients the %s handler calls', (handler) => {
    const found = bundles.filter((bundle) => bundle.handler === handler);
    expect(found.length).toBeGreaterThan(0);
    for (const bundle of found) {
      expect([bundle.stage ?? handler, clientsIn(bundle.sources)]).toEqual([
        bundle.stage ?? handler,
        CLIENTS_OF[handler],
      ]);
    }
  });

  it("holds one copy of the engine, the handlers' own, which the stages import as hindsight", () => {
    for (const bundle of bundles) {
      const engineRoots = new Set(
        bundle.sources
          .filter((source) => source.includes('lambdas/engine/'))
          .map((source) => source.slice(0, source.indexOf('lambdas/engine/'))),
      );
      // The repository's sources (this test runs from them): a stage's `hindsight` resolved by the
      // package's "exports" would add dist/'s engine beside them.
      expect([bundle.handler, [...engineRoots]]).toEqual([bundle.handler, ['']]);
    }
  });

  it(`keeps every bundle within ${MAX_BUNDLE_KIB} KiB`, () => {
    for (const bundle of bundles) {
      const kib = Math.round(statSync(join(bundle.directory, 'index.js')).size / 1024);
      expect([bundle.stage ?? bundle.handler, kib <= MAX_BUNDLE_KIB ? 'within' : `${kib} KiB`]).toEqual([
        bundle.stage ?? bundle.handler,
        'within',
      ]);
    }
  });

  it("requires nothing at run time but Node's modules and the credential providers a function never reaches", () => {
    for (const bundle of bundles) {
      const required = [...bundle.code.matchAll(/\brequire\("([^"]+)"\)/g)].map((match) => match[1]);
      const outside = [...new Set(required.filter((name) => !isBuiltin(name)))].sort();
      expect([
        bundle.handler,
        outside.filter((name) => !UNREACHED_CREDENTIAL_PROVIDERS.includes(name)),
      ]).toEqual([bundle.handler, []]);
    }
  });

  it("ships Hindsight's migrations and the visits pipeline's with the after-deploy function, and no other", () => {
    // Prepare
    const [afterDeploy] = bundles.filter((bundle) => bundle.handler === 'after-deploy');
    const migrations = join(afterDeploy?.directory ?? '', 'migrations');

    // Assess
    expect(existsSync(join(migrations, 'hindsight', '0001_ledger.sql'))).toBe(true);
    expect(readdirSync(join(migrations, 'hindsight'))).toEqual(
      readdirSync(join(REPO, 'lambdas', 'ledger', 'migrations')),
    );
    expect(readdirSync(join(migrations, 'pipeline'))).toEqual(['0001_visits.sql']);
    expect(readFileSync(join(migrations, 'pipeline', '0001_visits.sql'), 'utf8')).toBe(
      readFileSync(join(VISITS.migrationsDirectory, '0001_visits.sql'), 'utf8'),
    );
  });

  it('leaves no migrations in the other bundles', () => {
    for (const bundle of bundles.filter((b) => b.handler !== 'after-deploy')) {
      expect([bundle.handler, existsSync(join(bundle.directory, 'migrations'))]).toEqual([
        bundle.handler,
        false,
      ]);
    }
  });

  it('passes cdk-nag AwsSolutionsChecks with nothing unacknowledged', () => {
    // Act
    const report = new AwsSolutionsChecks().validateScope(app);

    // Assess
    expect(report.violations.map((violation) => violation.ruleName)).toEqual([]);
    expect(report.success).toBe(true);
  });
});
