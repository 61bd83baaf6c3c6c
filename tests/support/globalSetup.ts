/**
 * In CI the PostgreSQL suites must run, never skip silently: without TEST_DATABASE_URL the run fails here.
 */
export default function setup(): void {
  if (process.env.CI === 'true' && !process.env.TEST_DATABASE_URL) {
    throw new Error('CI=true but TEST_DATABASE_URL is not set: the PostgreSQL suites would be skipped');
  }
}
