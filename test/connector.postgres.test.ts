import { connectorSuite } from './suites/connector.ts';
import { postgresBackend } from './helpers/server.ts';

connectorSuite(await postgresBackend({ redis: true }));
