import { instanceSecretSuite, twoNodeRotation } from './suites/instance-secret.ts';
import { postgresBackend } from './helpers/server.ts';

const backend = await postgresBackend({ redis: true });
await instanceSecretSuite(async () => backend)(backend.skip);
twoNodeRotation('change notices through Redis', () => postgresBackend({ redis: true }));
twoNodeRotation('change notices through PostgreSQL', () => postgresBackend());
