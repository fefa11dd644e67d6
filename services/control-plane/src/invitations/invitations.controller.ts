import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiBody,
  ApiCreatedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { z } from 'zod';
import { Caller, RequirePermission } from '../access/permission.decorator';
import type { Principal } from '../access/principal';
import { parseInput } from '../common/validation';
import {
  createInvitationSchema,
  createdInvitationSchema,
  invitationListSchema,
  invitationViewSchema,
} from './invitations.dto';
import { InvitationsService } from './invitations.service';
import { Audited } from '../audited-routes/audited.decorator';

const schema = (s: z.ZodType) => z.toJSONSchema(s, { io: 'output' }) as Record<string, unknown>;
const workspaceId = z.uuid({ error: 'a workspace id is a UUID' });

@ApiTags('invitations')
@ApiBearerAuth()
@Controller('api/v1/tenants/:tenant')
export class InvitationsController {
  constructor(private readonly invitations: InvitationsService) {}

  @Post('workspaces/:ws/invitations')
  @HttpCode(201)
  @RequirePermission('invitations.manage')
  @ApiOperation({
    summary: 'Invite a partner to a workspace with a role',
    description:
      'The role must be assignable on a workspace and you must hold all its permissions there. Creates the partner account if the address is new, and emails the invitation when a mail relay is configured. Unused after 14 days, the invitation stops giving access.',
  })
  @ApiBody({ schema: schema(createInvitationSchema) })
  @ApiCreatedResponse({ schema: schema(createdInvitationSchema) })
  create(
    @Param('tenant') tenant: string,
    @Param('ws') ws: string,
    @Body() body: unknown,
    @Caller() caller: Principal,
  ) {
    return this.invitations.create(
      tenant,
      parseInput(workspaceId, ws, 'workspace id'),
      body,
      caller,
    );
  }

  @Get('invitations')
  @Audited('access.invitation.listed')
  @RequirePermission('invitations.manage')
  @ApiOperation({ summary: "List the tenant's invitations with their state" })
  @ApiOkResponse({ schema: schema(invitationListSchema) })
  async list(@Param('tenant') tenant: string) {
    return { items: await this.invitations.list(tenant) };
  }

  @Delete('invitations/:id')
  @RequirePermission('invitations.manage')
  @ApiOperation({
    summary: 'Revoke an invitation: the partner loses the role at once',
  })
  @ApiOkResponse({ schema: schema(invitationViewSchema) })
  revoke(@Param('tenant') tenant: string, @Param('id') id: string, @Caller() caller: Principal) {
    return this.invitations.revoke(tenant, id, caller.subject);
  }
}
