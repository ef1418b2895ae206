/**
 * Opens the dashboard in the user's default browser with the `open` package (xdg-open, `open` on
 * macOS, `start` on Windows, WSL and containers handled), kept out of the CLI bundle.
 */
import open from 'open';

export async function openBrowser(url: string): Promise<void> {
  const child = await open(url, { wait: false });
  // A missing opener (no desktop) reports through the child, not the promise: never crash on it.
  child.on('error', () => undefined);
  child.unref();
}
