/**
 * The project a command or a synth works in: the folder of its `cdk.json`, and the pipeline that
 * file names. Every entry (the CDK app, the CLI, the bench) finds the pipeline here and nowhere
 * else. No aws-cdk-lib: the CLI reads this on every start.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { type InputProblem, InvalidInputError } from '../lambdas/engine/errors';
import type { Pipeline } from '../lambdas/engine/pipeline';
import type { Transition } from '../lambdas/engine/transition';

/** The `cdk.json` context keys that say where the team's pipeline is. */
export const PIPELINE_KEYS = {
  /** A module, relative to `cdk.json`, exporting `pipeline` (and optionally `transitions`). */
  pipeline: 'hindsight:pipeline',
  /** A directory, relative to `cdk.json`, of the pipeline's `NNNN_name.sql` migrations. */
  migrations: 'hindsight:migrations',
} as const;

/** Where a pipeline's code and schema are: absolute paths. */
export interface PipelineSource {
  /** The module exporting `pipeline` and `transitions`; the Lambda bundles are built from it. */
  readonly entry: string;
  /** The pipeline's SQL migrations, applied after Hindsight's own. */
  readonly migrationsDirectory: string;
}

/** What a pipeline module exports. */
export interface PipelineModule {
  readonly pipeline: Pipeline;
  /** One-off per-date fixes; none when the module exports no `transitions`. */
  readonly transitions: readonly Transition[];
}

/** A project: the directory holding `cdk.json`, and that file's context. */
export interface Project {
  readonly root: string;
  readonly context: Readonly<Record<string, unknown>>;
}

/** The nearest directory from `start` upwards that holds a `cdk.json`, read. */
export function findProject(start: string = process.cwd()): Project {
  let directory = resolve(start);
  for (;;) {
    const file = join(directory, 'cdk.json');
    if (existsSync(file)) return { root: directory, context: readContext(file) };
    const parent = dirname(directory);
    if (parent === directory) {
      throw new InvalidInputError([
        {
          field: 'cdk.json',
          value: undefined,
          accepted: `a cdk.json in ${resolve(start)} or a folder above it: run hindsight inside a Hindsight project`,
        },
      ]);
    }
    directory = parent;
  }
}

function readContext(file: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw InvalidInputError.of(file, '(unreadable)', `a JSON file (${(error as Error).message})`);
  }
  const context = isObject(parsed) ? parsed.context : undefined;
  return isObject(context) ? context : {};
}

/**
 * The pipeline named by `hindsight:pipeline` and `hindsight:migrations`, resolved against `root`
 * and checked to exist. Collects every problem and throws once, naming key, value and what is
 * expected.
 */
export function pipelineSource(tryGetContext: (key: string) => unknown, root: string): PipelineSource {
  const problems: InputProblem[] = [];
  const path = (key: string, kind: 'file' | 'directory', accepted: string): string => {
    const value = tryGetContext(key);
    if (typeof value !== 'string' || value === '') {
      problems.push({ field: key, value, accepted: `${accepted}, relative to cdk.json` });
      return '';
    }
    const absolute = resolve(root, value);
    const found = existsSync(absolute) && (kind === 'file') === statSync(absolute).isFile();
    if (!found) problems.push({ field: key, value, accepted: `${accepted} (${absolute} is no ${kind})` });
    return absolute;
  };
  const entry = path(PIPELINE_KEYS.pipeline, 'file', 'the path of a module that exports `pipeline`');
  const migrationsDirectory = path(
    PIPELINE_KEYS.migrations,
    'directory',
    "the path of a directory of the pipeline's NNNN_name.sql migrations",
  );
  if (problems.length > 0) throw new InvalidInputError(problems);
  return { entry, migrationsDirectory };
}

/**
 * Loads a pipeline module and checks its exports. `field` and `shown` name the setting it came
 * from, for the error. A TypeScript module loads through the TypeScript loader already running
 * (tsx for the CDK app, jest's transform in tests), or, from the compiled CLI, through tsx,
 * registered here on first need.
 */
export function loadPipelineModule(entry: string, field: string, shown: string = entry): PipelineModule {
  let loaded: unknown;
  try {
    if (TYPESCRIPT_MODULE.test(entry)) ensureTypeScriptLoader();
    loaded = require(resolve(entry));
  } catch (error) {
    throw InvalidInputError.of(
      field,
      shown,
      `a module that exports \`pipeline\` (loading it failed: ${(error as Error).message})`,
    );
  }
  const exports = isObject(loaded) ? loaded : {};
  if (!isPipeline(exports.pipeline)) {
    throw InvalidInputError.of(field, shown, 'a module that exports `pipeline` built with definePipeline');
  }
  const transitions = exports.transitions ?? [];
  if (!Array.isArray(transitions)) {
    throw InvalidInputError.of(
      field,
      shown,
      'a module whose `transitions` export, when present, is a list built with defineTransitions',
    );
  }
  return { pipeline: exports.pipeline, transitions };
}

const TYPESCRIPT_MODULE = /\.[cm]?tsx?$/;

/**
 * Registers tsx for `require` when this code runs compiled (dist/*.js) and nothing handles `.ts`
 * yet. From sources (`.ts`), a loader is running already. Loaded only here: a JavaScript pipeline
 * never pays for it.
 */
function ensureTypeScriptLoader(): void {
  const compiled = __filename.endsWith('.js');
  if (!compiled || require.extensions['.ts'] !== undefined) return;
  const { register } = require('tsx/cjs/api') as typeof import('tsx/cjs/api');
  register();
}

function isPipeline(value: unknown): value is Pipeline {
  return isObject(value) && Array.isArray(value.stages) && typeof value.codeLineage === 'function';
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The lock files a project may have; the Lambda bundling needs one to know the project's root. */
export const LOCK_FILES = ['package-lock.json', 'yarn.lock', 'pnpm-lock.yaml', 'bun.lockb'] as const;

/** The lock file in `directory`, if it has one. */
export function lockFileIn(directory: string): string | undefined {
  return LOCK_FILES.map((name) => join(directory, name)).find((file) => existsSync(file));
}

/**
 * The nearest folder from `start` upwards with a lock file: the root of the npm project that
 * `start` belongs to (from inside `node_modules/hindsight`, the project that installed it).
 */
export function packageRootOf(start: string): string | undefined {
  let directory = resolve(start);
  for (;;) {
    if (lockFileIn(directory)) return directory;
    const parent = dirname(directory);
    if (parent === directory) return undefined;
    directory = parent;
  }
}
