/**
 * Real-service test suites read their service address from the environment. Locally a missing address skips
 * the suite; with WACOFLOW_REQUIRE_SERVICES=1 (set by .ci/run) a missing address fails the run instead, so CI
 * never passes by silently skipping.
 */
export function serviceAddress(variable: 'WACOFLOW_KAFKA_BROKERS' | 'WACOFLOW_DATABASE_URL' | 'WACOFLOW_MOSQUITTO_URL'): string | undefined {
  const value = process.env[variable];
  if (!value && process.env.WACOFLOW_REQUIRE_SERVICES === '1') {
    throw new Error(`${variable} is not set but WACOFLOW_REQUIRE_SERVICES=1: start the services (npm run services -- up) and export it`);
  }
  return value || undefined;
}
