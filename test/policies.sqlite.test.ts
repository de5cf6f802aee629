import { policySuite } from './suites/policies.ts';
import { sqliteBackend } from './helpers/server.ts';

policySuite(sqliteBackend());
