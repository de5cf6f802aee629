import { readOwnWritesSuite } from './suites/read-own-writes.ts';
import { postgresBackend } from './helpers/server.ts';

readOwnWritesSuite(await postgresBackend({ redis: true }));
