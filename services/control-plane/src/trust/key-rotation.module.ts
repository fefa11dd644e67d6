import { Module } from '@nestjs/common';
import { NodesModule } from '../nodes/nodes.module';
import { KeyRotation } from './key-rotation';
import { SigningKeysController } from './signing-keys.controller';

@Module({
  imports: [NodesModule],
  controllers: [SigningKeysController],
  providers: [KeyRotation],
  exports: [KeyRotation],
})
export class KeyRotationModule {}
