import { directorySuite } from './suites/directory.ts';
import { sqliteBackend } from './helpers/server.ts';

directorySuite(sqliteBackend());
