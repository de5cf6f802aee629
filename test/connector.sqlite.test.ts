import { connectorSuite } from './suites/connector.ts';
import { sqliteBackend } from './helpers/server.ts';

connectorSuite(sqliteBackend());
