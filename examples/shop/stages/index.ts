import { conversion } from './conversion';
import { dailyActiveUsers } from './daily_active_users';
import { orders } from './orders';
import { revenueByCountry } from './revenue_by_country';
import { sessions } from './sessions';
import { webEvents } from './web_events';

/** In graph order: every stage after the stages it reads. */
export const stages = [webEvents, orders, sessions, dailyActiveUsers, revenueByCountry, conversion];
