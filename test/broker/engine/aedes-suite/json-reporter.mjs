// A node:test reporter that writes one JSON line per top-level test: what run-suite.ts parses. It runs one
// file per process, so the file is known there (a test's own location would be timed-test.mjs, which calls test()).
export default async function* jsonReporter(source) {
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const data = event.data;
    if (data.nesting !== 0) continue;
    let status = event.type === 'test:pass' ? 'pass' : 'fail';
    if (data.skip !== undefined && data.skip !== false) status = 'skip';
    else if (data.todo !== undefined && data.todo !== false) status = 'todo';
    const error = data.details?.error;
    yield `${JSON.stringify({
      status,
      name: data.name,
      ...(status === 'fail' ? { error: String(error?.cause?.message ?? error?.message ?? error) } : {}),
    })}\n`;
  }
}
