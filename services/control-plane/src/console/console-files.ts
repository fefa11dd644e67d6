import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';

/**
 * Where the built web console is. The folder is read on each
 * request rather than once at boot, so that building the console (or deploying a new build)
 * needs no restart of the control plane.
 */
export class ConsoleFiles {
  private constructor(
    /** The folder holding index.html, or undefined when none could be found. */
    readonly root: string | undefined,
    /** How the folder was chosen, for the log and the "not built" page. */
    readonly source: string,
  ) {}

  /** CAUSEWAY_CONSOLE_DIR, else the dist folder of the installed @causeway/console package. */
  static locate(configured: string | undefined): ConsoleFiles {
    if (configured !== undefined)
      return new ConsoleFiles(resolve(configured), 'CAUSEWAY_CONSOLE_DIR');
    try {
      const manifest = require.resolve('@causeway/console/package.json');
      return new ConsoleFiles(join(dirname(manifest), 'dist'), 'the @causeway/console package');
    } catch {
      return new ConsoleFiles(undefined, 'the @causeway/console package (not installed)');
    }
  }

  /** The console's index.html, or undefined when the console was not built there. */
  async indexHtml(): Promise<Buffer | undefined> {
    if (this.root === undefined) return undefined;
    try {
      return await readFile(join(this.root, 'index.html'));
    } catch {
      return undefined;
    }
  }
}
