import { launcherSuite } from './suites/launcher.ts';
import { sqliteBackend } from './helpers/server.ts';

launcherSuite(sqliteBackend());
