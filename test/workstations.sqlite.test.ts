import { workstationSuite } from './suites/workstations.ts';
import { sqliteBackend } from './helpers/server.ts';

workstationSuite(sqliteBackend());
