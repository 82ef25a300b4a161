import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe } from 'vitest';
import { storageSuite } from './suites';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lernen-search-sqlite-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('SQLite file storage (WAL, BEGIN IMMEDIATE)', () => {
  storageSuite((name) => `sqlite:${path.join(tmp, `${name}.db`)}`, () => tmp);
});
