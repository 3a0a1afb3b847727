// Preloaded into our broker by `bench/broker --alloc-profile DIR` (node --import). SIGUSR2 starts V8's sampling heap
// profiler, counting objects already collected too (so it measures allocation, not what stays live); the next
// SIGUSR2 stops it and writes ALLOC_PROFILE_FILE (a .heapprofile for Chrome DevTools) and ALLOC_PROFILE_FILE.json
// ({ bytes }: the estimated bytes allocated in between). Plain JavaScript: the broker runs compiled, without tsx.
import inspector from 'node:inspector';
import { writeFileSync } from 'node:fs';
import process from 'node:process';

const file = process.env.ALLOC_PROFILE_FILE;
const session = new inspector.Session();
session.connect();
let sampling = false;

process.on('SIGUSR2', () => {
  if (!sampling) {
    sampling = true;
    session.post('HeapProfiler.startSampling', {
      samplingInterval: 1024,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
    return;
  }
  sampling = false;
  session.post('HeapProfiler.stopSampling', (error, result) => {
    if (error || !file) return;
    let bytes = 0;
    const walk = (node) => {
      bytes += node.selfSize;
      for (const child of node.children) walk(child);
    };
    walk(result.profile.head);
    writeFileSync(file, JSON.stringify(result.profile));
    writeFileSync(`${file}.json`, JSON.stringify({ bytes }));
  });
});
