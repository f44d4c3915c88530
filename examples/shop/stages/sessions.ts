import { defineStage } from 'hindsight';

/** One session per visitor and day, from the web events. */
export const sessions = defineStage({
  name: 'sessions',
  version: 1,
  inputs: ['web_events'],
  owns: ['sessions'],
  description: "Each visitor's session of the day: events, and whether it reached checkout.",
  run: async ({ sql, date }) => {
    const { rowCount } = await sql.query(
      `INSERT INTO sessions (day, visitor, events, reached_checkout)
       SELECT day, visitor, count(*), bool_or(kind = 'checkout')
       FROM web_events WHERE day = $1::date GROUP BY day, visitor`,
      [date],
    );
    return rowCount;
  },
});
