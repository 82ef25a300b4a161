import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe } from 'vitest';
import { NO_POSTGRES, usePostgres } from './pg';
import { storageSuite } from './suites';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lernen-search-pg-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

// Skipped only when LERNEN_TEST_NO_POSTGRES=1 is set explicitly; missing binaries fail the suite.
describe.skipIf(NO_POSTGRES)('PostgreSQL storage (FOR UPDATE SKIP LOCKED)', () => {
  const url = usePostgres();
  storageSuite(() => url(), () => tmp);
});
