import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DeadLetterEntity } from './dead-letter.entity';
import { DeadLettersController } from './dead-letters.controller';
import { DeadLetterRecorder } from './dead-letters.recorder';
import { DeadLettersService } from './dead-letters.service';

@Module({
  imports: [TypeOrmModule.forFeature([DeadLetterEntity])],
  controllers: [DeadLettersController],
  providers: [DeadLetterRecorder, DeadLettersService],
  exports: [DeadLettersService],
})
export class DeadLettersModule {}
