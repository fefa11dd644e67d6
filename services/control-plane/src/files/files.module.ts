import { Module } from '@nestjs/common';
import { FileStreams } from './file-streams';
import { FilesController, UploadsController } from './files.controller';
import { FilesRepository } from './files.repository';
import { FilesService } from './files.service';
import { UploadHousekeeping } from './upload-housekeeping';
import { UploadLocks } from './upload-locker';
import { UploadsService } from './uploads.service';

/** Workspace files over HTTP (list, stat, versions, rename, move, delete, download) and tus uploads, relayed to nodes. */
@Module({
  controllers: [FilesController, UploadsController],
  providers: [
    FileStreams,
    FilesRepository,
    FilesService,
    UploadsService,
    UploadLocks,
    UploadHousekeeping,
  ],
})
export class FilesModule {}
