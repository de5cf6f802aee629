import { rolesSuite } from './suites/roles.ts';
import { postgresBackend } from './helpers/server.ts';

rolesSuite(await postgresBackend({ redis: true }));
