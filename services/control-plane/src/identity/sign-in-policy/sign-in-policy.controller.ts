import { Body, Controller, Get, Param, Put } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Caller, RequirePermission } from '../../access/permission.decorator';
import type { Principal } from '../../access/principal';
import { SignInPolicyService } from './sign-in-policy.service';
import { Audited } from '../../audited-routes/audited.decorator';

@ApiTags('sign-in')
@Controller('api/v1/tenants/:tenant/sign-in-policy')
export class SignInPolicyController {
  constructor(private readonly policies: SignInPolicyService) {}

  @Get()
  @Audited('config.sign_in_policy.read')
  @ApiBearerAuth()
  @RequirePermission('sign-in-policy.manage')
  @ApiOperation({
    summary: 'Whether passwords and emailed codes are allowed, and a second factor required',
  })
  get(@Param('tenant') tenant: string) {
    return this.policies.get(tenant);
  }

  @Put()
  @ApiBearerAuth()
  @RequirePermission('sign-in-policy.manage')
  @ApiOperation({ summary: 'Change the sign-in policy (only the settings sent change)' })
  update(@Param('tenant') tenant: string, @Body() body: unknown, @Caller() caller: Principal) {
    return this.policies.update(tenant, body, caller.subject);
  }
}
