import { policySuite } from './suites/policies.ts';
import { postgresBackend } from './helpers/server.ts';

policySuite(await postgresBackend({ redis: true }));
