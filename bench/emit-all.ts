/**
 * Emits N events in slices of 2,000, letting the event loop run between slices as an application
 * would. Returns the process's largest resident-memory growth seen between slices (MiB, all
 * threads); `onSlice` sees the count emitted so far and the growth at that point.
 */
export async function emitAll(
  emit: (i: number) => void,
  n: number,
  onSlice?: (emitted: number, growthMiB: number) => void,
): Promise<number> {
  const rss0 = process.memoryUsage.rss();
  let peak = rss0;
  for (let i = 0; i < n; ) {
    const end = Math.min(n, i + 2000);
    for (; i < end; i++) emit(i);
    await new Promise<void>((r) => setImmediate(r));
    const rss = process.memoryUsage.rss();
    peak = Math.max(peak, rss);
    onSlice?.(i, (rss - rss0) / 2 ** 20);
  }
  return (peak - rss0) / 2 ** 20;
}
