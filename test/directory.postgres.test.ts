import { directorySuite } from './suites/directory.ts';
import { postgresBackend } from './helpers/server.ts';

directorySuite(await postgresBackend({ redis: true }));
