import { Module } from '@nestjs/common';
import { CONFIG, type ControlPlaneConfig } from '../config/config';
import { ConsoleFiles } from './console-files';
import { ConsoleRoutes } from './console.routes';

/** Serves the web console at `/`, behind every API route (see ConsoleRoutes). */
@Module({
  providers: [
    {
      provide: ConsoleFiles,
      inject: [CONFIG],
      useFactory: (config: ControlPlaneConfig) => ConsoleFiles.locate(config.consoleDir),
    },
    ConsoleRoutes,
  ],
})
export class ConsoleModule {}
