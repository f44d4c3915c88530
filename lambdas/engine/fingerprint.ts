import { HindsightError, InvalidInputError } from './errors';

/**
 * The version guard's rules, as plain data in and out: `hindsight.lock.json` records, per stage,
 * its version and a fingerprint of its code; comparing it with the code says whether a stage
 * changed without a version bump. Reading source and the lock file lives in `lib/version-guard.ts`.
 */

/** The command that records the code in the lock file, as a user types it. */
export const LOCK_COMMAND = 'npx hindsight lock';

/** What the lock file records for one stage. */
export interface LockedStage {
  readonly version: number;
  /** sha256 over `files` (path and content hash of each): changes when any of them changes. */
  readonly fingerprint: string;
  /** The stage's own module, repository-relative, e.g. `lambdas/stages/transform.ts`. */
  readonly module: string;
  /** Every project file the stage's code is made of (its module and what it imports), path → sha256 of its normalised source. */
  readonly files: Readonly<Record<string, string>>;
}

/** The content of `hindsight.lock.json`. */
export interface LockFile {
  readonly lockfileVersion: 1;
  readonly stages: Readonly<Record<string, LockedStage>>;
}

/** How one stage's code compares with the lock file. */
export type LockFinding =
  | { readonly kind: 'ok'; readonly stage: string; readonly version: number }
  /** Fails: what the stage computes may have changed, but past data would not be rebuilt. */
  | {
      readonly kind: 'code-changed-without-bump';
      readonly stage: string;
      readonly version: number;
      readonly module: string;
      /** The files that were added, removed or edited since the lock was written. */
      readonly changedFiles: readonly string[];
    }
  /** Allowed (a backfill rebuilds from this stage on); the lock needs updating. */
  | { readonly kind: 'bumped'; readonly stage: string; readonly from: number; readonly to: number }
  /** Fails: a version number would mean two different codes in the ledger. */
  | {
      readonly kind: 'version-decreased';
      readonly stage: string;
      readonly from: number;
      readonly to: number;
      readonly module: string;
    }
  /** Allowed; the lock needs updating. */
  | { readonly kind: 'new-stage'; readonly stage: string; readonly version: number }
  /** Allowed; the lock needs updating. */
  | { readonly kind: 'removed-stage'; readonly stage: string; readonly version: number };

/** `ok`: code and lock agree; `outdated`: allowed changes the lock does not record yet; `failed`: refused. */
export type LockVerdict = 'ok' | 'outdated' | 'failed';

/** `lock` was refused: a stage changed without a bump, or a version went down. */
export class LockRefusedError extends HindsightError {
  constructor(readonly findings: readonly LockFinding[]) {
    super(formatFindings(findings));
  }
}

/** Compares the code's lock (`computeLock`) with the recorded one; stages in pipeline order, then removed ones. */
export function checkLock(current: LockFile, recorded: LockFile | undefined): LockFinding[] {
  const before = recorded?.stages ?? {};
  const findings: LockFinding[] = Object.entries(current.stages).map(([stage, now]): LockFinding => {
    const was = before[stage];
    if (was === undefined) return { kind: 'new-stage', stage, version: now.version };
    if (now.version > was.version) return { kind: 'bumped', stage, from: was.version, to: now.version };
    if (now.version < was.version) {
      return { kind: 'version-decreased', stage, from: was.version, to: now.version, module: now.module };
    }
    if (now.fingerprint === was.fingerprint) return { kind: 'ok', stage, version: now.version };
    return {
      kind: 'code-changed-without-bump',
      stage,
      version: now.version,
      module: now.module,
      changedFiles: changedFiles(was.files, now.files),
    };
  });
  for (const [stage, was] of Object.entries(before)) {
    if (!(stage in current.stages)) findings.push({ kind: 'removed-stage', stage, version: was.version });
  }
  return findings;
}

/** Whether the findings refuse the code, ask for a lock update, or agree with the lock. */
export function lockVerdict(findings: readonly LockFinding[]): LockVerdict {
  if (findings.some(isFailure)) return 'failed';
  return findings.every((finding) => finding.kind === 'ok') ? 'ok' : 'outdated';
}

