import { readOwnWritesSuite } from './suites/read-own-writes.ts';
import { sqliteBackend } from './helpers/server.ts';

readOwnWritesSuite(sqliteBackend());
