import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, extname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import * as ts from 'typescript';
import { z } from 'zod';
import { HindsightError } from '../lambdas/engine/errors';
import { LOCK_COMMAND, type LockedStage, type LockFile } from '../lambdas/engine/fingerprint';
import type { Stage } from '../lambdas/engine/stage';

export type { LockedStage, LockFile, LockFinding, LockVerdict } from '../lambdas/engine/fingerprint';
export {
  acceptStage,
  checkLock,
  formatFindings,
  LOCK_COMMAND,
  LockRefusedError,
  lockVerdict,
  updateLock,
} from '../lambdas/engine/fingerprint';

/**
 * The version guard's I/O: fingerprints each stage's code from its source files, and reads and
 * writes `hindsight.lock.json`. The rules that compare the two are in `lambdas/engine/fingerprint.ts`.
 *
 * A stage's code is its module `lambdas/stages/<name>.ts` and, transitively, every project file it
 * imports at run time. Followed: `import`, `export … from`, `import x = require()`, and `import()` /
 * `require()` of a string literal. Not followed: `import type` / `export type` (types are erased, so
 * they cannot change what a stage computes) and packages (`node_modules`, `node:`), whose versions
 * package-lock.json pins.
 *
 * Sources are compared as TypeScript tokens, so comments, whitespace, line endings and a trailing
 * comma are not a change; anything else is, including the text of strings (SQL) and the stage's own
 * `version:` (harmless: a higher version is reported as a bump whatever the fingerprint says).
 */

/** The lock file, at the repository root. */
export const LOCK_FILE_NAME = 'hindsight.lock.json';

/** Where stage modules live, relative to the repository root. */
export const DEFAULT_STAGES_DIRECTORY = 'lambdas/stages';

/** The source of a stage could not be fingerprinted: a missing module, an unresolvable or computed import. */
export class StageSourceError extends HindsightError {}

/** `hindsight.lock.json` exists but is not a lock file this version of Hindsight reads. */
export class LockFileInvalidError extends HindsightError {}

export interface ComputeLockOptions {
  /** The repository root: lock paths are relative to it, and imports may not leave it. */
  readonly root: string;
  /**
   * Where stage `x`'s module `x.ts` is, relative to `root`.
   * @default 'lambdas/stages'
   */
  readonly stagesDirectory?: string;
}

/** The name and version of each stage, in pipeline order: a `Pipeline` or a plain list. */
export interface StageList {
  readonly stages: readonly Pick<Stage, 'name' | 'version'>[];
}

/** The lock the code asks for: per stage, its version and the fingerprint of every file it is made of. */
export function computeLock(pipeline: StageList, options: ComputeLockOptions): LockFile {
  const root = resolve(options.root);
  const stagesDirectory = options.stagesDirectory ?? DEFAULT_STAGES_DIRECTORY;
  const sources = new SourceReader(root);
  const stages: Record<string, LockedStage> = {};
  for (const { name, version } of pipeline.stages) {
    const entry = join(root, stagesDirectory, `${name}.ts`);
    const module = sources.relativePath(entry);
    if (!isFile(entry)) {
      throw new StageSourceError(
        `Stage ${name} has no module ${module}. The version guard finds a stage's code by its file name: ` +
          `define stage ${name} in ${module}.`,
      );
    }
    if (!sources.read(entry).mentions(name)) {
      throw new StageSourceError(
        `${module} does not contain the string '${name}', so it does not look like the module that defines ` +
          `stage ${name}. Define stage ${name} in ${module}, with name: '${name}'.`,
      );
    }
    const files: Record<string, string> = {};
    for (const file of sources.closure(entry)) files[sources.relativePath(file)] = sources.read(file).hash;
    const sorted = sortKeys(files);
    stages[name] = { version, fingerprint: fingerprintOf(sorted), module, files: sorted };
  }
  return { lockfileVersion: 1, stages };
}

/** The fingerprint of a set of files: sha256 over each path and content hash, in path order. */
export function fingerprintOf(files: Readonly<Record<string, string>>): string {
  const hash = createHash('sha256');
  for (const path of Object.keys(files).sort()) hash.update(`${path}\n${files[path]}\n`);
  return hash.digest('hex');
}

/**
 * The tokens a TypeScript or JavaScript source is compared by: its text without comments and
 * whitespace between tokens (strings and template literals keep theirs), with `\r\n` read as `\n`
 * and a trailing comma before `)`, `]` or `}` dropped. Two sources with the same tokens behave the same.
 */
