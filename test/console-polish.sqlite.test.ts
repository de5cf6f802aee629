import { consolePolishSuite } from './suites/console-polish.ts';
import { sqliteBackend } from './helpers/server.ts';

consolePolishSuite(sqliteBackend());
