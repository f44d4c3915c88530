#!/usr/bin/env node
/**
 * Builds the package's JavaScript: every non-test `.ts` file of the framework, transpiled one to
 * one into `dist/` (same folders), plus the files the code reads next to itself (the ledger's SQL
 * migrations). With `--declarations` it also emits the `.d.ts` files the package exports.
 *
 *   node tools/build.mjs                 # JavaScript and assets (esbuild: about a second)
 *   node tools/build.mjs --declarations  # the same, plus type declarations (tsc: half a minute)
 *   node tools/build.mjs --if-stale      # JavaScript when a source is newer than dist/ (and the
 *                                        # declarations when dist/ has none yet): npm's `prepare`
 *   node tools/build.mjs --clean         # empty dist/ first
 *
 * `ensureBuilt()` is what `bin/hindsight.js` calls in a git checkout: it rebuilds only when a
 * source is newer than the last build, and costs a few stat calls otherwise.
 */
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(ROOT, 'dist');
/** Written last by every build; its mtime is when that build started. */
const STAMP = join(DIST, '.build-stamp');
/** The framework's source folders (the pipeline, tests, bench and examples are not part of it). */
const SOURCE_DIRS = ['lambdas', 'lib', 'cli', 'local', 'bin'];
/** Files the compiled code reads at run time from beside itself (`__dirname`), copied as they are. */
const ASSET = /\.sql$/;
const SOURCE = /(?<!\.test|\.d)\.ts$/;
/** What else decides the output: this script and the package manifest. */
const BUILD_INPUTS = [fileURLToPath(import.meta.url), join(ROOT, 'package.json')];

function walk(directory, visit) {
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules' && entry.name !== 'test') walk(path, visit);
    } else visit(path);
  }
}

function inputFiles() {
  const sources = [];
  const assets = [];
  for (const folder of SOURCE_DIRS) {
    walk(join(ROOT, folder), (path) => {
      if (SOURCE.test(path)) sources.push(path);
      else if (ASSET.test(path)) assets.push(path);
    });
  }
  return { sources, assets };
}

/** Writes `path` through a temporary file and a rename, so a concurrent reader never sees half of it. */
function writeAtomically(path, contents) {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, contents);
  renameSync(temporary, path);
}

/** Transpiles every source into dist/ and copies the assets; returns how many files it wrote. */
export function buildJavaScript() {
  const started = new Date();
  const require = createRequire(import.meta.url);
  const esbuild = require('esbuild');
  const { sources, assets } = inputFiles();
  const result = esbuild.buildSync({
    entryPoints: sources,
    outbase: ROOT,
    outdir: DIST,
    bundle: false,
    write: false,
    format: 'cjs',
    platform: 'node',
    target: 'node24',
    // `await import('./x')` becomes a lazy `require('./x')`: the CLI loads heavy modules only in
    // the commands that need them, and CommonJS resolves the extensionless specifier to x.js.
    supported: { 'dynamic-import': false },
    // The engine's errors are named after their class, and the workflows match on those names.
    keepNames: true,
    logLevel: 'error',
  });
  for (const file of result.outputFiles) writeAtomically(file.path, file.contents);
  // The Lambda handlers once more, as ES modules, for the bundling of a project's functions
  // (lib/functions.ts): esbuild tree-shakes ES modules, not CommonJS, so bundles made from these
  // keep to the size of those made from the sources (about 300 KiB instead of 0.9-1.1 MiB).
  const lambdas = esbuild.buildSync({
    entryPoints: sources.filter((path) => relative(ROOT, path).startsWith(`lambdas${sep}`)),
    outbase: ROOT,
    outdir: join(DIST, 'esm'),
    bundle: false,
    write: false,
    format: 'esm',
    platform: 'node',
    target: 'node24',
    logLevel: 'error',
  });
  for (const file of lambdas.outputFiles) writeAtomically(file.path, file.contents);
  removeOrphans();
  for (const asset of assets) {
    const target = join(DIST, relative(ROOT, asset));
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(asset, target);
  }
  writeFileSync(STAMP, '');
  utimesSync(STAMP, started, started);
  return result.outputFiles.length + lambdas.outputFiles.length + assets.length;
}

/**
 * Removes what an earlier build wrote for a source that is gone, so the package never ships a
 * module that no longer exists. Files are removed one by one, never dist/ as a whole: a CLI
 * running from dist/ meanwhile (a test, a second terminal) keeps working.
 */
function removeOrphans() {
  if (!existsSync(DIST)) return;
  walk(DIST, (path) => {
    const built = relative(DIST, path);
    const source = join(ROOT, built.startsWith(`esm${sep}`) ? built.slice(4) : built);
    const stem = source.replace(/(\.d)?\.(ts|js)$/, '');
    const orphan = /\.(js|ts)$/.test(path)
      ? !existsSync(`${stem}.ts`) && !existsSync(`${stem}.d.ts`)
      : ASSET.test(path) && !existsSync(source);
    if (orphan) rmSync(path);
  });
}

/** Emits the `.d.ts` files of every source into dist/ (tsconfig.build.json). */
export function buildDeclarations() {
  const require = createRequire(import.meta.url);
  const tsc = join(dirname(require.resolve('typescript/package.json')), 'bin', 'tsc');
  execFileSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });
}

/** True when dist/ is older than a source, an asset or the build itself (stat calls only). */
export function isStale() {
  if (!existsSync(STAMP)) return true;
  const built = statSync(STAMP).mtimeMs;
  if (BUILD_INPUTS.some((file) => statSync(file).mtimeMs > built)) return true;
  let newer = false;
  for (const folder of SOURCE_DIRS) {
    walk(join(ROOT, folder), (path) => {
      if (!newer && (SOURCE.test(path) || ASSET.test(path)) && statSync(path).mtimeMs > built) newer = true;
    });
    if (newer) return true;
  }
  return false;
}

/** Rebuilds dist/'s JavaScript when a source changed since the last build; returns whether it did. */
export function ensureBuilt() {
  if (!isStale()) return false;
  buildJavaScript();
  return true;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const started = Date.now();
  const flags = new Set(process.argv.slice(2));
  // `--if-stale` is npm's `prepare` (npm ci here, or a project installing this checkout):
  // JavaScript when a source changed, declarations when there are none yet (a project's
  // typecheck reads them).
  const declarationsMissing = !existsSync(join(DIST, 'lib', 'index.d.ts'));
  const declarations = flags.has('--declarations') || (flags.has('--if-stale') && declarationsMissing);
  if (flags.has('--if-stale') && !declarations && !isStale()) process.exit(0);
  if (flags.has('--clean')) rmSync(DIST, { recursive: true, force: true });
  const files = buildJavaScript();
  if (declarations) buildDeclarations();
  const what = declarations ? 'JavaScript and declarations' : 'JavaScript';
  process.stdout.write(`Built ${what} into dist/ (${files} files) in ${Date.now() - started} ms.\n`);
}
