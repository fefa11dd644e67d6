import type { NextFunction, Request, Response, Router } from 'express';
import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { join, sep } from 'node:path';
import serveStatic from 'serve-static';
import { PinoLogger } from 'nestjs-pino';
import { CONFIG, type ControlPlaneConfig } from '../config/config';
import { ConsoleFiles } from './console-files';

/**
 * First path segments that belong to the API and the service endpoints. An unknown path under
 * them goes on to the API's JSON 404, never to the console's page: a client that mistyped a
 * route must not receive HTML with a 200.
 */
export const RESERVED_PREFIXES = ['api', 'auth', 'healthz', 'readyz', 'metrics'] as const;

/**
 * The console's policy: only its own scripts, styles and API. No inline script or style is
 * allowed, so injected markup cannot run; the page cannot be framed (clickjacking).
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Vite names every file under /assets after a hash of its content: it never changes. */
const IMMUTABLE = 'public, max-age=31536000, immutable';

function pageHeaders(res: Response): void {
  res.setHeader('Content-Security-Policy', CONSOLE_CSP);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Referrer-Policy', 'no-referrer');
  // Always revalidated, so that a new build's asset names reach browsers at once.
  res.setHeader('Cache-Control', 'no-cache');
  res.type('html');
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] ?? c);

function notBuiltPage(files: ConsoleFiles): string {
  const where =
    files.root === undefined
      ? `No console folder was found through ${files.source}.`
      : `There is no index.html in ${files.root} (from ${files.source}).`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Causeway: console not built</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><main><h1>The web console is not built</h1>
<p>${escapeHtml(where)}</p>
<p>Build it at the repository root with <code>npm run build</code> (or only the console:
<code>npm run -w @causeway/console build</code>), or set <code>CAUSEWAY_CONSOLE_DIR</code> to the
folder that holds a built console. No restart is needed after building.</p>
<p>The API works meanwhile: <a href="/api/docs">API reference</a>.</p></main></body></html>
`;
}

/**
 * Serves the web console (apps/console): its built files, and index.html for every other page
 * path so that the app's own addresses (`/workspaces/…`, `/sign-in/second-factor`) load.
 *
 * Registered on Express in onModuleInit, which Nest calls after it has registered every
 * controller's routes and before its not-found handler: the console is reached only by GETs no
 * API route answered, whatever order modules load in. Not a controller, so the access guard and
 * the audit interceptor never see these requests; they read no tenant data.
 */
@Injectable()
export class ConsoleRoutes implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly files: ConsoleFiles,
    private readonly logger: PinoLogger,
    @Inject(CONFIG) private readonly config: ControlPlaneConfig,
  ) {
    logger.setContext('Console');
  }

  async onModuleInit(): Promise<void> {
    // The operator CLI starts the application without an HTTP server: nothing to serve.
    const adapter = this.adapterHost.httpAdapter as HttpAdapterHost['httpAdapter'] | null;
    if (!adapter) return;
    const router = adapter.getInstance<Router>();
    const built = this.builtFiles();
    router.get('/{*path}', (req: Request, res: Response, next: NextFunction) => {
      const first = req.path.split('/')[1] ?? '';
      if ((RESERVED_PREFIXES as readonly string[]).includes(first)) {
        next();
        return;
      }
      const page = (error?: unknown) => {
        if (error) {
          next(error);
          return;
        }
        this.page(req, res, next).catch((e: unknown) => {
          this.logger.error({ err: e }, 'could not serve the console page');
          if (!res.headersSent)
            res.status(500).type('text').send('The console could not be served.');
        });
      };
      // index.html is only ever answered as the page, with the page's headers.
      if (built === undefined || req.path === '/index.html') page();
      else built(req, res, page);
    });
    if ((await this.files.indexHtml()) === undefined) {
      this.logger.warn(
        { dir: this.files.root, source: this.files.source },
        'the web console is not built: / answers 503 until it is (npm run build)',
      );
    } else {
      this.logger.info({ dir: this.files.root, url: `${this.config.publicUrl}/` }, 'web console');
    }
  }

  /**
   * The build's files (serve-static: paths are confined to the folder, dot-files ignored), read
   * from disk at each request so a new build needs no restart. A file it does not have falls
   * through to the page.
   */
  private builtFiles(): ReturnType<typeof serveStatic> | undefined {
    const root = this.files.root;
    if (root === undefined) return undefined;
    const assets = join(root, 'assets') + sep;
    return serveStatic(root, {
      index: false,
      redirect: false,
      dotfiles: 'ignore',
      fallthrough: true,
      cacheControl: false,
      setHeaders: (res, path) => {
        res.setHeader('X-Content-Type-Options', 'nosniff');
        res.setHeader('Cache-Control', path.startsWith(assets) ? IMMUTABLE : 'no-cache');
      },
    });
  }

  /** index.html for an app path; a missing file (a path with an extension) is a 404. */
  private async page(req: Request, res: Response, next: NextFunction): Promise<void> {
    // A missing script or image is a 404, not the page: HTML in its place only confuses.
    if (/\.[A-Za-z0-9]{1,8}$/.test(req.path) && req.path !== '/index.html') {
      next();
      return;
    }
    const html = await this.files.indexHtml();
    pageHeaders(res);
    if (html === undefined) {
      res.status(503).setHeader('Retry-After', '60');
      res.send(notBuiltPage(this.files));
      return;
    }
    res.status(200).send(html);
  }
}
