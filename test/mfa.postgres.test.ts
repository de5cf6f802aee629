import { mfaSuite } from './suites/mfa.ts';
import { postgresBackend } from './helpers/server.ts';

mfaSuite(await postgresBackend({ redis: true }));
