import { outboundSuite } from './suites/outbound.ts';
import { sqliteBackend } from './helpers/server.ts';

outboundSuite(sqliteBackend());
