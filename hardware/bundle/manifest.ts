/** The bundle manifest lives with its reader, the agent's updater; the build and flash import it from here too. */
export * from '../../edge-agent/update/manifest.ts';
