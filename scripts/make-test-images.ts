// Writes the local images (the pause sandbox image and the two busybox test images) as one OCI
// image-layout tar, built from this machine's static busybox. Import it into a containerd with
//   ctr --address <containerd.sock> -n k8s.io images import --snapshotter overlayfs <tar>
// Usage: node --import tsx scripts/make-test-images.ts [out.tar] [--busybox /bin/busybox]
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { testImages } from '../src/cri/local-images.js';
import { writeOciArchive } from '../src/cri/oci-image.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { busybox: { type: 'string', default: '/bin/busybox' } },
});
const out = resolve(positionals[0] ?? 'skiff-test-images.tar');
const images = await testImages(values.busybox);
await writeOciArchive(images, out);
process.stdout.write(`${out}\n${images.map((i) => `  ${i.name}`).join('\n')}\n`);
