import { Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBearerAuth,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { z } from 'zod';
import { Caller, RequirePermission } from '../access/permission.decorator';
import type { Principal } from '../access/principal';
import { ClientIp } from '../common/client-info';
import { RequestId } from '../common/request-id';
import { parseInput } from '../common/validation';
import { keyStatusSchema, rotationJobSchema, workspaceIdSchema } from './workspace-keys.dto';
import { WorkspaceKeysService } from './workspace-keys.service';
import { Audited } from '../audited-routes/audited.decorator';

const schema = (s: z.ZodType) => z.toJSONSchema(s, { io: 'output' }) as Record<string, unknown>;

@ApiTags('workspace keys')
@ApiBearerAuth()
@Controller('api/v1/tenants/:tenant/workspaces/:ws/keys')
export class WorkspaceKeysController {
  constructor(private readonly keys: WorkspaceKeysService) {}

  @Get()
  @Audited('admin.workspace.key_status_read')
  @RequirePermission('keys.read')
  @ApiOperation({
    summary: "Read a workspace's key status",
    description:
      'Active master key version, when it was made, the rotation period the node holds and the recent re-wrap jobs.',
  })
  @ApiOkResponse({ schema: schema(keyStatusSchema) })
  status(
    @Param('tenant') tenant: string,
    @Param('ws') ws: string,
    @RequestId() requestId: string,
    @Caller() principal: Principal,
  ) {
    return this.keys.status(
      { principal, requestId },
      tenant,
      parseInput(workspaceIdSchema, ws, 'workspace id'),
    );
  }

  @Post('rotate')
  @HttpCode(202)
  @RequirePermission('keys.rotate')
  @ApiOperation({
    summary: "Rotate a workspace's master key now",
    description:
      'The new key version is active at once; the answer is the re-wrap job, which runs on on the node. Follow it with GET …/keys.',
  })
  @ApiAcceptedResponse({ schema: schema(rotationJobSchema) })
  rotate(
    @Param('tenant') tenant: string,
    @Param('ws') ws: string,
    @RequestId() requestId: string,
    @ClientIp() ip: string | null,
    @Caller() principal: Principal,
  ) {
    return this.keys.rotate(
      { principal, requestId, ip },
      tenant,
      parseInput(workspaceIdSchema, ws, 'workspace id'),
    );
  }
}
