import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The node's version, from its package.json (dist/ and src/ both sit one level below it). */
export const NODE_VERSION: string = (
  JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }
).version;
