// Images a node makes for itself from the host's static busybox: the pod sandbox (pause) image the
// agent imports at startup, and the busybox images tests run. No registry is involved; names are
// fully qualified because CRI would otherwise expand them and try to pull.
import { PassThrough } from 'node:stream';
import { importImage } from './image-import.js';
import { buildLayer, busyboxRootfs, writeOciArchive, type OciImage } from './oci-image.js';
import type { CriRuntime } from './runtime.js';

/** The sandbox image Skiff configures as containerd's sandbox_image. */
export const PAUSE_IMAGE = 'docker.io/skiff/pause:3.9';
/** busybox with `sh` as its command, like the Docker Hub image. */
export const TEST_IMAGE = 'docker.io/library/busybox:1.36';
/** The same files with a different config (env SKIFF_IMAGE_VARIANT=b): a second version for rollouts. */
export const TEST_IMAGE_B = 'docker.io/library/busybox:1.36-b';

const PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

// PID 1 has no default signal actions, so the pause process traps TERM and INT to exit at
// once; sleeping in the background keeps `wait` interruptible by those signals.
const PAUSE_SCRIPT = "trap 'exit 0' TERM INT; while :; do sleep 86400 & wait $!; done";

function pauseWith(layer: Buffer): OciImage {
  return {
    name: PAUSE_IMAGE,
    layers: [layer],
    config: { entrypoint: ['/bin/sh', '-c', PAUSE_SCRIPT], env: [PATH_ENV], workingDir: '/', labels: { 'io.skiff.image': 'pause' } },
  };
}

/** The pause image: busybox sh sleeping until SIGTERM or SIGINT. */
export async function pauseImage(busyboxPath?: string): Promise<OciImage> {
  return pauseWith(await buildLayer(busyboxRootfs(busyboxPath)));
}

/** The pause image and the two busybox test images, sharing one layer. */
export async function testImages(busyboxPath?: string): Promise<OciImage[]> {
  const layer = await buildLayer(busyboxRootfs(busyboxPath));
  return [
    pauseWith(layer),
    { name: TEST_IMAGE, layers: [layer], config: { cmd: ['sh'], env: [PATH_ENV] } },
    { name: TEST_IMAGE_B, layers: [layer], config: { cmd: ['sh'], env: [PATH_ENV, 'SKIFF_IMAGE_VARIANT=b'] } },
  ];
}

/**
 * Makes sure the containerd at `address` has the pause image, building and importing it when
 * missing; returns whether it imported. Runs at agent startup, before the first pod.
 */
export async function ensurePauseImage(
  runtime: CriRuntime,
  address: string,
  opts: { snapshotter?: string; busyboxPath?: string } = {},
): Promise<boolean> {
  if (await runtime.imageStatus({ image: PAUSE_IMAGE })) return false;
  const archive = new PassThrough();
  const written = writeOciArchive([await pauseImage(opts.busyboxPath)], archive);
  const [imported] = await Promise.all([importImage(address, archive, { snapshotter: opts.snapshotter }), written]);
  if (!imported.includes(PAUSE_IMAGE)) throw new Error(`importing ${PAUSE_IMAGE} into containerd at ${address} imported ${imported.join(', ') || 'nothing'}`);
  return true;
}
