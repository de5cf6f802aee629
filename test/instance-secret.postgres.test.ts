import { instanceSecretSuite } from './suites/instance-secret.ts';
import { postgresBackend } from './helpers/server.ts';

const backend = await postgresBackend({ redis: true });
await instanceSecretSuite(async () => backend)(backend.skip);
