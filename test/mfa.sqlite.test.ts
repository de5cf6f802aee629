import { mfaSuite } from './suites/mfa.ts';
import { sqliteBackend } from './helpers/server.ts';

mfaSuite(sqliteBackend());
