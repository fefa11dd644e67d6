import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { TenantsModule } from '../tenants/tenants.module';
import { NodeHeartbeats } from './heartbeats';
import { NodeEntity } from './node.entity';
import { NodesController } from './nodes.controller';
import { NodesRepository } from './nodes.repository';
import { NodesService } from './nodes.service';

@Module({
  imports: [TypeOrmModule.forFeature([NodeEntity]), TenantsModule],
  controllers: [NodesController],
  providers: [NodesRepository, NodesService, NodeHeartbeats],
  exports: [NodesService, NodesRepository],
})
export class NodesModule {}
