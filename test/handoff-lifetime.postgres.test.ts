import { handoffLifetimeSuite } from './suites/handoff-lifetime.ts';
import { postgresBackend } from './helpers/server.ts';

handoffLifetimeSuite(await postgresBackend({ redis: true }));
