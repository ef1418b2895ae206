// Removes the run's socket directory (see jest-global-setup.mjs).
import { rmSync } from 'node:fs';

export default function teardown() {
  const dir = process.env.ORCH_TEST_SOCKET_DIR;
  if (dir && dir.startsWith('/tmp/orch-sock-')) rmSync(dir, { recursive: true, force: true });
}