export function sourceTokens(source: string, fileName = 'module.ts'): string[] {
  // Line terminators in template literals read as \n; no other token can hold one.
  const text = source.replace(/\r\n?/g, '\n');
  const file = parse(text, fileName);
  const leaves: ts.Node[] = [];
  const visit = (node: ts.Node): void => {
    const children = node.getChildren(file);
    if (children.length === 0) leaves.push(node);
    else for (const child of children) visit(child);
  };
  visit(file);
  // The leaves must cover the text end to end, so nothing but trivia (comments, whitespace) is left out.
  let covered = 0;
  for (const leaf of leaves) {
    if (leaf.pos !== covered)
      throw new StageSourceError(`Could not read ${fileName} as tokens at ${covered}.`);
    covered = leaf.end;
  }
  if (covered !== text.length) throw new StageSourceError(`Could not read ${fileName} as tokens to its end.`);

  const tokens = leaves.map((leaf) => leaf.getText(file)).filter((token) => token !== '');
  // `[a,]` is `[a]`, but `[a,,]` and `[,]` have holes: drop a comma only when it follows a value.
  return tokens.filter(
    (token, i) =>
      !(
        token === ',' &&
        CLOSERS.has(tokens[i + 1]) &&
        tokens[i - 1] !== undefined &&
        !BEFORE_HOLE.has(tokens[i - 1])
      ),
  );
}

const CLOSERS = new Set([')', ']', '}']);
const BEFORE_HOLE = new Set([',', '[', '(', '{']);

/** Reads `hindsight.lock.json`; `undefined` when there is none yet. */
export function readLockFile(path: string): LockFile | undefined {
  if (!existsSync(path)) return undefined;
  const text = readFileSync(path, 'utf8');
  const restore = `Restore it from version control, then run ${LOCK_COMMAND}.`;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new LockFileInvalidError(`${path} is not valid JSON (${describe(error)}). ${restore}`);
  }
  const parsed = lockFileSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.join('.') || '(top)'}: ${issue.message}`,
    );
    throw new LockFileInvalidError(
      `${path} is not a Hindsight lock file: ${problems.join('; ')}. ${restore}`,
    );
  }
  return parsed.data;
}

/** Writes the lock with stages and files in name order, 2-space JSON and a final newline, so diffs stay small. */
export function writeLockFile(path: string, lock: LockFile): void {
  writeFileSync(path, serialiseLock(lock));
}

/** The exact text `writeLockFile` writes. */
export function serialiseLock(lock: LockFile): string {
  const stages = Object.fromEntries(
    Object.keys(lock.stages)
      .sort()
      .map((name) => {
        const { version, fingerprint, module, files } = lock.stages[name];
        return [name, { version, fingerprint, module, files: sortKeys(files) }];
      }),
  );
  return `${JSON.stringify({ lockfileVersion: lock.lockfileVersion, stages }, null, 2)}\n`;
}

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'a sha256 in hex');
const lockFileSchema = z.strictObject({
  lockfileVersion: z.literal(1),
  stages: z.record(
    z.string(),
    z.strictObject({
      version: z.number().int().min(1),
      fingerprint: sha256,
      module: z.string().min(1),
      files: z.record(z.string(), sha256),
    }),
  ),
});

interface SourceFacts {
  /** sha256 of the normalised source (of the raw bytes for files that are not code, e.g. JSON). */
  readonly hash: string;
  /** Absolute paths of the project files it imports at run time. */
  readonly imports: readonly string[];
  mentions(name: string): boolean;
}

/** Reads, normalises and resolves each file once per `computeLock`. */
class SourceReader {
  private readonly facts = new Map<string, SourceFacts>();

  constructor(private readonly root: string) {}

  relativePath(file: string): string {
    return relative(this.root, file).split(sep).join('/');
  }

  /** The file and every project file it imports, transitively. */
  closure(entry: string): string[] {
    const seen = new Set<string>();
    const pending = [entry];
    for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
      if (seen.has(file)) continue;
      seen.add(file);
      pending.push(...this.read(file).imports);
    }
    return [...seen];
  }

  read(file: string): SourceFacts {
    const known = this.facts.get(file);
    if (known) return known;
    const facts = this.parse(file);
    this.facts.set(file, facts);
    return facts;
  }

  private parse(file: string): SourceFacts {
    const buffer = readFileSync(file);
    if (scriptKind(file) === undefined) {
      return { hash: sha256Hex(buffer), imports: [], mentions: () => false };
    }
    const text = buffer.toString('utf8');
    const tokens = sourceTokens(text, file);
    const source = parse(text, file);
    const imports = runtimeSpecifiers(source, this.relativePath(file))
      .map((specifier) => this.resolveImport(file, specifier))
      .filter((resolved) => resolved !== undefined);
    return {
      hash: sha256Hex(JSON.stringify(tokens)),
      imports,
      mentions: (name) => [`'${name}'`, `"${name}"`, `\`${name}\``].some((quoted) => tokens.includes(quoted)),
    };
  }

  /** The project file a specifier loads; `undefined` for a package or a Node built-in. */
  private resolveImport(from: string, specifier: string): string | undefined {
    if (!specifier.startsWith('.') && !isAbsolute(specifier)) return undefined;
    const base = resolve(dirname(from), specifier);
    const asTypeScript = base.replace(/\.(m|c)?js$/, '.$1ts');
    const candidates = [asTypeScript, base, `${base}.ts`, `${base}.tsx`, join(base, 'index.ts')];
    const found = candidates.find(isFile);
    const fromPath = this.relativePath(from);
    if (found === undefined) {
      throw new StageSourceError(
        `${fromPath} imports '${specifier}', which is not a file: tried ${candidates.map((c) => this.relativePath(c)).join(', ')}.`,
      );
    }
    // Packages are pinned by package-lock.json; their code is not the project's to fingerprint.
    if (found.split(sep).includes('node_modules')) return undefined;
    const inside = relative(this.root, found);
    if (inside.startsWith('..') || isAbsolute(inside)) {
      throw new StageSourceError(
        `${fromPath} imports '${specifier}' from outside the repository (${found}); ` +
          'the version guard only fingerprints files inside it.',
      );
    }
    return found;
  }
}

