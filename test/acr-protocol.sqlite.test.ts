import { acrSuite } from './suites/acr.ts';
import { sqliteBackend } from './helpers/server.ts';

acrSuite(sqliteBackend());
