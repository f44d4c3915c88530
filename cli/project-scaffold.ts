/**
 * `hindsight init`'s work: a new project written from `templates/project/` (shipped in the
 * package), its package.json pinned to the versions this copy of Hindsight was built and tested
 * with, and its version-guard lock computed from the template's stages. Every input is checked
 * before the first file is written, so a refusal leaves nothing behind.
 */
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { InvalidInputError } from '../lambdas/engine/errors';
import { computeLock, LOCK_FILE_NAME, serialiseLock } from './version-guard';

/** The template's stages (name and version), in pipeline order: the lock is computed for these. */
const TEMPLATE_STAGES = [
  { name: 'page_views', version: 1 },
  { name: 'views_3d', version: 1 },
] as const;
const TEMPLATE_STAGES_DIRECTORY = 'pipeline/stages';

/**
 * npm's rules for a package name: at most 214 characters, lower case, URL-safe, not starting
 * with `.` or `_`, optionally scoped (`@scope/name`).
 */
const NPM_NAME = /^(?:@[a-z0-9-*~][a-z0-9-*._~]*\/)?[a-z0-9-~][a-z0-9-._~]*$/;
const NPM_NAME_FORM =
  'an npm package name: lower case letters, digits and - . _ ~ (not first: . or _), at most 214 characters, ' +
  'optionally @scope/name, and not "hindsight" (the project depends on that package)';

export interface InitOptions {
  /** The directory to create (or an empty one), as typed. */
  readonly directory: string;
  /** The project's npm name. @default the directory's name */
  readonly name?: string;
  /** The npm spec of the `hindsight` dependency. @default `file:` this copy of Hindsight */
  readonly hindsight?: string;
  /** Where relative paths start. */
  readonly cwd: string;
}

export interface InitResult {
  readonly root: string;
  readonly name: string;
  readonly hindsightSpec: string;
  /** The files written, relative to `root`, sorted. */
  readonly files: readonly string[];
}

/** The folder of this copy of Hindsight: the nearest package.json named "hindsight" above this file. */
export function hindsightPackageRoot(): string {
  let directory = __dirname;
  for (;;) {
    const file = join(directory, 'package.json');
    if (
      existsSync(file) &&
      (JSON.parse(readFileSync(file, 'utf8')) as { name?: string }).name === 'hindsight'
    )
      return directory;
    const parent = dirname(directory);
    if (parent === directory) throw new Error(`No package.json of hindsight above ${__dirname}.`);
    directory = parent;
  }
}

/** Checks every input, then writes the project; throws InvalidInputError (writing nothing) on a bad one. */
export function initProject(options: InitOptions): InitResult {
  const packageRoot = hindsightPackageRoot();
  const root = resolve(options.cwd, options.directory);
  const name = options.name ?? basename(root);
  const hindsightSpec = options.hindsight ?? `file:${packageRoot}`;
  checkInputs(options, root, name);

  const files = new Map<string, string | Buffer>();
  const templates = join(packageRoot, 'templates', 'project');
  const values: Record<string, string> = { name, stackName: stackNameOf(name) };
  for (const file of templateFiles(templates)) {
    // npm leaves .gitignore out of packages, so template dotfiles are kept as `_name`.
    const target = relative(templates, file)
      .split('/')
      .map((part) => (part.startsWith('_') ? `.${part.slice(1)}` : part))
      .join('/');
    files.set(target, render(readFileSync(file, 'utf8'), values));
  }
  files.set(
    'package.json',
    `${JSON.stringify(projectPackageJson(packageRoot, name, hindsightSpec), null, 2)}\n`,
  );

  mkdirSync(root, { recursive: true });
  for (const [file, contents] of files) {
    mkdirSync(dirname(join(root, file)), { recursive: true });
    writeFileSync(join(root, file), contents);
  }
  chmodSync(join(root, '.ci', 'run'), 0o755);
  // The lock reads the stage files as written (tokens, not imports), so it needs no npm install.
  const lock = computeLock({ stages: TEMPLATE_STAGES }, { root, stagesDirectory: TEMPLATE_STAGES_DIRECTORY });
  writeFileSync(join(root, LOCK_FILE_NAME), serialiseLock(lock));
  return { root, name, hindsightSpec, files: [...files.keys(), LOCK_FILE_NAME].sort() };
}

