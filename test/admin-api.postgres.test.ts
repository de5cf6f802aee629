import { adminApiSuite } from './suites/admin-api.ts';
import { postgresBackend } from './helpers/server.ts';

adminApiSuite(await postgresBackend({ redis: true }));
