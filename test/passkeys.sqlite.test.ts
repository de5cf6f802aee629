import { passkeySuite } from './suites/passkeys.ts';
import { sqliteBackend } from './helpers/server.ts';

passkeySuite(sqliteBackend());
