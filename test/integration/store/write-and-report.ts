// Child process for the kill -9 test: keeps 8 writes in flight (so batches hold several writes)
// and prints each acknowledged write as "name revision", until its parent kills it.
// Arguments: the store directory, then "sync" or "nosync".
import { openLevelStore } from '../../../src/store/level-store.js';

const store = await openLevelStore(process.argv[2], { sync: process.argv[3] !== 'nosync' });
let next = 0;
async function writer(): Promise<never> {
  for (;;) {
    const name = `p${next++}`;
    const pod = await store.create('pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, spec: { containers: [] } });
    process.stdout.write(`${name} ${pod.metadata.resourceVersion}\n`);
  }
}
await Promise.all(Array.from({ length: 8 }, writer));
