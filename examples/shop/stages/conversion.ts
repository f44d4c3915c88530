import { defineStage } from 'hindsight';

/** Of the day's sessions, how many came from visitors who ordered that day: it joins both branches. */
export const conversion = defineStage({
  name: 'conversion',
  version: 1,
  inputs: ['sessions', 'orders'],
  owns: ['conversion'],
  description: 'Sessions of the day, visitors among them who ordered, and the rate.',
  run: async ({ sql, date }) => {
    const { rowCount } = await sql.query(
      `INSERT INTO conversion (day, sessions, buyers, rate)
       SELECT $1::date, count(*), count(*) FILTER (WHERE bought),
              CASE WHEN count(*) = 0 THEN 0 ELSE round(count(*) FILTER (WHERE bought)::numeric / count(*), 4) END
       FROM (
         SELECT s.visitor, EXISTS (SELECT 1 FROM orders o WHERE o.day = s.day AND o.visitor = s.visitor) AS bought
         FROM sessions s WHERE s.day = $1::date
       ) AS per_visitor`,
      [date],
    );
    return rowCount;
  },
});
