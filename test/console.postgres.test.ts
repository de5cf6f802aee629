import { consoleSuite } from './suites/console.ts';
import { postgresBackend } from './helpers/server.ts';

consoleSuite(await postgresBackend({ redis: true }));
