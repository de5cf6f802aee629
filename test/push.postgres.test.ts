import { pushSuite } from './suites/push.ts';
import { postgresBackend } from './helpers/server.ts';

pushSuite(await postgresBackend({ redis: true }));
