import { protocolSuite } from './suites/protocol.ts';
import { sqliteBackend } from './helpers/server.ts';

protocolSuite(sqliteBackend());
