import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiBody,
  ApiOkResponse,
  ApiOperation,
  ApiQuery,
  ApiTags,
} from '@nestjs/swagger';
import { z } from 'zod';
import { BRIDGE_METHODS } from '@causeway/contracts';
import { Caller, RequirePermission } from '../access/permission.decorator';
import type { Principal } from '../access/principal';
import { RequestId } from '../common/request-id';
import { parseInput } from '../common/validation';
import {
  listNodesQuerySchema,
  nodeIdParamSchema,
  nodeListSchema,
  nodeViewSchema,
  pingBodySchema,
} from './nodes.dto';
import { NodesService } from './nodes.service';
import { Audited } from '../audited-routes/audited.decorator';

const schema = (s: z.ZodType) => z.toJSONSchema(s, { io: 'output' }) as Record<string, unknown>;

@ApiTags('nodes')
@ApiBearerAuth()
@Controller('api/v1/nodes')
export class NodesController {
  constructor(private readonly nodes: NodesService) {}

  @Get()
  @Audited('admin.node.listed')
  @RequirePermission('nodes.read')
  @ApiOperation({ summary: 'List nodes with their online/offline state and last heartbeat' })
  @ApiQuery({
    name: 'tenant',
    required: false,
    description: 'Only the nodes of this tenant (its identifier)',
  })
  @ApiOkResponse({ schema: schema(nodeListSchema) })
  async list(@Query() query: unknown) {
    const { tenant } = parseInput(listNodesQuerySchema, query, 'query');
    return { items: await this.nodes.list(tenant) };
  }

  @Get(':node')
  @Audited('admin.node.read')
  @RequirePermission('nodes.read')
  @ApiOperation({ summary: 'Read one node' })
  @ApiOkResponse({ schema: schema(nodeViewSchema) })
  get(@Param('node') node: string) {
    return this.nodes.get(parseInput(nodeIdParamSchema, node, 'node id'));
  }

  @Post(':node/ping')
  @Audited('admin.node.pinged')
  @HttpCode(200)
  @RequirePermission('nodes.ping')
  @ApiOperation({ summary: 'Send a ping over the service bridge and wait for the answer' })
  @ApiBody({ required: false, schema: schema(pingBodySchema) })
  @ApiOkResponse({ schema: schema(BRIDGE_METHODS.ping.result.extend({ roundTripMs: z.number() })) })
  ping(
    @Param('node') node: string,
    @Body() body: unknown,
    @RequestId() requestId: string,
    @Caller() caller: Principal,
  ) {
    const { echo } = parseInput(pingBodySchema, body ?? {}, 'ping request');
    return this.nodes.ping(parseInput(nodeIdParamSchema, node, 'node id'), echo, {
      requestId,
      subject: caller.subject,
    });
  }

  @Post(':node/revoke')
  @Audited('admin.node.revoked')
  @HttpCode(200)
  @RequirePermission('nodes.revoke')
  @ApiOperation({
    summary:
      'Revoke a node at once: its broker user is deleted, its connections closed, its messages refused',
  })
  @ApiOkResponse({ schema: schema(nodeViewSchema) })
  revoke(@Param('node') node: string) {
    return this.nodes.revoke(parseInput(nodeIdParamSchema, node, 'node id'));
  }

  @Get(':node/info')
  @Audited('admin.node.info_read')
  @RequirePermission('nodes.ping')
  @ApiOperation({ summary: 'Ask the node for its version, host and uptime' })
  @ApiOkResponse({ schema: schema(BRIDGE_METHODS['node.info'].result) })
  info(@Param('node') node: string, @RequestId() requestId: string, @Caller() caller: Principal) {
    return this.nodes.info(parseInput(nodeIdParamSchema, node, 'node id'), {
      requestId,
      subject: caller.subject,
    });
  }
}
