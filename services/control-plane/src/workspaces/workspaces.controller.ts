import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBearerAuth,
  ApiBody,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { z } from 'zod';
import { Caller, RequirePermission } from '../access/permission.decorator';
import type { Principal } from '../access/principal';
import { RequestId } from '../common/request-id';
import { parseInput } from '../common/validation';
import {
  createWorkspaceSchema,
  updateWorkspaceSchema,
  workspaceListSchema,
  workspaceMemberListSchema,
  workspaceViewSchema,
  workspaceWithUsageSchema,
} from './workspaces.dto';
import { WorkspaceQuotaService } from './workspace-quota.service';
import { WorkspacesService } from './workspaces.service';
import { Audited } from '../audited-routes/audited.decorator';

const schema = (s: z.ZodType) => z.toJSONSchema(s, { io: 'output' }) as Record<string, unknown>;
const workspaceId = z.uuid({ error: 'a workspace id is a UUID' });

@ApiTags('workspaces')
@ApiBearerAuth()
@Controller('api/v1/tenants/:tenant/workspaces')
export class WorkspacesController {
  constructor(
    private readonly workspaces: WorkspacesService,
    private readonly quota: WorkspaceQuotaService,
  ) {}

  @Post()
  @HttpCode(202)
  @RequirePermission('workspaces.create')
  @ApiOperation({
    summary: "Create a workspace on one of the tenant's nodes",
    description:
      'Accepted at once (state "provisioning"); the node provisions it, even if the bridge is down right now.',
  })
  @ApiBody({ schema: schema(createWorkspaceSchema) })
  @ApiAcceptedResponse({ schema: schema(workspaceViewSchema) })
  create(
    @Param('tenant') tenant: string,
    @Body() body: unknown,
    @RequestId() requestId: string,
    @Caller() caller: Principal,
  ) {
    return this.workspaces.create(tenant, body, { requestId, subject: caller.subject });
  }

  @Get()
  @Audited('admin.workspace.listed')
  @RequirePermission('workspaces.read')
  @ApiOperation({
    summary: "List the tenant's workspaces",
    description: 'A signed-in user sees only the workspaces their roles reach.',
  })
  @ApiOkResponse({ schema: schema(workspaceListSchema) })
  async list(@Param('tenant') tenant: string, @Caller() caller: Principal) {
    const visible =
      caller.kind === 'user' ? caller.access.workspacesWith('workspaces.read') : 'all';
    return { items: await this.workspaces.list(tenant, visible) };
  }

  @Get(':ws/members')
  @Audited('admin.workspace.members_read')
  @RequirePermission('workspace.members.read')
  @ApiOperation({
    summary: 'Who has access to this workspace',
    description:
      'Tenant-wide role holders and the assignments on this workspace or its folders; nothing of other workspaces.',
  })
  @ApiOkResponse({ schema: schema(workspaceMemberListSchema) })
  async members(@Param('tenant') tenant: string, @Param('ws') ws: string) {
    return {
      items: await this.workspaces.members(tenant, parseInput(workspaceId, ws, 'workspace id')),
    };
  }

  @Get(':ws')
  @Audited('admin.workspace.read')
  @RequirePermission('workspaces.read')
  @ApiOperation({ summary: 'Read one workspace' })
  @ApiOkResponse({ schema: schema(workspaceViewSchema) })
  get(@Param('tenant') tenant: string, @Param('ws') ws: string) {
    return this.workspaces.get(tenant, parseInput(workspaceId, ws, 'workspace id'));
  }

  @Patch(':ws')
  @RequirePermission('workspaces.manage')
  @ApiOperation({
    summary: "Change a workspace's settings: its storage quota (`{ quotaBytes }`, null for none)",
    description:
      'The node applies the quota first and reports the bytes in use (files with all their versions, plus what unfinished uploads reserved). A quota below that keeps what is stored and refuses new uploads with 413 quota_exceeded.',
  })
  @ApiBody({ schema: schema(updateWorkspaceSchema) })
  @ApiOkResponse({ schema: schema(workspaceWithUsageSchema) })
  update(
    @Param('tenant') tenant: string,
    @Param('ws') ws: string,
    @Body() body: unknown,
    @RequestId() requestId: string,
    @Caller() caller: Principal,
  ) {
    return this.quota.update(tenant, parseInput(workspaceId, ws, 'workspace id'), body, {
      requestId,
      subject: caller.subject,
    });
  }

  @Delete(':ws')
  @HttpCode(202)
  @RequirePermission('workspaces.delete')
  @ApiOperation({
    summary: 'Delete a workspace',
    description:
      'Accepted at once (state "deleting"). The node destroys the workspace\'s keys, so its data can never be read again, then its files; the workspace then disappears, with its role assignments and invitations.',
  })
  @ApiAcceptedResponse({ schema: schema(workspaceViewSchema) })
  remove(
    @Param('tenant') tenant: string,
    @Param('ws') ws: string,
    @RequestId() requestId: string,
    @Caller() caller: Principal,
  ) {
    return this.workspaces.delete(tenant, parseInput(workspaceId, ws, 'workspace id'), {
      requestId,
      subject: caller.subject,
    });
  }
}
