import { Controller, Get, HttpCode, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequirePermission } from '../access/permission.decorator';
import { RequestId } from '../common/request-id';
import { KeyRotation } from './key-rotation';
import { SigningKeysService } from './signing-keys.service';
import { Audited } from '../audited-routes/audited.decorator';

@ApiTags('signing keys')
@ApiBearerAuth()
@Controller('api/v1/admin/signing-keys')
export class SigningKeysController {
  constructor(
    private readonly keys: SigningKeysService,
    private readonly rotation: KeyRotation,
  ) {}

  @Get()
  @Audited('config.signing_key.listed')
  @RequirePermission('signing-keys.read')
  @ApiOperation({ summary: "The control plane's delegation signing keys (public ids and states)" })
  async list() {
    return { items: await this.keys.list() };
  }

  @Post('rotate')
  @Audited('config.signing_key.rotated')
  @HttpCode(200)
  @RequirePermission('signing-keys.rotate')
  @ApiOperation({
    summary: 'Rotate the delegation signing key: announce, activate, retire; no request fails',
  })
  rotate(@RequestId() requestId: string) {
    return this.rotation.rotate(requestId);
  }
}
