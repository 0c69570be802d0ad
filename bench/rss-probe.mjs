/**
 * Preloaded into every measured child with `node --import`: when the process
 * exits, writes its own getrusage() (ru_maxrss is the exact peak RSS, in kB)
 * to $BENCH_USAGE_FILE, so the parent does not depend on catching the peak
 * between two /proc samples.
 */
import { writeFileSync } from 'node:fs';

const file = process.env.BENCH_USAGE_FILE;
if (file) {
  process.on('exit', () => {
    try {
      writeFileSync(file, JSON.stringify(process.resourceUsage()));
    } catch {
      // The parent falls back to its /proc samples.
    }
  });
}
