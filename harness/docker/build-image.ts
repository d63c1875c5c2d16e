/**
 * Builds an image on the engine from some files of a folder, with host
 * networking (the engines session-lab sets up have no bridge network), and
 * reports the build's own error (testcontainers' builder swallows it).
 */
import { dockerClient } from './engine.js';

export interface BuildImageOptions {
  /** The build context folder. */
  context: string;
  /** The files (or folders) of `context` to send, relative to it; the Dockerfile among them. */
  files: string[];
  /** The Dockerfile, relative to `context`. */
  dockerfile: string;
  /** NAME:TAG to give the image. */
  tag: string;
  buildArgs?: Record<string, string>;
}

export async function buildImage({ context, files, dockerfile, tag, buildArgs = {} }: BuildImageOptions): Promise<void> {
  const dockerode = (await dockerClient()).container.dockerode;
  const stream = await dockerode.buildImage(
    { context, src: files },
    { t: tag, dockerfile, buildargs: buildArgs, networkmode: 'host', rm: true, forcerm: true },
  );
  await new Promise<void>((resolve, reject) => {
    dockerode.modem.followProgress(stream, (error: Error | null, output: { error?: string }[]) => {
      const failed = error?.message ?? output.find((line) => line.error)?.error;
      if (failed) reject(new Error(failed.trim()));
      else resolve();
    });
  });
}
