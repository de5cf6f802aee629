import { acrSuite } from './suites/acr.ts';
import { postgresBackend } from './helpers/server.ts';

acrSuite(await postgresBackend({ redis: true }));