function checkInputs(options: InitOptions, root: string, name: string): void {
  if (existsSync(root)) {
    if (!statSync(root).isDirectory()) {
      throw InvalidInputError.of('DIR', options.directory, `a new or empty directory (${root} is a file)`);
    }
    const entries = readdirSync(root);
    if (entries.length > 0) {
      const shown = entries.slice(0, 5).join(', ') + (entries.length > 5 ? ', …' : '');
      throw InvalidInputError.of(
        'DIR',
        options.directory,
        `a new or empty directory (${root} holds ${shown})`,
      );
    }
  }
  if (!isNpmName(name)) {
    throw options.name === undefined
      ? InvalidInputError.of(
          'DIR',
          options.directory,
          `a directory whose name is ${NPM_NAME_FORM}; or give the project's name with --name`,
        )
      : InvalidInputError.of('--name', name, NPM_NAME_FORM);
  }
  if (options.hindsight !== undefined && !/^\S+$/.test(options.hindsight)) {
    throw InvalidInputError.of(
      '--hindsight',
      options.hindsight,
      'an npm spec for the hindsight package, e.g. ^0.1.0, file:../hindsight or ./hindsight-0.1.0.tgz',
    );
  }
}

export function isNpmName(name: string): boolean {
  return name.length <= 214 && NPM_NAME.test(name) && name !== 'hindsight' && name !== 'node_modules';
}

/** `my-pipeline` → `MyPipeline`: a CloudFormation stack name (letters, digits, hyphens; a letter first). */
export function stackNameOf(name: string): string {
  const words = name
    .replace(/^@[^/]*\//, '')
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean);
  const pascal = words.map((word) => word.charAt(0).toUpperCase() + word.slice(1)).join('');
  return /^[A-Za-z]/.test(pascal) ? pascal.slice(0, 128) : `Hindsight${pascal}`.slice(0, 128);
}

function templateFiles(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((entry) => {
      const path = join(directory, entry.name);
      return entry.isDirectory() ? templateFiles(path) : [path];
    });
}

function render(text: string, values: Record<string, string>): string {
  return text.replace(/\{\{(\w+)\}\}/g, (whole, key: string) => values[key] ?? whole);
}

interface PackageJson {
  allowScripts?: Record<string, boolean>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

/**
 * The project's package.json: the tool versions are the ones this copy of Hindsight pins (Node 24
 * as a dev dependency, the CDK CLI line that reads its assemblies), and aws-cdk-lib and
 * constructs exactly its own, so npm installs one copy of each.
 */
function projectPackageJson(packageRoot: string, name: string, hindsightSpec: string): object {
  const own = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as PackageJson;
  const versionOf = (dependency: string): string => {
    const version = own.dependencies?.[dependency] ?? own.devDependencies?.[dependency];
    if (version === undefined) throw new Error(`hindsight's package.json does not list ${dependency}.`);
    return version;
  };
  return {
    name,
    version: '0.1.0',
    private: true,
    description: 'A daily data pipeline on Hindsight.',
    scripts: {
      start: 'hindsight start',
      hindsight: 'hindsight',
      test: 'node --import tsx --test "pipeline/test/**/*.test.ts"',
      lint: 'tsc --noEmit',
      synth: 'cdk synth',
    },
    dependencies: {
      'aws-cdk-lib': versionOf('aws-cdk-lib'),
      constructs: versionOf('constructs'),
      hindsight: hindsightSpec,
    },
    devDependencies: Object.fromEntries(
      ['@types/node', 'aws-cdk', 'cdk-nag', 'node', 'tsx', 'typescript'].map((dependency) => [
        dependency,
        versionOf(dependency),
      ]),
    ),
    // The install scripts Hindsight's own install runs (Node 24, esbuild, dynalite's LevelDB), as
    // this repository allows them; hindsight itself ships built, so its `prepare` (a checkout's
    // build) is not one of them.
    allowScripts: {
      ...Object.fromEntries(
        ['node', 'esbuild', 'classic-level'].map((dependency) => [
          dependency,
          own.allowScripts?.[dependency] ?? true,
        ]),
      ),
      hindsight: false,
    },
  };
}
