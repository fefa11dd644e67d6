import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Logger as NestPinoLogger } from 'nestjs-pino';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AppModule, type AppModuleOptions } from './app.module';
import { requestIdFor } from './common/request-id';

/** Builds the control plane (used by main.ts and by the tests, so both run the same app). */
export async function createControlPlane(
  options: AppModuleOptions,
): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(options), {
    bufferLogs: true,
    // Fail with an exception the caller handles, never process.exit from inside the framework.
    abortOnError: false,
    // Registered below, after the request id, so that even a malformed body gets an id.
    bodyParser: false,
  });
  app.useLogger(app.get(NestPinoLogger));
  app.disable('x-powered-by');
  // Which peers may name the client in X-Forwarded-For (CAUSEWAY_TRUST_PROXY); req.ip is then
  // the address allow-lists, throttling and the audit trail see.
  app.set('trust proxy', options.config.trustProxy);
  app.use((req: IncomingMessage, res: ServerResponse, next: () => void) => {
    requestIdFor(req, res);
    next();
  });
  app.useBodyParser('json', { limit: '1mb' });
  // SAML responses arrive as an HTML form post.
  app.useBodyParser('urlencoded', { extended: false, limit: '1mb' });
  app.enableShutdownHooks();
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Causeway control plane')
      .setDescription(
        'Hybrid-cloud federation broker API. Errors answer { code, message, requestId }.',
      )
      .setVersion('v1')
      .addBearerAuth()
      .build(),
  );
  SwaggerModule.setup('api/docs', app, document, { jsonDocumentUrl: 'api/docs/openapi.json' });
  return app;
}
