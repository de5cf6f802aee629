import { selfServiceSuite } from './suites/selfservice.ts';
import { sqliteBackend } from './helpers/server.ts';

selfServiceSuite(sqliteBackend());
