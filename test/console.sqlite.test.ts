import { consoleSuite } from './suites/console.ts';
import { sqliteBackend } from './helpers/server.ts';

consoleSuite(sqliteBackend());
