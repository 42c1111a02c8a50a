// Prints the config_hash the Node.js queen-mq client computes for each chain spec read as
// JSON from stdin: [[op, arg...], ...] per chain, one hex digest per line.
import { Stream } from 'queen-mq'

const fn = () => 1
const chains = JSON.parse(await new Promise(resolve => {
  let text = ''
  process.stdin.on('data', chunk => { text += chunk })
  process.stdin.on('end', () => resolve(text))
}))

function build (spec) {
  let s = Stream.from({ name: 'src' })
  for (const [op, arg] of spec) {
    const opts = arg && typeof arg === 'object' && !Array.isArray(arg) ? { ...arg } : arg
    if (opts && opts.eventTime === true) opts.eventTime = fn
    switch (op) {
      case 'map': s = s.map(fn); break
      case 'filter': s = s.filter(fn); break
      case 'flatMap': s = s.flatMap(fn); break
      case 'keyBy': s = s.keyBy(fn); break
      case 'gate': s = s.gate(fn); break
      case 'windowTumbling': s = s.windowTumbling(opts); break
      case 'windowSliding': s = s.windowSliding(opts); break
      case 'windowSession': s = s.windowSession(opts); break
      case 'windowCron': s = s.windowCron(opts); break
      case 'reduce': s = arg === undefined ? s.reduce(fn) : s.reduce(fn, arg); break
      case 'aggregate': s = s.aggregate(Object.fromEntries(arg.map(n => [n, fn]))); break
      case 'to': s = s.to({ queueName: arg }); break
      case 'foreach': s = s.foreach(fn); break
      default: throw new Error('unknown op ' + op)
    }
  }
  return s._compile().config_hash
}

for (const spec of chains) console.log(build(spec))
