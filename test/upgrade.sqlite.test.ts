import { upgradeSuite } from './suites/upgrade.ts';

upgradeSuite('sqlite');
