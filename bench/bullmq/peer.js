#!/usr/bin/env node
// bench/bullmq/peer.js - BullMQ's equivalent of TimeRush's POST /register/, the peer
// bench/create_peer.sh measures TimeRush's create path against.
//
//   node peer.js --redis-socket PATH | --redis-port N   [--host 127.0.0.1] [--port 8090]
//                [--procs N] [--queue timers] [--concurrency 16] [--max-body 65536]
//
// POST /register/ (or /register) with a JSON object
//     {"url": "http://...", "seconds": N, "data": "..."}
// adds one delayed job, exactly as a BullMQ user would:
//     queue.add("timer", {url, data}, {delay: seconds * 1000, removeOnComplete: true})
// and answers {"ret":0,"data":{"key":"<job id>"}}. TimeRush's own field names
// (callback_cmd, callback_data) are accepted too, so that one request body can be
// sent to both. A body that is not one JSON object answers {"ret":1,...}; a missing
// or ill-typed field ret 2, bad seconds ret 3, a URL that is not http(s) ret 4 (all
// HTTP 200, as TimeRush's compat endpoint). A failure of Redis answers HTTP 503
// {"ret":10,...}, so that wrk counts it as a non-2xx answer.
//
// Every process also runs a BullMQ Worker on the same queue: when a job falls due it
// POSTs `data` (a string as is, anything else as its JSON text) to `url` with
// Content-Type application/json, and a non-2xx answer or a network error fails the
// job (BullMQ's default: one attempt). So this is a working timer service, even
// though the create benchmark never lets a job fall due.
//
// --procs N > 1 runs N such processes under node:cluster (the primary only accepts
// connections and hands them out round-robin; it serves nothing itself).
// Prints "peer ready: http://HOST:PORT procs N pids P1,P2,..." on stdout once every
// process listens. SIGTERM/SIGINT: stop accepting, close the worker and the queue,
// exit 0. A cluster process whose primary went away exits too.
'use strict';

const cluster = require('node:cluster');
const http = require('node:http');
const { Queue, Worker } = require('bullmq');

function parseArgs(argv) {
  const o = {
    host: '127.0.0.1', port: 8090, procs: 1, queue: 'timers', concurrency: 16,
    maxBody: 65536, redisSocket: '', redisPort: 0,
  };
  const num = (name, v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new Error(`${name}: not a whole number: ${v}`);
    return n;
  };
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    switch (a) {
      case '--host': o.host = v; i++; break;
      case '--port': o.port = num(a, v); i++; break;
      case '--procs': o.procs = num(a, v); i++; break;
      case '--queue': o.queue = v; i++; break;
      case '--concurrency': o.concurrency = num(a, v); i++; break;
      case '--max-body': o.maxBody = num(a, v); i++; break;
      case '--redis-socket': o.redisSocket = v; i++; break;
      case '--redis-port': o.redisPort = num(a, v); i++; break;
      case '-h': case '--help':
        process.stdout.write(require('node:fs').readFileSync(__filename, 'utf8')
          .split('\n').slice(1, 30).map((l) => l.replace(/^\/\/ ?/, '')).join('\n') + '\n');
        process.exit(0);
        break;
      default: throw new Error(`unknown option ${a}`);
    }
  }
  if (!o.redisSocket && !o.redisPort) throw new Error('--redis-socket or --redis-port is required');
  if (o.procs < 1) throw new Error('--procs must be at least 1');
  return o;
}

let opts;
try {
  opts = parseArgs(process.argv);
} catch (e) {
  process.stderr.write(`peer.js: ${e.message}\n`);
  process.exit(2);
}

// ioredis options; BullMQ sets maxRetriesPerRequest: null for the blocking ones.
const connection = opts.redisSocket ? { path: opts.redisSocket } : { host: '127.0.0.1', port: opts.redisPort };

function answer(res, status, obj) {
  const body = JSON.stringify(obj);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

// The checks TimeRush's /register/ makes, in short (docs/PROTOCOL.md).
function parseRegister(text) {
  let req;
  try {
    req = JSON.parse(text);
  } catch (e) {
    return { ret: 1, msg: 'body is not one JSON object' };
  }
  if (req === null || typeof req !== 'object' || Array.isArray(req)) {
    return { ret: 1, msg: 'body is not one JSON object' };
  }
  const url = req.url !== undefined ? req.url : req.callback_cmd;
  const data = req.data !== undefined ? req.data : req.callback_data;
  const seconds = req.seconds;
  if (typeof url !== 'string') return { ret: 2, msg: 'url: missing or not a string' };
  if (data === undefined || data === null || (typeof data !== 'string' && typeof data !== 'object')) {
    return { ret: 2, msg: 'data: missing or not a string, object or array' };
  }
  if (typeof seconds !== 'number') return { ret: 2, msg: 'seconds: missing or not a number' };
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > 315360000) {
    return { ret: 3, msg: 'seconds: must be a whole number 1 .. 315360000' };
  }
  let u;
  try {
    u = new URL(url);
  } catch (e) {
    return { ret: 4, msg: 'url: not an absolute URL' };
  }
  if ((u.protocol !== 'http:' && u.protocol !== 'https:') || !u.host || url.length > 2048) {
    return { ret: 4, msg: 'url: not an http(s) URL' };
  }
  return { ret: 0, url, data: typeof data === 'string' ? data : JSON.stringify(data), seconds };
}

