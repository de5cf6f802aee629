import { selfServiceSuite } from './suites/selfservice.ts';
import { postgresBackend } from './helpers/server.ts';

selfServiceSuite(await postgresBackend({ redis: true }));
