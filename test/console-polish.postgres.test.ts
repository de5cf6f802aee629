import { consolePolishSuite } from './suites/console-polish.ts';
import { postgresBackend } from './helpers/server.ts';

consolePolishSuite(await postgresBackend({ redis: true }));
