import { nativeSsoSuite } from './suites/native-sso.ts';
import { postgresBackend } from './helpers/server.ts';

nativeSsoSuite(await postgresBackend({ redis: true }));
