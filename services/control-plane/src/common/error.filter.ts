import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { ArgumentsHost, Catch, HttpException, type ExceptionFilter } from '@nestjs/common';
import type { Response } from 'express';
import { PinoLogger } from 'nestjs-pino';
import { ERROR_CATALOGUE, type ErrorCode } from '@causeway/contracts';
import { asCausewayError } from './domain-errors';
import { requestIdOf } from './request-id';

/** The body of every error answer: `{ code, message, requestId }` (and `errorId` for a 500). */
export interface ErrorBody {
  code: ErrorCode;
  message: string;
  requestId: string;
  errorId?: string;
  details?: Record<string, unknown>;
}

const HTTP_STATUS_CODES: Record<number, ErrorCode> = {
  400: 'validation_failed',
  401: 'unauthenticated',
  403: 'forbidden',
  404: 'not_found',
  409: 'conflict',
  413: 'payload_too_large',
};

/**
 * The one place where errors become HTTP answers. Typed errors (CausewayError, or a domain error
 * through asCausewayError) keep their code and sentence;
 * anything else is a 500 that shows the caller an error id only, while the log has the rest.
 */
@Catch()
export class ErrorFilter implements ExceptionFilter {
  constructor(private readonly logger: PinoLogger) {
    logger.setContext('ErrorFilter');
  }

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const req = http.getRequest<IncomingMessage & { id?: unknown }>();
    const res = http.getResponse<Response>();
    const requestId = requestIdOf(req);
    const [status, body] = this.toBody(exception, requestId);
    res.status(status).json(body);
  }

  private toBody(exception: unknown, requestId: string): [number, ErrorBody] {
    const typed = asCausewayError(exception);
    if (typed) {
      const body: ErrorBody = { code: typed.code, message: typed.message, requestId };
      if (typed.details) body.details = typed.details;
      return [typed.status, body];
    }
    if (exception instanceof HttpException && exception.getStatus() < 500) {
      const status = exception.getStatus();
      const code = HTTP_STATUS_CODES[status] ?? 'validation_failed';
      const message =
        status === 400
          ? 'The request could not be read: its body is not valid JSON or a parameter is malformed.'
          : ERROR_CATALOGUE[code].message;
      return [status, { code, message, requestId }];
    }
    const errorId = randomUUID();
    this.logger.error({ err: exception, errorId, requestId }, 'unhandled error');
    return [
      500,
      {
        code: 'internal_error',
        message: `${ERROR_CATALOGUE.internal_error.message} Quote error id ${errorId}.`,
        requestId,
        errorId,
      },
    ];
  }
}
