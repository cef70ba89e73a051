import { logContract } from './log-contract.ts';
import { MemoryLog } from './memory-log.ts';

logContract('in-process', () => new MemoryLog());
