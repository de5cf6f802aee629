import { launcherSuite } from './suites/launcher.ts';
import { postgresBackend } from './helpers/server.ts';

launcherSuite(await postgresBackend({ redis: true }));
