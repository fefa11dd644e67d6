import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { BROKER_USERS_OPTIONS, BrokerUsersService } from '../broker-users/broker-users.service';
import { CONFIG, type ControlPlaneConfig } from '../config/config';
import { TenantsModule } from '../tenants/tenants.module';
import { NodeHeartbeats } from './heartbeats';
import { NodeEntity } from './node.entity';
import { NodesController } from './nodes.controller';
import { NodesRepository } from './nodes.repository';
import { NodesService } from './nodes.service';

@Module({
  imports: [TypeOrmModule.forFeature([NodeEntity]), TenantsModule],
  controllers: [NodesController],
  providers: [
    NodesRepository,
    NodesService,
    NodeHeartbeats,
    {
      provide: BROKER_USERS_OPTIONS,
      inject: [CONFIG],
      useFactory: (config: ControlPlaneConfig) => config.brokerUsers,
    },
    BrokerUsersService,
  ],
  exports: [NodesService, NodesRepository],
})
export class NodesModule {}
