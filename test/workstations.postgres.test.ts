import { workstationSuite } from './suites/workstations.ts';
import { postgresBackend } from './helpers/server.ts';

workstationSuite(await postgresBackend({ redis: true }));