function serve() {
  const queue = new Queue(opts.queue, { connection });
  queue.on('error', (e) => process.stderr.write(`peer.js ${process.pid}: queue: ${e.message}\n`));

  const worker = new Worker(opts.queue, async (job) => {
    const r = await fetch(job.data.url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-BullMQ-Job': String(job.id) },
      body: job.data.data,
      signal: AbortSignal.timeout(30000),
    });
    await r.arrayBuffer();
    if (!r.ok) throw new Error(`callback answered ${r.status}`);
  }, { connection, concurrency: opts.concurrency });
  worker.on('error', (e) => process.stderr.write(`peer.js ${process.pid}: worker: ${e.message}\n`));

  const server = http.createServer((req, res) => {
    if (req.url !== '/register/' && req.url !== '/register') {
      req.resume();
      return answer(res, 404, { ret: 7, msg: 'no such endpoint' });
    }
    if (req.method !== 'POST') {
      req.resume();
      res.setHeader('Allow', 'POST');
      return answer(res, 405, { ret: 6, msg: 'method not allowed' });
    }
    const chunks = [];
    let size = 0;
    let refused = false;
    req.on('data', (c) => {
      size += c.length;
      if (size > opts.maxBody) {
        if (!refused) answer(res, 413, { ret: 5, msg: `body too large (limit ${opts.maxBody} bytes)` });
        refused = true;
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (refused) return;
      const p = parseRegister(Buffer.concat(chunks).toString('utf8'));
      if (p.ret !== 0) return answer(res, 200, { ret: p.ret, msg: p.msg });
      queue.add('timer', { url: p.url, data: p.data }, { delay: p.seconds * 1000, removeOnComplete: true })
        .then((job) => answer(res, 200, { ret: 0, data: { key: String(job.id) } }))
        .catch((e) => answer(res, 503, { ret: 10, msg: `redis: ${e.message}` }));
    });
  });
  server.keepAliveTimeout = 65000; // as nginx's keepalive_timeout in front of TimeRush
  server.headersTimeout = 66000;

  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    server.close();
    server.closeAllConnections();
    Promise.allSettled([worker.close(), queue.close()]).finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 5000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  if (cluster.isWorker) process.on('disconnect', stop);

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
}

if (opts.procs > 1 && cluster.isPrimary) {
  cluster.schedulingPolicy = cluster.SCHED_RR;
  let listening = 0;
  let stopping = false;
  let exitCode = 0;
  const workers = [];
  for (let i = 0; i < opts.procs; i++) workers.push(cluster.fork());
  cluster.on('listening', () => {
    if (++listening === opts.procs) {
      const pids = workers.map((w) => w.process.pid).join(',');
      process.stdout.write(`peer ready: http://${opts.host}:${opts.port} procs ${opts.procs} pids ${process.pid},${pids}\n`);
    }
  });
  cluster.on('exit', (w, code, signal) => {
    if (!stopping) {
      process.stderr.write(`peer.js: process ${w.process.pid} exited (${signal || code}); stopping\n`);
      stopAll(1);
    } else if (Object.keys(cluster.workers).length === 0) {
      process.exit(exitCode);
    }
  });
  const stopAll = (code) => {
    if (stopping) return;
    stopping = true;
    exitCode = code;
    for (const w of Object.values(cluster.workers)) w.process.kill('SIGTERM');
    setTimeout(() => {
      for (const w of Object.values(cluster.workers)) w.process.kill('SIGKILL');
      process.exit(code);
    }, 6000).unref();
    if (Object.keys(cluster.workers).length === 0) process.exit(code);
  };
  process.on('SIGTERM', () => stopAll(0));
  process.on('SIGINT', () => stopAll(0));
} else {
  serve().then(() => {
    if (cluster.isPrimary) {
      process.stdout.write(`peer ready: http://${opts.host}:${opts.port} procs 1 pids ${process.pid}\n`);
    }
  }, (e) => {
    process.stderr.write(`peer.js: cannot listen on ${opts.host}:${opts.port}: ${e.message}\n`);
    process.exit(1);
  });
}
