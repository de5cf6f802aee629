import { lockoutSuite } from './suites/lockout.ts';
import { postgresBackend } from './helpers/server.ts';

lockoutSuite(await postgresBackend({ redis: true }));
