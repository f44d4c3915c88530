/**
 * Section 5 — the Lambda bundles as the CDK stack builds them (esbuild with lib/functions.ts's
 * BUNDLING options, entries and aliases), their size, and how long a fresh Node process takes to
 * load each one as the Lambda runtime would: with the functions' NODE_OPTIONS and environment.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { build } from 'esbuild';
import {
  BUNDLING,
  bundleAliases,
  FUNCTION_NODE_OPTIONS,
  HANDLER_NAMES,
  handlerEntry,
} from '../lib/functions';
import { median, progress, timed } from './measure';
import { pipeline, source } from './project';
import { formatTable, ms } from './table';

const LOADS = 5;
/** The targets for each bundle (issue 16). */
const TARGET_KIB = 400;
const TARGET_LOAD_MS = 150;

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
  /** The AWS SDK clients in the bundle (`@aws-sdk/client-*`, from esbuild's metafile). */
  readonly clients: readonly string[];
  readonly buildMs: number;
  /** Median wall time to `require` the bundle in a fresh process, as deployed (the functions' NODE_OPTIONS). */
  readonly loadMs: number;
  /** Median CPU time (user + system) of the same `require`: less skewed by a busy machine. */
  readonly loadCpuMs: number;
  /** Median wall time without NODE_OPTIONS (no source maps): what the maps cost at start. */
  readonly loadNoSourceMapsMs: number;
  readonly loadSamplesMs: readonly number[];
}

export interface BundlesResult {
  readonly options: Record<string, unknown>;
  readonly nodeOptions: string;
  readonly loads: number;
  readonly statistic: 'median';
  readonly targets: { readonly kib: number; readonly loadMs: number };
  readonly handlers: readonly BundleRow[];
}

/** Loads `file` in a new Node process; returns the wall and CPU time `require` took inside it, in ms. */
function loadTime(file: string, nodeOptions: string | undefined): { wall: number; cpu: number } {
  const script =
    'const c = process.cpuUsage(); const t = process.hrtime.bigint(); require(process.argv[1]); ' +
    'const wall = Number(process.hrtime.bigint() - t) / 1e6; const u = process.cpuUsage(c); ' +
    'process.stdout.write(JSON.stringify({ wall, cpu: (u.user + u.system) / 1e3 }));';
  const output = execFileSync(process.execPath, ['-e', script, file], {
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH ?? '',
      ...HANDLER_ENVIRONMENT,
      ...(nodeOptions === undefined ? {} : { NODE_OPTIONS: nodeOptions }),
    },
  });
  const value = JSON.parse(output) as { wall: unknown; cpu: unknown };
  if (typeof value.wall !== 'number' || typeof value.cpu !== 'number')
    throw new Error(`Loading ${file} printed ${JSON.stringify(output)}`);
  return { wall: value.wall, cpu: value.cpu };
}

/** `@aws-sdk/client-dynamodb` → `dynamodb`, for each client package among the bundle's inputs. */
function clientsIn(inputs: readonly string[]): string[] {
  const clients = new Set<string>();
  for (const input of inputs) {
    const client = /node_modules\/@aws-sdk\/client-([a-z0-9-]+)\//.exec(input)?.[1];
    if (client !== undefined) clients.add(client);
  }
  return [...clients].sort();
}

export async function benchBundles(): Promise<BundlesResult> {
  const out = mkdtempSync(join(tmpdir(), 'hindsight-bundles-'));
  // lib/functions.ts's BUNDLING, as aws-cdk-lib's NodejsFunction passes it to esbuild.
  const options = {
    bundle: true,
    platform: 'node' as const,
    target: BUNDLING.target ?? 'node24',
    format: BUNDLING.format === OutputFormat.ESM ? ('esm' as const) : ('cjs' as const),
    minify: BUNDLING.minify ?? false,
    keepNames: BUNDLING.keepNames ?? false,
    sourcemap: BUNDLING.sourceMap ?? false,
    sourcesContent: BUNDLING.sourcesContent ?? true,
    ...(BUNDLING.mainFields === undefined ? {} : { mainFields: [...BUNDLING.mainFields] }),
    external: [...(BUNDLING.externalModules ?? [])],
    logLevel: 'warning' as const,
    // As the stack bundles them: with the configured pipeline's code, and one engine.
    alias: bundleAliases(source.entry),
  };
  try {
    const handlers: BundleRow[] = [];
    for (const handler of HANDLER_NAMES) {
      progress(`bundles: ${handler}`);
      const outfile = join(out, handler, 'index.js');
      const built = await timed(() =>
        build({ ...options, entryPoints: [handlerEntry(handler)], outfile, metafile: true }),
      );
      const wall: number[] = [];
      const cpu: number[] = [];
      const plain: number[] = [];
      for (let i = 0; i < LOADS; i++) {
        const deployed = loadTime(outfile, FUNCTION_NODE_OPTIONS);
        wall.push(deployed.wall);
        cpu.push(deployed.cpu);
        plain.push(loadTime(outfile, undefined).wall);
      }
      handlers.push({
        handler,
        bytes: statSync(outfile).size,
        sourceMapBytes: options.sourcemap ? statSync(`${outfile}.map`).size : 0,
        clients: clientsIn(Object.keys(built.result.metafile.inputs)),
        buildMs: built.ms,
        loadMs: median(wall),
        loadCpuMs: median(cpu),
        loadNoSourceMapsMs: median(plain),
        loadSamplesMs: wall,
      });
    }
    return {
      options,
      nodeOptions: FUNCTION_NODE_OPTIONS,
      loads: LOADS,
      statistic: 'median',
      targets: { kib: TARGET_KIB, loadMs: TARGET_LOAD_MS },
      handlers,
    };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

export function formatBundles(result: BundlesResult): string {
  return formatTable(
    `5. Lambda bundles — esbuild as lib/functions.ts BUNDLING (node24, cjs, minify, keepNames, ES modules first, ` +
      `source map file without sources, SDK bundled but unreached credential providers); require() in a fresh ` +
      `process with NODE_OPTIONS=${result.nodeOptions} as deployed, median of ${result.loads}; ` +
      `target ≤ ${result.targets.kib} KiB and ≤ ${result.targets.loadMs} ms`,
    [
      { header: 'handler', align: 'left' },
      { header: 'bundle KiB' },
      { header: 'map KiB' },
      { header: 'AWS clients', align: 'left' },
      { header: 'load ms (as deployed)' },
      { header: 'load CPU ms' },
      { header: 'load ms (no source maps)' },
    ],
    result.handlers.map((h) => [
      h.handler,
      (h.bytes / 1024).toFixed(0),
      (h.sourceMapBytes / 1024).toFixed(0),
      h.clients.join(', '),
      ms(h.loadMs),
      ms(h.loadCpuMs),
      ms(h.loadNoSourceMapsMs),
    ]),
  );
}
