/** Every input driver, registered in one place: one line adds one. */
import { z } from 'zod';
import type { Input } from './input.ts';
import { TmddHttpConfigSchema, type TmddHttpConfig } from './tmdd-http/config.ts';
import { tmddHttpInput } from './tmdd-http/driver.ts';

export const InputConfigSchema = z.discriminatedUnion('driver', [TmddHttpConfigSchema]);
export type InputConfig = z.infer<typeof InputConfigSchema>;

const DRIVERS: { [K in InputConfig['driver']]: (config: Extract<InputConfig, { driver: K }>) => Input } = {
  'tmdd-http': (c: TmddHttpConfig) => tmddHttpInput(c),
};

export function createInput(config: InputConfig): Input {
  return DRIVERS[config.driver](config);
}
