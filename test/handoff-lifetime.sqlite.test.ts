import { handoffLifetimeSuite } from './suites/handoff-lifetime.ts';
import { sqliteBackend } from './helpers/server.ts';

handoffLifetimeSuite(sqliteBackend());
