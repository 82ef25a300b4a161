import { afterAll, beforeAll, inject } from 'vitest';
import { NO_POSTGRES, startPostgres, type PgServer } from './pg-setup';

export { NO_POSTGRES };

/**
 * The URL of a PostgreSQL server for this test file: the globalSetup server when vitest runs
 * test/search/pg-setup.ts, else a private one started in beforeAll and stopped in afterAll.
 */
export function usePostgres(): () => string {
  let url = '';
  let own: PgServer | null = null;
  beforeAll(async () => {
    let provided: string | undefined;
    try { provided = inject('lernenPgUrl'); } catch { provided = undefined; }
    if (provided) { url = provided; return; }
    own = await startPostgres();
    url = own.url;
  }, 90_000);
  afterAll(async () => { await own?.stop(); });
  return () => {
    if (!url) throw new Error('PostgreSQL server not started');
    return url;
  };
}
