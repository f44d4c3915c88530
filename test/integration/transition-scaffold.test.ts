import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scaffoldTransition, TRANSITIONS_MARKER } from '../../cli/transition-scaffold';
import { InvalidInputError } from '../../lambdas/engine/errors';
import { pipeline } from '../../pipeline/stages';

function copyOfTransitions(): string {
  const directory = mkdtempSync(join(tmpdir(), 'hindsight-scaffold-'));
  copyFileSync(
    join(__dirname, '..', '..', 'lambdas', 'transitions', 'index.ts'),
    join(directory, 'index.ts'),
  );
  return directory;
}

describe('Function: scaffoldTransition', () => {
  it('writes the next id for the stage’s next version and lists it above the marker', () => {
    const directory = copyOfTransitions();
    writeFileSync(join(directory, '0007_older.ts'), '');

    const created = scaffoldTransition(directory, pipeline, 'clear_scores', 'transform');

    expect(created).toMatchObject({ id: '0008_clear_scores', stage: 'transform', toVersion: 2 });
    const source = readFileSync(created.file, 'utf8');
    expect(source).toContain("id: '0008_clear_scores'");
    expect(source).toContain("stage: 'transform'");
    expect(source).toContain('toVersion: 2');
    const index = readFileSync(join(directory, 'index.ts'), 'utf8');
    expect(index).toContain("import { clearScores } from './0008_clear_scores';");
    expect(index.indexOf('clearScores,')).toBeLessThan(index.indexOf(TRANSITIONS_MARKER));
  });

  it.each([
    ['Clear-Scores', 'transform', 'Invalid name: got "Clear-Scores"; expected lower snake case'],
    ['clear_scores', 'cleanse', 'Invalid --stage: got "cleanse"; expected one of ingest, transform'],
  ])('refuses name %j with stage %j, writing nothing', (name, stage, message) => {
    const directory = copyOfTransitions();
    const before = readFileSync(join(directory, 'index.ts'), 'utf8');
    expect(() => scaffoldTransition(directory, pipeline, name, stage)).toThrow(InvalidInputError);
    expect(() => scaffoldTransition(directory, pipeline, name, stage)).toThrow(message);
    expect(readFileSync(join(directory, 'index.ts'), 'utf8')).toBe(before);
  });
});
