/**
 * HINDSIGHT_TODAY, the clock the README's transcripts are made on: it pins the CLI's day, keeps
 * ticking from noon of it, and refuses what is not a calendar date as a bad flag is refused.
 */
import { InvalidInputError } from '../../lambdas/engine/errors';
import { environmentClock } from '../../local/clock';

describe('HINDSIGHT_TODAY', () => {
  it('starts the clock at noon UTC of the day given', () => {
    // Act
    const now = environmentClock({ HINDSIGHT_TODAY: '2026-11-24' })();

    // Assess
    expect(now.toISOString().slice(0, 10)).toBe('2026-11-24');
    expect(Math.abs(now.getTime() - Date.parse('2026-11-24T12:00:00Z'))).toBeLessThan(60_000);
  });

  it('is the real clock when unset or empty', () => {
    // Act
    const unset = environmentClock({})();
    const empty = environmentClock({ HINDSIGHT_TODAY: '' })();

    // Assess
    for (const now of [unset, empty]) expect(Math.abs(now.getTime() - Date.now())).toBeLessThan(60_000);
  });

  it.each(['2026-02-30', '24.11.2026', 'tomorrow'])(
    'refuses %s, naming the variable and the form',
    (value) => {
      // Act
      const clock = environmentClock({ HINDSIGHT_TODAY: value });

      // Assess
      expect(clock).toThrow(InvalidInputError);
      expect(clock).toThrow(`HINDSIGHT_TODAY`);
      expect(clock).toThrow('a real calendar date written as YYYY-MM-DD');
    },
  );
});
