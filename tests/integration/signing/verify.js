// verify.js SECRET [TAMPER] - checks signed callbacks with the Standard Webhooks
// reference library (the standardwebhooks npm package, pinned in package.json).
// stdin: timerush-sink log lines (tests/sink/sink_log.h), one request each.
// stdout: one line per request, "ok" or "fail: <the library's reason>".
// TAMPER alters one part before verifying: body (one byte more), timestamp (+1 s),
// or none. SECRET is a "whsec_..." string.
'use strict';
const { Webhook } = require('standardwebhooks');
const readline = require('readline');

const [secret, tamper = 'none'] = process.argv.slice(2);
if (!secret || !['none', 'body', 'timestamp'].includes(tamper)) {
    console.error('usage: node verify.js whsec_... [none|body|timestamp] <sink-log-lines');
    process.exit(2);
}
const wh = new Webhook(secret);
const rl = readline.createInterface({ input: process.stdin });
rl.on('line', (line) => {
    const req = JSON.parse(line);
    const w = req.webhook || {};
    let body = req.body;
    let ts = w.timestamp;
    if (tamper === 'body') body += ' ';
    if (tamper === 'timestamp') ts = String(Number(ts) + 1);
    const headers = { 'webhook-id': w.id, 'webhook-timestamp': ts, 'webhook-signature': w.signature };
    try {
        // The body is the callback's bytes, not always JSON: no parsing.
        wh.verify(body, headers, { jsonParse: false });
        console.log('ok');
    } catch (e) {
        console.log(`fail: ${e.message}`);
    }
});