/** Failures first, each with its ways out; then what the next `lock` records. */
export function formatFindings(findings: readonly LockFinding[]): string {
  const failures = findings.filter(isFailure).map(describeFailure);
  const updates = findings.flatMap(describeUpdate);
  if (failures.length === 0 && updates.length === 0) {
    return `All ${findings.length} stages match hindsight.lock.json.`;
  }
  const lines = [...failures];
  if (updates.length > 0) {
    lines.push(
      failures.length === 0
        ? `hindsight.lock.json is out of date; record it with ${LOCK_COMMAND}:`
        : `Once that is fixed, ${LOCK_COMMAND} also records:`,
      ...updates.map((update) => `  ${update}`),
    );
  }
  return lines.join('\n');
}

/** What plain `lock` writes: the code's lock, unless a stage changed without a bump or went down a version. */
export function updateLock(recorded: LockFile | undefined, current: LockFile): LockFile {
  const findings = checkLock(current, recorded);
  if (lockVerdict(findings) === 'failed') throw new LockRefusedError(findings.filter(isFailure));
  return current;
}

/**
 * What `lock --accept STAGE` writes: the recorded lock with that stage's code taken as it is now,
 * its version unchanged. For a refactor that changes nothing the stage computes.
 */
export function acceptStage(recorded: LockFile | undefined, current: LockFile, stageName: string): LockFile {
  const now = current.stages[stageName];
  if (now === undefined) {
    throw InvalidInputError.of('stage', stageName, `one of ${Object.keys(current.stages).join(', ')}`);
  }
  const was = recorded?.stages[stageName];
  if (recorded === undefined || was === undefined) {
    throw InvalidInputError.of(
      'stage',
      stageName,
      `a stage hindsight.lock.json already records (${stageName} is new: ${LOCK_COMMAND} records it)`,
    );
  }
  if (was.version !== now.version) {
    throw InvalidInputError.of(
      'stage',
      stageName,
      `a stage whose version is unchanged (${stageName} went from ${was.version} to ${now.version}: ` +
        `${LOCK_COMMAND} records that)`,
    );
  }
  return { ...recorded, stages: { ...recorded.stages, [stageName]: now } };
}

function isFailure(finding: LockFinding): boolean {
  return finding.kind === 'code-changed-without-bump' || finding.kind === 'version-decreased';
}

function describeFailure(finding: LockFinding): string {
  switch (finding.kind) {
    case 'code-changed-without-bump':
      return [
        `Stage ${finding.stage} changed (${changedOrModule(finding.changedFiles, finding.module)}) ` +
          `but its version is still ${finding.version}.`,
        `  If results change: bump its version to ${finding.version + 1} in ${finding.module} — past dates will be ` +
          `rebuilt from ${finding.stage} on (hindsight plan shows which).`,
        `  If nothing it computes changes (a refactor): ${LOCK_COMMAND} --accept ${finding.stage}`,
      ].join('\n');
    case 'version-decreased':
      return [
        `Stage ${finding.stage}'s version went down from ${finding.from} to ${finding.to}.`,
        `  Versions only go up, so that one number never means two codes in the ledger: set it to ` +
          `${finding.from + 1} in ${finding.module} — past dates will be rebuilt from ${finding.stage} on.`,
      ].join('\n');
    default:
      return '';
  }
}

function describeUpdate(finding: LockFinding): string[] {
  switch (finding.kind) {
    case 'bumped':
      return [
        `${finding.stage}: version ${finding.from} → ${finding.to} (past dates will be rebuilt from ${finding.stage} on; hindsight plan shows which)`,
      ];
    case 'new-stage':
      return [`${finding.stage}: new stage at version ${finding.version}`];
    case 'removed-stage':
      return [`${finding.stage}: no longer in the pipeline`];
    default:
      return [];
  }
}

function changedOrModule(changed: readonly string[], module: string): string {
  return changed.length > 0 ? changed.join(', ') : module;
}

/** Files whose content hash differs, or that only one side has, sorted. */
function changedFiles(
  before: Readonly<Record<string, string>>,
  after: Readonly<Record<string, string>>,
): string[] {
  const paths = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...paths].filter((path) => before[path] !== after[path]).sort();
}
