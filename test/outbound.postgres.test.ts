import { outboundSuite } from './suites/outbound.ts';
import { postgresBackend } from './helpers/server.ts';

outboundSuite(await postgresBackend({ redis: true }));
