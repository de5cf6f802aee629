import { atRestSuite } from './suites/at-rest.ts';
import { sqliteBackend } from './helpers/server.ts';

atRestSuite(sqliteBackend());
