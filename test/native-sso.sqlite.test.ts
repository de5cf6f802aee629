import { nativeSsoSuite } from './suites/native-sso.ts';
import { sqliteBackend } from './helpers/server.ts';

nativeSsoSuite(sqliteBackend());
