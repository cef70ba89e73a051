import { openPglite } from './pglite-driver.ts';
import { storeContract } from './store-contract.ts';

storeContract('PGlite (in memory)', () => openPglite());
