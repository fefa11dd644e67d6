import type { Request, Response } from 'express';
import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  Patch,
  Post,
  Query,
  Req,
  Res,
} from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiBody,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { z } from 'zod';
import { BRIDGE_METHODS } from '@causeway/contracts';
import { Caller, RequirePermission } from '../access/permission.decorator';
import { NotAudited } from '../audited-routes/audited.decorator';
import type { Principal } from '../access/principal';
import { ClientIp, clientOf } from '../common/client-info';
import { RequestId } from '../common/request-id';
import { parseInput } from '../common/validation';
import { fileIdSchema, fileQuerySchema, updateFileSchema, workspaceIdSchema } from './files.dto';
import { FilesService } from './files.service';
import { UploadsService } from './uploads.service';

const schema = (s: z.ZodType) => z.toJSONSchema(s, { io: 'output' }) as Record<string, unknown>;

@ApiTags('files')
@ApiBearerAuth()
@Controller('api/v1/workspaces/:ws/files')
export class FilesController {
  constructor(private readonly files: FilesService) {}

  @Get()
  @NotAudited('recorded on the node that holds the workspace (data.file.listed)')
  @RequirePermission('files.read')
  @ApiOperation({ summary: 'List the files directly in a folder (`?folder=/a/b`, default `/`)' })
  @ApiOkResponse({ schema: schema(BRIDGE_METHODS['files.list'].result) })
  list(
    @Param('ws') ws: string,
    @Query() query: unknown,
    @RequestId() requestId: string,
    @Caller() principal: Principal,
  ) {
    const { folder } = parseInput(fileQuerySchema, query, 'query');
    return this.files.list(
      { principal, requestId },
      parseInput(workspaceIdSchema, ws, 'workspace id'),
      folder,
    );
  }

  @Get(':file')
  @NotAudited('recorded on the node that holds the workspace (data.file.metadata_read)')
  @RequirePermission('files.read')
  @ApiOperation({ summary: "Read one file's description (current version)" })
  @ApiOkResponse({ schema: schema(BRIDGE_METHODS['files.stat'].result) })
  async stat(
    @Param('ws') ws: string,
    @Param('file') file: string,
    @Query() query: unknown,
    @RequestId() requestId: string,
    @Caller() principal: Principal,
  ) {
    const { folder } = parseInput(fileQuerySchema, query, 'query');
    const found = await this.files.stat(
      { principal, requestId },
      parseInput(workspaceIdSchema, ws, 'workspace id'),
      parseInput(fileIdSchema, file, 'file id'),
      folder,
    );
    return found.file;
  }

  @Get(':file/versions')
  @NotAudited('recorded on the node that holds the workspace (data.file.versions_listed)')
  @RequirePermission('files.read')
  @ApiOperation({ summary: "List a file's versions, oldest first" })
  @ApiOkResponse({ schema: schema(BRIDGE_METHODS['files.versions'].result) })
  versions(
    @Param('ws') ws: string,
    @Param('file') file: string,
    @Query() query: unknown,
    @RequestId() requestId: string,
    @Caller() principal: Principal,
  ) {
    const { folder } = parseInput(fileQuerySchema, query, 'query');
    return this.files.versions(
      { principal, requestId },
      parseInput(workspaceIdSchema, ws, 'workspace id'),
      parseInput(fileIdSchema, file, 'file id'),
      folder,
    );
  }

  @Get(':file/content')
  @RequirePermission('files.read')
  @ApiOperation({
    summary: 'Download a file (`?version=N` for an older version); `Range: bytes=…` gives 206',
  })
  async content(
    @Param('ws') ws: string,
    @Param('file') file: string,
    @Query() query: unknown,
    @Req() req: Request,
    @Res() res: Response,
    @RequestId() requestId: string,
    @Caller() principal: Principal,
    @ClientIp() ip: string | null,
  ): Promise<void> {
    const { folder, version } = parseInput(fileQuerySchema, query, 'query');
    await this.files.download(
      { principal, requestId, ip },
      parseInput(workspaceIdSchema, ws, 'workspace id'),
      parseInput(fileIdSchema, file, 'file id'),
      { folder, version, range: req.headers.range },
      res,
    );
  }

