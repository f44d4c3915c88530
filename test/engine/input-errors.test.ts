/**
 * What a refused input's message echoes: the value as JSON, cut to a readable length with a marker
 * that names the full length, and at most ten problems. The daily and backfill workflows' refusals of
 * 200 KB inputs are in test/integration/bad-input.test.ts.
 */
import { dateProblem, parseIsoDate } from '../../lambdas/engine/dates';
import { cut, echo, InvalidInputError } from '../../lambdas/engine/errors';

describe('Function: echo', () => {
  it('shows a short value whole, as JSON, and nothing for no value', () => {
    expect(echo('2026-02-30')).toBe('"2026-02-30"');
    expect(echo(['a', 'b'])).toBe('["a","b"]');
    expect(echo(undefined)).toBe('nothing');
    expect(echo('x'.repeat(98))).toBe(`"${'x'.repeat(98)}"`);
  });

  it('cuts a longer one to 100 characters, marked with its full length', () => {
    expect(echo('x'.repeat(99))).toBe(`"${'x'.repeat(99)}… [cut: 101 characters in all]`);
    expect(echo({ rows: Array.from({ length: 50_000 }, (_, i) => i) })).toMatch(
      /^\{"rows":\[0,1,2,.{70,90}… \[cut: 288,900 characters in all\]$/,
    );
  });

  it('never splits a character written as two UTF-16 units', () => {
    const shown = cut(`${'a'.repeat(99)}😀tail`);
    expect(shown).toBe(`${'a'.repeat(99)}… [cut: 105 characters in all]`);
  });
});

describe('Class: InvalidInputError', () => {
  it('keeps a 200 KB value, a 200 KB field name and 20,000 problems to a few short lines', () => {
    const error = new InvalidInputError([
      { field: 'date', value: '9'.repeat(200_000), accepted: 'a date' },
      { field: 'k'.repeat(200_000), value: true, accepted: 'no such field' },
      ...Array.from({ length: 20_000 }, (_, i) => ({ field: `f${i}`, value: i, accepted: 'nothing' })),
    ]);
    const lines = error.message.split('\n');
    expect(lines).toHaveLength(11);
    expect(lines[0]).toBe(
      `Invalid date: got "${'9'.repeat(99)}… [cut: 200,002 characters in all]; expected a date.`,
    );
    expect(lines[1]).toBe(
      `Invalid ${'k'.repeat(100)}… [cut: 200,000 characters in all]: got true; expected no such field.`,
    );
    expect(lines[10]).toBe('(and 19,992 more problems, 20,002 in all)');
    expect(error.message.length).toBeLessThan(1_000);
    expect(error.problems).toHaveLength(20_002);
  });
});

describe('Function: dateProblem', () => {
  it('states the rule that failed: a calendar date, or a year from 1900 on', () => {
    expect(dateProblem('2026-01-31')).toBeNull();
    expect(dateProblem('1900-01-01')).toBeNull();
    for (const value of ['2026-02-30', '26-1-1', '2026-13-01', 20260101, null]) {
      expect(dateProblem(value)).toBe('a real calendar date written as YYYY-MM-DD, e.g. 2026-01-31');
    }
    for (const value of ['0001-01-01', '1899-12-31', '0099-01-01']) {
      expect(dateProblem(value)).toBe(
        'a date in 1900 or later (YYYY-MM-DD): Hindsight takes no earlier dates',
      );
    }
    expect(() => parseIsoDate('0001-01-01', 'from')).toThrow(
      'Invalid from: got "0001-01-01"; expected a date in 1900 or later (YYYY-MM-DD): Hindsight takes no earlier dates.',
    );
  });
});
