/**
 * The socket lives in a short, owner-only directory outside the repo (see protocol/paths.ts). A
 * directory that is a symlink, belongs to someone else, or is writable by group or others is
 * refused: another user who controls it could have planted or could replace our socket (watchman's
 * verify_dir_ownership, Nx PR #36370). One that is merely readable by others is tightened to 0700,
 * which is safe because nobody else could have written into it.
 */
import { chmod, lstat, mkdir } from 'node:fs/promises';
import { OrchError } from '../errors.js';
import { MAX_SOCKET_PATH_BYTES } from '../../protocol/node/paths.js';

export async function prepareSocketDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const st = await lstat(dir);
  const uid = process.getuid?.() ?? st.uid;
  const refuse = (why: string): never => {
    throw new OrchError('DaemonUnavailable', `The socket directory ${dir} ${why}; set ORCH_SOCKET_DIR to a directory only you own.`, { dir });
  };
  if (st.isSymbolicLink()) refuse('is a symbolic link');
  if (!st.isDirectory()) refuse('is not a directory');
  if (st.uid !== uid) refuse(`belongs to uid ${st.uid}, not to you (uid ${uid})`);
  if ((st.mode & 0o022) !== 0) refuse(`is writable by other users (mode ${(st.mode & 0o777).toString(8)})`);
  if ((st.mode & 0o077) !== 0) {
    await chmod(dir, 0o700);
    const again = await lstat(dir);
    if ((again.mode & 0o077) !== 0) refuse('is open to other users and cannot be made 0700');
  }
}

export function checkSocketPathLength(socketPath: string): void {
  const bytes = Buffer.byteLength(socketPath);
  if (bytes > MAX_SOCKET_PATH_BYTES) {
    throw new OrchError(
      'DaemonUnavailable',
      `The socket path ${socketPath} is ${bytes} bytes, over the ${MAX_SOCKET_PATH_BYTES}-byte limit of Unix sockets; set ORCH_SOCKET_DIR to a shorter directory.`,
      { socketPath },
    );
  }
}
