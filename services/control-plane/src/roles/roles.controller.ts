import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { Caller, RequirePermission } from '../access/permission.decorator';
import type { Principal } from '../access/principal';
import { AccessExplainService } from './access-explain.service';
import { createAssignmentSchema, createRoleSchema, createUserSchema } from './roles.dto';
import { RolesService } from './roles.service';
import { UsersAdminService } from './users-admin.service';
import { Audited } from '../audited-routes/audited.decorator';

const schema = (s: z.ZodType) => z.toJSONSchema(s, { io: 'input' }) as Record<string, unknown>;

@ApiTags('roles')
@ApiBearerAuth()
@Controller('api/v1/tenants/:tenant')
export class RolesController {
  constructor(
    private readonly roles: RolesService,
    private readonly explainer: AccessExplainService,
  ) {}

  @Get('roles')
  @Audited('config.role.listed')
  @RequirePermission('roles.read')
  @ApiOperation({ summary: "The six built-in roles and the tenant's custom roles" })
  listRoles(@Param('tenant') tenant: string) {
    return this.roles.listRoles(tenant);
  }

  @Post('roles')
  @RequirePermission('roles.manage')
  @ApiOperation({
    summary: 'Create a custom role from a template (a subset of its permissions)',
    description: 'You must hold every permission of the new role on the whole tenant.',
  })
  @ApiBody({ schema: schema(createRoleSchema) })
  createRole(@Param('tenant') tenant: string, @Body() body: unknown, @Caller() caller: Principal) {
    return this.roles.createRole(tenant, body, caller);
  }

  @Delete('roles/:role')
  @HttpCode(204)
  @RequirePermission('roles.manage')
  @ApiOperation({ summary: 'Delete a custom role and all its assignments' })
  async deleteRole(
    @Param('tenant') tenant: string,
    @Param('role') role: string,
    @Caller() caller: Principal,
  ): Promise<void> {
    await this.roles.deleteRole(tenant, role, caller);
  }

  @Get('role-assignments')
  @Audited('access.role.assignments_listed')
  @RequirePermission('roles.read')
  @ApiOperation({ summary: 'Role assignments (filters: user, group, workspace)' })
  listAssignments(@Param('tenant') tenant: string, @Query() query: unknown) {
    return this.roles.listAssignments(tenant, query);
  }

  @Post('role-assignments')
  @RequirePermission('roles.assign')
  @ApiOperation({
    summary: 'Assign a role to a user or an SSO group on the tenant, a workspace or a folder',
    description: 'You must hold every permission of the role on that scope yourself.',
  })
  @ApiBody({ schema: schema(createAssignmentSchema) })
  assign(@Param('tenant') tenant: string, @Body() body: unknown, @Caller() caller: Principal) {
    return this.roles.assign(tenant, body, caller);
  }

  @Delete('role-assignments/:id')
  @HttpCode(204)
  @RequirePermission('roles.assign')
  @ApiOperation({ summary: 'Remove a role assignment (it stops working at the next request)' })
  async unassign(
    @Param('tenant') tenant: string,
    @Param('id') id: string,
    @Caller() caller: Principal,
  ): Promise<void> {
    await this.roles.unassign(tenant, id, caller);
  }

  @Get('access/explain')
  @Audited('access.role.explained')
  @RequirePermission('roles.read')
  @ApiOperation({
    summary: 'Why a user has or lacks a permission (query: user, permission, workspace, folder)',
  })
  explain(@Param('tenant') tenant: string, @Query() query: unknown) {
    return this.explainer.explain(tenant, query);
  }
}

@ApiTags('users')
@ApiBearerAuth()
@Controller('api/v1/tenants/:tenant/users')
export class UsersAdminController {
  constructor(private readonly users: UsersAdminService) {}

  @Get()
  @Audited('admin.user.listed')
  @RequirePermission('users.read')
  @ApiOperation({ summary: "The tenant's users and partners" })
  list(@Param('tenant') tenant: string) {
    return this.users.list(tenant);
  }

  @Post()
  @RequirePermission('users.manage')
  @ApiOperation({ summary: 'Add a user (or a partner, kind "partner")' })
  @ApiBody({ schema: schema(createUserSchema) })
  create(@Param('tenant') tenant: string, @Body() body: unknown, @Caller() caller: Principal) {
    return this.users.create(tenant, body, caller);
  }

  @Post(':user/disable')
  @HttpCode(200)
  @RequirePermission('users.manage')
  @ApiOperation({ summary: 'Disable a user and sign them out everywhere' })
  disable(
    @Param('tenant') tenant: string,
    @Param('user') user: string,
    @Caller() caller: Principal,
  ) {
    return this.users.disable(tenant, user, caller);
  }

  @Post(':user/enable')
  @HttpCode(200)
  @RequirePermission('users.manage')
  @ApiOperation({ summary: 'Enable a disabled user again' })
  enable(
    @Param('tenant') tenant: string,
    @Param('user') user: string,
    @Caller() caller: Principal,
  ) {
    return this.users.enable(tenant, user, caller);
  }
}
