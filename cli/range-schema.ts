/** `--from`/`--to` of `status`: two optional dates, in order (zod, loaded by the commands that check them). */
import { z } from 'zod';
import { isIsoDate } from '../lambdas/engine/dates';
import { isoDate } from '../lambdas/engine/schemas';

export const rangeSchema = z
  .strictObject({ from: z.optional(isoDate), to: z.optional(isoDate) })
  .superRefine((range, ctx) => {
    if (isIsoDate(range.from) && isIsoDate(range.to) && range.to < range.from) {
      ctx.addIssue({ code: 'custom', path: ['to'], message: `a date on or after --from (${range.from})` });
    }
  });
