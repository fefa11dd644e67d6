import {
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import { Clock } from '../common/clock';
import { FilesRepository } from './files.repository';

const SWEEP_EVERY_MS = 10 * 60_000;

/**
 * Deletes upload records past their `expires_at` (seven days after creation): unfinished ones,
 * whose bytes the node drops on its own sweep, and finished ones, which only answered repeated
 * requests for the upload URL. tus already answers 410 for an expired upload, so a late sweep
 * lets nothing through.
 */
@Injectable()
export class UploadHousekeeping implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly repository: FilesRepository,
    private readonly clock: Clock,
    private readonly logger: PinoLogger,
  ) {
    logger.setContext('UploadHousekeeping');
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      this.sweep().catch((err: unknown) => this.logger.warn({ err }, 'upload sweep failed'));
    }, SWEEP_EVERY_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** One sweep at the clock's now (or `at`); returns how many records went. */
  async sweep(at: Date = this.clock.now()): Promise<number> {
    const deleted = await this.repository.deleteExpiredUploads(at);
    if (deleted > 0) this.logger.info({ deleted }, 'expired upload records deleted');
    return deleted;
  }
}