  @Patch(':file')
  @RequirePermission('files.write')
  @ApiOperation({ summary: 'Rename and/or move a file: `{ name?, folder? }`' })
  @ApiBody({ schema: schema(updateFileSchema) })
  @ApiOkResponse({ schema: schema(BRIDGE_METHODS['files.stat'].result) })
  update(
    @Param('ws') ws: string,
    @Param('file') file: string,
    @Query() query: unknown,
    @Body() body: unknown,
    @RequestId() requestId: string,
    @Caller() principal: Principal,
    @ClientIp() ip: string | null,
  ) {
    const { folder } = parseInput(fileQuerySchema, query, 'query');
    return this.files.update(
      { principal, requestId, ip },
      parseInput(workspaceIdSchema, ws, 'workspace id'),
      parseInput(fileIdSchema, file, 'file id'),
      parseInput(updateFileSchema, body, 'change'),
      folder,
    );
  }

  @Delete(':file')
  @HttpCode(204)
  @RequirePermission('files.write')
  @ApiOperation({ summary: 'Delete a file with all its versions' })
  @ApiNoContentResponse()
  async remove(
    @Param('ws') ws: string,
    @Param('file') file: string,
    @Query() query: unknown,
    @RequestId() requestId: string,
    @Caller() principal: Principal,
    @ClientIp() ip: string | null,
  ): Promise<void> {
    const { folder } = parseInput(fileQuerySchema, query, 'query');
    await this.files.remove(
      { principal, requestId, ip },
      parseInput(workspaceIdSchema, ws, 'workspace id'),
      parseInput(fileIdSchema, file, 'file id'),
      folder,
    );
  }
}

/**
 * The tus endpoint (https://tus.io; extensions creation, termination, expiration): POST creates an
 * upload, HEAD (served by the GET route, as Express does) says its offset, PATCH sends the next
 * bytes, DELETE cancels an unfinished upload.
 */
@ApiTags('files')
@ApiBearerAuth()
@NotAudited(
  'each tus request is recorded on the node (data.upload.started, part_received, status_read); the control plane records data.file.uploaded when an upload completes and data.upload.cancelled when one is cancelled',
)
@Controller('api/v1/workspaces/:ws/uploads')
export class UploadsController {
  constructor(private readonly uploads: UploadsService) {}

  @Post()
  @RequirePermission('files.write')
  @ApiOperation({
    summary: 'Create a tus upload (Upload-Length, Upload-Metadata: filename, folder)',
  })
  create(
    @Param('ws') ws: string,
    @Req() req: Request,
    @Res() res: Response,
    @RequestId() requestId: string,
    @Caller() principal: Principal,
  ): Promise<void> {
    return this.handle(ws, req, res, { principal, requestId });
  }

  @Get(':upload')
  @RequirePermission('files.write')
  @ApiOperation({ summary: 'HEAD: the offset of a tus upload' })
  status(
    @Param('ws') ws: string,
    @Req() req: Request,
    @Res() res: Response,
    @RequestId() requestId: string,
    @Caller() principal: Principal,
  ): Promise<void> {
    return this.handle(ws, req, res, { principal, requestId });
  }

  @Patch(':upload')
  @RequirePermission('files.write')
  @ApiOperation({
    summary: 'Send the next bytes of a tus upload (application/offset+octet-stream)',
  })
  write(
    @Param('ws') ws: string,
    @Req() req: Request,
    @Res() res: Response,
    @RequestId() requestId: string,
    @Caller() principal: Principal,
  ): Promise<void> {
    return this.handle(ws, req, res, { principal, requestId });
  }

  @Delete(':upload')
  @RequirePermission('files.write')
  @ApiOperation({
    summary:
      'Cancel an unfinished tus upload (termination): the node drops what it received; 204. A finished upload answers 409.',
  })
  terminate(
    @Param('ws') ws: string,
    @Req() req: Request,
    @Res() res: Response,
    @RequestId() requestId: string,
    @Caller() principal: Principal,
  ): Promise<void> {
    return this.handle(ws, req, res, { principal, requestId });
  }

  private handle(
    ws: string,
    req: Request,
    res: Response,
    caller: { principal: Principal; requestId: string },
  ): Promise<void> {
    return this.uploads.handle(
      { ...caller, ip: clientOf(req).ip },
      parseInput(workspaceIdSchema, ws, 'workspace id'),
      req,
      res,
    );
  }
}
