import { adminApiSuite } from './suites/admin-api.ts';
import { sqliteBackend } from './helpers/server.ts';

adminApiSuite(sqliteBackend());
