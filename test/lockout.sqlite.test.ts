import { lockoutSuite } from './suites/lockout.ts';
import { sqliteBackend } from './helpers/server.ts';

lockoutSuite(sqliteBackend());
