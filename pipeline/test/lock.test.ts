/**
 * The example's lock file: hindsight.lock.json at the repository root records the code of the
 * example's stages (pipeline/stages), so it must match them as they are.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  checkLock,
  computeLock,
  formatFindings,
  LOCK_FILE_NAME,
  lockVerdict,
  readLockFile,
  serialiseLock,
} from '../../cli/version-guard';
import { pipeline } from '../index';

const REPO = join(__dirname, '..', '..');

describe('The example pipeline', () => {
  it('ships a hindsight.lock.json that matches its stages', () => {
    // Act
    const computed = computeLock(pipeline, { root: REPO, stagesDirectory: 'pipeline/stages' });
    const recorded = readLockFile(join(REPO, LOCK_FILE_NAME));
    const findings = checkLock(computed, recorded);

    // Assess
    expect(formatFindings(findings)).toBe(`All ${pipeline.stages.length} stages match hindsight.lock.json.`);
    expect(lockVerdict(findings)).toBe('ok');
    expect(readFileSync(join(REPO, LOCK_FILE_NAME), 'utf8')).toBe(serialiseLock(computed));
  });
});
