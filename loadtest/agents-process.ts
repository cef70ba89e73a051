/**
 * The load test's agents in a process of their own: takes DriveOptions over IPC, sends progress and then the
 * result back, and exits.
 */
import { driveAgents, type DriveOptions } from './agents.ts';

process.once('message', (o: DriveOptions) => {
  driveAgents(o, (progress) => process.send!({ progress })).then(
    (result) => process.send!({ result }, () => process.exit(0)),
    (err: unknown) => process.send!({ error: (err as Error).message }, () => process.exit(1)),
  );
});
