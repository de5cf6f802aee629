import { instanceSecretSuite, keyFileRotation } from './suites/instance-secret.ts';
import { sqliteBackend } from './helpers/server.ts';

await instanceSecretSuite(async () => sqliteBackend())(false);
keyFileRotation();
