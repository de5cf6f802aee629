import { instanceSecretSuite, interruptedKeyFileRotation, keyFileRotation, sealedColumnsAreListed } from './suites/instance-secret.ts';
import { sqliteBackend } from './helpers/server.ts';

await instanceSecretSuite(async () => sqliteBackend())(false);
keyFileRotation();
interruptedKeyFileRotation();
sealedColumnsAreListed();
