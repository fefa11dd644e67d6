import { Global, Module } from '@nestjs/common';
import { CommandResults } from './command-results';
import { OutboxPublisher } from './outbox.publisher';
import { OutboxService } from './outbox.service';

@Global()
@Module({
  providers: [OutboxService, OutboxPublisher, CommandResults],
  exports: [OutboxService, CommandResults],
})
export class OutboxModule {}
