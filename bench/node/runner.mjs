// Node.js runner: the `queen-mq` npm package on the scenarios of bench/run.py.
// Usage: node bench/node/runner.mjs SCENARIO '{"url": "...", "n": 20000}'
// Prints one JSON line. When the package is not installed it says so in that line.
import { randomUUID } from 'node:crypto'

const BATCH = 100
const TEXT = 'lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor '.repeat(2)
const payload = (i) => ({ id: i, kind: 'order.created', customer: `c-${String(i % 997).padStart(4, '0')}`, amount: i % 1000, note: TEXT.slice(0, 120) })

const scenario = process.argv[2]
const params = JSON.parse(process.argv[3] || '{}')
const url = params.url || process.env.QUEEN_URL || 'http://127.0.0.1:6632'
const out = (r) => process.stdout.write(JSON.stringify(r) + '\n')

let Queen
try {
  ({ Queen } = await import('queen-mq'))
} catch (e) {
  out({ error: 'the queen-mq npm package is not installed (npm install in bench/node): ' + e.message })
  process.exit(0)
}
console.log = (...a) => process.stderr.write(a.join(' ') + '\n')

const pct = (xs, q) => { if (!xs.length) return null; const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.round(q * (s.length - 1)))] }
function meter () {
  const m = { lat: [] }
  m.start = () => { m.c0 = process.cpuUsage(); m.w0 = process.hrtime.bigint() }
  m.stop = () => { const c = process.cpuUsage(m.c0); m.cpu = (c.user + c.system) / 1e6; m.wall = Number(process.hrtime.bigint() - m.w0) / 1e9 }
  const r = (x, d = 4) => x == null ? null : Math.round(x * 10 ** d) / 10 ** d
  m.result = (n, extra = {}) => ({
    messages: n, wall_s: r(m.wall), cpu_s: r(m.cpu), msgs_per_s: r(n / m.wall, 1), cpu_ms_per_1000: r(m.cpu * 1e6 / n, 3),
    msgs_per_cpu_s: r(n / m.cpu, 1), p50_ms: r(pct(m.lat, 0.5)), p99_ms: r(pct(m.lat, 0.99)),
    peak_rss_mb: process.resourceUsage().maxRSS / 1024, ...extra
  })
  return m
}
const batches = (n) => { const b = []; for (let i = 0; i < n; i += BATCH) b.push(Array.from({ length: BATCH }, (_, j) => ({ data: payload(i + j) }))); return b }

const q = new Queen({ url })
const name = `bench-${scenario}-node-${process.pid}`
if (!scenario.startsWith('responder')) await q.queue(name).create()

async function push (inflight) {
  const work = batches(params.n); await q.queue(name).push(work.pop())
  const m = meter(); m.start()
  await Promise.all(Array.from({ length: inflight }, async (_, k) => {
    for (let i = k; i < work.length; i += inflight) { const t = performance.now(); await q.queue(name).push(work[i]); m.lat.push(performance.now() - t) }
  }))
  m.stop(); return m.result(work.length * BATCH, { inflight })
}
async function prefill (n, parts = 1) {
  await Promise.all(batches(n).map((b, k) => q.queue(name).partition(`p${k % parts}`).push(b)))
}
const run = {
  push1: () => push(1), push8: () => push(8), responder1: () => push(1), responder8: () => push(8),
  async buffered () {
    const m = meter(); m.start()
    for (let i = 0; i < params.n; i++) await q.queue(name).buffer({ messageCount: BATCH, timeMillis: 100 }).push([{ data: payload(i) }])
    await q.flushAllBuffers(); m.stop(); return m.result(params.n)
  },
  async pop_ack () {
    await prefill(params.n); let got = 0; const m = meter(); m.start()
    while (got < params.n) {
      const t = performance.now(); const msgs = await q.queue(name).batch(BATCH).wait(false).pop()
      if (!msgs.length) break
      await q.ack(msgs); m.lat.push(performance.now() - t); got += msgs.length
    }
    m.stop(); return m.result(got)
  },
  async consume () {
    const c = params.concurrency || 4; await prefill(params.n, c); let seen = 0; const m = meter(); m.start()
    await q.queue(name).concurrency(c).batch(BATCH).limit(params.n).idleMillis(300).timeoutMillis(300).consume(async (msgs) => { seen += Array.isArray(msgs) ? msgs.length : 1 })
    m.stop(); return m.result(seen, { concurrency: c })
  },
  async latency () {
    const rounds = params.rounds || 300; const L = { push: [], pop: [], ack: [] }; const m = meter(); m.start()
    for (let i = 0; i < rounds; i++) {
      const t0 = performance.now(); await q.queue(name).push([{ data: payload(i), transactionId: randomUUID() }])
      let t1, t2, msgs // the real broker may show a message a moment after its push
      do { t1 = performance.now(); msgs = await q.queue(name).batch(1).wait(false).pop(); t2 = performance.now() } while (!msgs.length)
      await q.ack(msgs[0]); const t3 = performance.now()
      L.push.push(t1 - t0); L.pop.push(t2 - t1); L.ack.push(t3 - t2)
    }
    m.stop(); m.lat = [...L.push, ...L.pop, ...L.ack]
    const extra = {}; for (const [k, v] of Object.entries(L)) { extra[`${k}_p50_ms`] = pct(v, 0.5); extra[`${k}_p99_ms`] = pct(v, 0.99) }
    return m.result(rounds, extra)
  }
}
if (!run[scenario]) { out({ skipped: `no Node.js runner for ${scenario}` }); process.exit(0) }
const result = await run[scenario]()
try { if (!scenario.startsWith('responder')) await q.queue(name).delete() } catch {} // keep the broker small
try { await q.close() } catch {}
out(result)
process.exit(0)
