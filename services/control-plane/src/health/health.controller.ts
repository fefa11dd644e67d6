import { Controller, Get, Inject, ServiceUnavailableException } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import {
  HealthCheckService,
  HealthIndicatorService,
  TypeOrmHealthIndicator,
} from '@nestjs/terminus';
import type { AmqpConnectionManager } from 'amqp-connection-manager';
import { CausewayError } from '@causeway/contracts';
import { Public } from '../access/permission.decorator';
import { NotAudited } from '../audited-routes/audited.decorator';
import { AMQP_CONNECTION } from '../bridge/bridge.module';

@ApiTags('health')
@NotAudited('health checks read nothing of a tenant and are asked every few seconds')
@Controller()
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly database: TypeOrmHealthIndicator,
    private readonly indicators: HealthIndicatorService,
    @Inject(AMQP_CONNECTION) private readonly broker: AmqpConnectionManager,
  ) {}

  /** Liveness: the process answers. Dependencies are readiness, not liveness. */
  @Get('healthz')
  @Public()
  live() {
    return { status: 'ok' };
  }

  /** Readiness: the database answers and the broker connection is up. */
  @Get('readyz')
  @Public()
  async ready() {
    try {
      const result = await this.health.check([
        () => this.database.pingCheck('database', { timeout: 2000 }),
        () => {
          const check = this.indicators.check('broker');
          return this.broker.isConnected() ? check.up() : check.down({ message: 'not connected' });
        },
      ]);
      return { status: 'ok', checks: result.details };
    } catch (error) {
      if (error instanceof ServiceUnavailableException) {
        const response = error.getResponse() as { details?: Record<string, unknown> };
        const failing = Object.entries(response.details ?? {})
          .filter(([, v]) => (v as { status?: string }).status !== 'up')
          .map(([k]) => k);
        throw new CausewayError(
          'not_ready',
          `The service is not ready: ${failing.join(' and ') || 'a dependency'} not reachable.`,
          { checks: response.details },
        );
      }
      throw error;
    }
  }
}
