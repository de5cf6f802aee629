import { passkeySuite } from './suites/passkeys.ts';
import { postgresBackend } from './helpers/server.ts';

passkeySuite(await postgresBackend({ redis: true }));
