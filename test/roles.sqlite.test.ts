import { rolesSuite } from './suites/roles.ts';
import { sqliteBackend } from './helpers/server.ts';

rolesSuite(sqliteBackend());
