import { federationSuite } from './suites/federation.ts';
import { postgresBackend } from './helpers/server.ts';

federationSuite(await postgresBackend({ redis: true }));
