import { federationSuite } from './suites/federation.ts';
import { sqliteBackend } from './helpers/server.ts';

federationSuite(sqliteBackend());
