/**
 * The load test's agents in a process of their own: takes DriveOptions over IPC; once every agent is connected it
 * says so and waits for `go` (the parent starts measuring CPU there); then sends progress and the result back,
 * and exits.
 */
import { driveAgents, type DriveOptions } from './agents.ts';

const go = (connect_s: number): Promise<void> =>
  new Promise((resolve) => {
    process.once('message', () => resolve());
    process.send!({ connected: connect_s });
  });

process.once('message', (o: DriveOptions) => {
  driveAgents(o, (progress) => process.send!({ progress }), go).then(
    (result) => process.send!({ result }, () => process.exit(0)),
    (err: unknown) => process.send!({ error: (err as Error).message }, () => process.exit(1)),
  );
});
