import { Global, Module, type DynamicModule } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import pino, { type DestinationStream, type Logger } from 'pino';
import { requestIdFor } from './common/request-id';

export const ROOT_LOGGER = Symbol('RootLogger');

/** Paths that may hold secrets; pino replaces them before a line is written. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  '*.password',
  '*.token',
  '*.secret',
];

export function createRootLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'control-plane' },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    },
    destination ?? pino.destination(1),
  );
}

/**
 * Structured logs: every line written while handling an HTTP request carries its `reqId`, and
 * the same id travels in bridge envelopes as `requestId` to the node's logs.
 */
@Global()
@Module({})
export class LoggingModule {
  static forRoot(root: Logger): DynamicModule {
    return {
      module: LoggingModule,
      imports: [
        LoggerModule.forRoot({
          pinoHttp: {
            logger: root,
            genReqId: requestIdFor,
            customAttributeKeys: { reqId: 'requestId' },
            autoLogging: { ignore: (req) => req.url === '/healthz' || req.url === '/readyz' },
            serializers: {
              req: (req: { id: unknown; method: string; url: string }) => ({
                method: req.method,
                url: req.url,
              }),
            },
          },
        }),
      ],
      providers: [{ provide: ROOT_LOGGER, useValue: root }],
      exports: [ROOT_LOGGER],
    };
  }
}
