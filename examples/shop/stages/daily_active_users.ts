import { defineStage } from 'hindsight';

/** Distinct visitors with a session over the 28 days ending on the date. */
export const dailyActiveUsers = defineStage({
  name: 'daily_active_users',
  version: 1,
  inputs: [{ stage: 'sessions', lookbackDays: 27 }],
  owns: ['daily_active_users'],
  description: 'Active users over the 28 days ending on the date.',
  run: async ({ sql, date, windowStarts }) => {
    const { rowCount } = await sql.query(
      `INSERT INTO daily_active_users (day, days_in_window, active_users)
       SELECT $1::date, count(DISTINCT day), count(DISTINCT visitor)
       FROM sessions WHERE day BETWEEN $2::date AND $1::date`,
      [date, windowStarts.sessions],
    );
    return rowCount;
  },
});
