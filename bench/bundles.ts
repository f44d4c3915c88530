/**
 * Section 5 — the Lambda bundles as the CDK stack builds them (esbuild with lib/functions.ts's
 * BUNDLING options), their size, and how long a fresh Node process takes to load each one.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { build } from 'esbuild';
import { BUNDLING, CONFIGURED_PIPELINE_MODULE, HANDLER_NAMES } from '../lib/functions';
import { median, progress, timed } from './measure';
import { pipeline, source } from './project';
import { formatTable, ms } from './table';

const REPOSITORY = join(__dirname, '..');
const HANDLERS = join(REPOSITORY, 'lambdas', 'handlers');
const LOADS = 5;

/** What the stack sets on the functions (dummy values: loading must not reach AWS). */
const HANDLER_ENVIRONMENT: Record<string, string> = {
  DB_CLUSTER_ARN: 'arn:aws:rds:us-east-1:123456789012:cluster:bench',
  DB_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:bench',
  DB_NAME: 'hindsight',
  LEASE_TABLE_NAME: 'hindsight-lease',
  HINDSIGHT_STAGE: pipeline.names[0],
  // The after-deploy function's own.
  BACKFILL_STATE_MACHINE_ARN: 'arn:aws:states:us-east-1:123456789012:stateMachine:bench',
  HINDSIGHT_DEPLOYMENT_ID: 'bench',
  HINDSIGHT_AUTO_BACKFILL: 'true',
  AWS_REGION: 'us-east-1',
};

export interface BundleRow {
  readonly handler: string;
  readonly bytes: number;
  readonly sourceMapBytes: number;
  readonly buildMs: number;
  /** Median time to `require` the bundle in a fresh process, as deployed (NODE_OPTIONS=--enable-source-maps). */
  readonly loadMs: number;
  /** The same without source maps enabled. */
  readonly loadNoSourceMapsMs: number;
  readonly loadSamplesMs: readonly number[];
}

export interface BundlesResult {
  readonly options: Record<string, unknown>;
  readonly loads: number;
  readonly statistic: 'median';
  readonly handlers: readonly BundleRow[];
}

/** Loads `file` in a new Node process and returns the time `require` took inside it, in ms. */
function loadTime(file: string, sourceMaps: boolean): number {
  const script =
    'const t = process.hrtime.bigint(); require(process.argv[1]); ' +
    'process.stdout.write(String(Number(process.hrtime.bigint() - t) / 1e6));';
  const output = execFileSync(process.execPath, ['-e', script, file], {
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH ?? '',
      ...HANDLER_ENVIRONMENT,
      ...(sourceMaps ? { NODE_OPTIONS: '--enable-source-maps' } : {}),
    },
  });
  const value = Number(output.trim());
  if (!Number.isFinite(value)) throw new Error(`Loading ${file} printed ${JSON.stringify(output)}`);
  return value;
}

export async function benchBundles(): Promise<BundlesResult> {
  const out = mkdtempSync(join(tmpdir(), 'hindsight-bundles-'));
  const options = {
    bundle: true,
    platform: 'node' as const,
    target: BUNDLING.target ?? 'node24',
    format: BUNDLING.format === OutputFormat.ESM ? ('esm' as const) : ('cjs' as const),
    minify: BUNDLING.minify ?? false,
    keepNames: BUNDLING.keepNames ?? false,
    sourcemap: BUNDLING.sourceMap ?? false,
    external: [...(BUNDLING.externalModules ?? [])],
    logLevel: 'warning' as const,
    // As the stack bundles them: with the configured pipeline's code.
    alias: { [CONFIGURED_PIPELINE_MODULE]: source.entry },
  };
  try {
    // The entries the stack bundles (lib/functions.ts); other files there are shared modules.
    const entries = HANDLER_NAMES.map((name) => `${name}.ts`);
    const handlers: BundleRow[] = [];
    for (const entry of entries) {
      const handler = entry.replace(/\.ts$/, '');
      progress(`bundles: ${handler}`);
      const outfile = join(out, handler, 'index.js');
      const built = await timed(() => build({ ...options, entryPoints: [join(HANDLERS, entry)], outfile }));
      const samples: number[] = [];
      const plain: number[] = [];
      for (let i = 0; i < LOADS; i++) {
        samples.push(loadTime(outfile, true));
        plain.push(loadTime(outfile, false));
      }
      handlers.push({
        handler,
        bytes: statSync(outfile).size,
        sourceMapBytes: statSync(`${outfile}.map`).size,
        buildMs: built.ms,
        loadMs: median(samples),
        loadNoSourceMapsMs: median(plain),
        loadSamplesMs: samples,
      });
    }
    return { options, loads: LOADS, statistic: 'median', handlers };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

export function formatBundles(result: BundlesResult): string {
  return formatTable(
    `5. Lambda bundles — esbuild as lib/functions.ts BUNDLING (node24, cjs, minify, keepNames, sourcemap, SDK bundled); ` +
      `require() in a fresh process, median of ${result.loads}`,
    [
      { header: 'handler', align: 'left' },
      { header: 'bundle KiB' },
      { header: 'map KiB' },
      { header: 'load ms (as deployed, source maps on)' },
      { header: 'load ms (source maps off)' },
    ],
    result.handlers.map((h) => [
      h.handler,
      (h.bytes / 1024).toFixed(0),
      (h.sourceMapBytes / 1024).toFixed(0),
      ms(h.loadMs),
      ms(h.loadNoSourceMapsMs),
    ]),
  );
}
