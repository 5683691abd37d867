/**
 * The value of one sample in a Prometheus text page: `name` with exactly the
 * given labels (in any order), or undefined when there is none.
 */
export function sampleValue(
  page: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const wanted = Object.entries(labels)
    .map(([key, value]) => `${key}="${value}"`)
    .sort()
    .join(',')
  for (const line of page.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (!match || match[1] !== name) continue
    const labelText = (match[2] ?? '').split(',').filter(Boolean).sort().join(',')
    if (labelText === wanted) return Number(match[3])
  }
  return undefined
}
