import { Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { Caller, RequirePermission } from '../access/permission.decorator';
import type { Principal } from '../access/principal';
import { parseInput } from '../common/validation';
import { DeadLettersService } from './dead-letters.service';
import { Audited } from '../audited-routes/audited.decorator';

const listQuery = z.strictObject({
  node: z.uuid().optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
const idParam = z.uuid({ error: 'a dead letter id is a UUID' });

@ApiTags('dead letters')
@ApiBearerAuth()
@Controller('api/v1/admin/dead-letters')
export class DeadLettersController {
  constructor(private readonly deadLetters: DeadLettersService) {}

  @Get()
  @Audited('admin.dead_letter.listed')
  @RequirePermission('dead-letters.read')
  @ApiOperation({
    summary: 'List messages the bridge could not deliver, newest first, with their reason',
  })
  @ApiQuery({ name: 'node', required: false })
  @ApiQuery({ name: 'limit', required: false })
  async list(@Query() query: unknown) {
    const { node, limit } = parseInput(listQuery, query, 'query');
    return { items: await this.deadLetters.list({ limit, ...(node ? { nodeId: node } : {}) }) };
  }

  @Get(':id')
  @Audited('admin.dead_letter.read')
  @RequirePermission('dead-letters.read')
  @ApiOperation({ summary: 'Inspect one dead letter: headers, reason, body' })
  get(@Param('id') id: string) {
    return this.deadLetters.get(parseInput(idParam, id, 'dead letter id'));
  }

  @Post(':id/replay')
  @Audited('admin.dead_letter.replayed')
  @HttpCode(200)
  @RequirePermission('dead-letters.replay')
  @ApiOperation({ summary: 'Send a dead letter again to the node queue it came from' })
  replay(@Param('id') id: string, @Caller() caller: Principal) {
    return this.deadLetters.replay(parseInput(idParam, id, 'dead letter id'), caller);
  }
}
