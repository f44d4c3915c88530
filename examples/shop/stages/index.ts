import { conversion } from './conversion';
import { dailyActiveUsers } from './daily-active-users';
import { orders } from './orders';
import { revenueByCountry } from './revenue-by-country';
import { sessions } from './sessions';
import { webEvents } from './web-events';

/** In graph order: every stage after the stages it reads. */
export const stages = [webEvents, orders, sessions, dailyActiveUsers, revenueByCountry, conversion];
