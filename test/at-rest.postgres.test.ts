import { atRestSuite } from './suites/at-rest.ts';
import { postgresBackend } from './helpers/server.ts';

// PostgreSQL alone (every artifact in SQL), then PostgreSQL + Redis (short-lived ones in Redis).
atRestSuite(await postgresBackend());
atRestSuite(await postgresBackend({ redis: true }));
