/** Every input driver, registered in one place: one line adds one. */
import { z } from 'zod';
import type { Input } from './input.ts';
import { CameraHttpConfigSchema } from './camera-http/config.ts';
import { cameraHttpInput } from './camera-http/driver.ts';
import { Ss105ConfigSchema } from './ss105-serial/config.ts';
import { Ss125ConfigSchema } from './ss125-serial/config.ts';
import { ss125Input } from './ss125-serial/driver.ts';
import { ss105Input } from './ss105-serial/driver.ts';
import { TmddHttpConfigSchema } from './tmdd-http/config.ts';
import { tmddHttpInput } from './tmdd-http/driver.ts';

export const InputConfigSchema = z.discriminatedUnion('driver', [TmddHttpConfigSchema, Ss105ConfigSchema, Ss125ConfigSchema, CameraHttpConfigSchema]);
export type InputConfig = z.infer<typeof InputConfigSchema>;

const DRIVERS: { [K in InputConfig['driver']]: (config: Extract<InputConfig, { driver: K }>) => Input } = {
  'tmdd-http': tmddHttpInput,
  'ss105-serial': (c) => ss105Input(c),
  'ss125-serial': (c) => ss125Input(c),
  'camera-http': cameraHttpInput,
};

export function createInput(config: InputConfig): Input {
  const make = DRIVERS[config.driver] as (c: InputConfig) => Input; // the union is keyed by driver above
  return make(config);
}
