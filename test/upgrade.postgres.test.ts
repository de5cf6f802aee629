import { upgradeSuite } from './suites/upgrade.ts';

upgradeSuite('postgres');
