import { protocolSuite } from './suites/protocol.ts';
import { postgresBackend } from './helpers/server.ts';

protocolSuite(await postgresBackend({ redis: true }));
