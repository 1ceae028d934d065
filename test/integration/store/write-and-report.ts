// Child process for the kill -9 test: writes pods one after another and prints each
// acknowledged revision, until its parent kills it.
import { openLevelStore } from '../../../src/store/level-store.js';

const store = await openLevelStore(process.argv[2]);
for (let i = 0; ; i++) {
  const pod = await store.create('pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name: `p${i}`, namespace: 'default' }, spec: { containers: [] } });
  process.stdout.write(`${pod.metadata.name} ${pod.metadata.resourceVersion}\n`);
}
