/** WacoFlow wire protocol v1: pure schemas, topic names and the bin/window algebra. Imports no other folder. */
export * from './errors.ts';
export * from './time.ts';
export * from './measures.ts';
export * from './binning.ts';
export * from './topics.ts';
export * from './decode.ts';
export * from './v1/common.ts';
export * from './v1/sample.ts';
export * from './v1/bin.ts';
export * from './v1/heartbeat.ts';
export * from './v1/fleet-control.ts';
export * from './v1/window.ts';
export * from './v1/alert.ts';
export * from './v1/dead-letter.ts';
export * from './v1/station.ts';
export * from './bin-records.ts';
export * from './window-records.ts';