/** String specifiers of what a module loads at run time, in source order. */
function runtimeSpecifiers(source: ts.SourceFile, path: string): string[] {
  const specifiers: string[] = [];
  const literal = (node: ts.Node | undefined, what: string): void => {
    if (node !== undefined && ts.isStringLiteralLike(node)) {
      specifiers.push(node.text);
      return;
    }
    const { line } = source.getLineAndCharacterOfPosition(node?.getStart(source) ?? 0);
    throw new StageSourceError(
      `${path}:${line + 1} uses ${what} with a computed argument, so the version guard cannot tell which ` +
        'file it loads. Use a string literal.',
    );
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      if (node.importClause?.phaseModifier !== ts.SyntaxKind.TypeKeyword)
        literal(node.moduleSpecifier, 'import');
    } else if (ts.isExportDeclaration(node)) {
      if (!node.isTypeOnly && node.moduleSpecifier !== undefined)
        literal(node.moduleSpecifier, 'export from');
    } else if (ts.isImportEqualsDeclaration(node)) {
      if (!node.isTypeOnly && ts.isExternalModuleReference(node.moduleReference)) {
        literal(node.moduleReference.expression, 'import = require()');
      }
    } else if (ts.isCallExpression(node)) {
      if (node.expression.kind === ts.SyntaxKind.ImportKeyword) literal(node.arguments[0], 'import()');
      else if (ts.isIdentifier(node.expression) && node.expression.text === 'require') {
        literal(node.arguments[0], 'require()');
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return specifiers;
}

function parse(text: string, fileName: string): ts.SourceFile {
  return ts.createSourceFile(
    fileName,
    text,
    { languageVersion: ts.ScriptTarget.Latest, jsDocParsingMode: ts.JSDocParsingMode.ParseNone },
    true,
    scriptKind(fileName) ?? ts.ScriptKind.TS,
  );
}

function scriptKind(file: string): ts.ScriptKind | undefined {
  switch (extname(file)) {
    case '.ts':
    case '.mts':
    case '.cts':
      return ts.ScriptKind.TS;
    case '.tsx':
      return ts.ScriptKind.TSX;
    case '.js':
    case '.mjs':
    case '.cjs':
      return ts.ScriptKind.JS;
    case '.jsx':
      return ts.ScriptKind.JSX;
    default:
      return undefined;
  }
}

function isFile(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isFile() ?? false;
}

function sha256Hex(content: string | Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}

function sortKeys(record: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(
    Object.keys(record)
      .sort()
      .map((key) => [key, record[key]]),
  );
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
