import { pushSuite } from './suites/push.ts';
import { sqliteBackend } from './helpers/server.ts';

pushSuite(sqliteBackend());
