"use strict";
// Drive the JavaScript mesos-framework 0.5.3 scheduler's event-stream parser over a recorded
// stream, without a network.
//
// Usage: node mf_decode.js --node-modules DIR --recordio FILE [--chunk 4096] [--repeat 3]
// (--chunk 0: one chunk per RecordIO record)
//
// mesos-framework parses the subscription stream inside Scheduler.prototype.subscribe: the
// http.request response callback installs a res.on("data") handler that splits each chunk on "\n"
// and JSON.parses the pieces. We replace http.request (the module object scheduler.js uses) with a
// fake whose SUBSCRIBE response is an EventEmitter; we then emit the recorded RecordIO body in
// fixed-size chunks exactly as node's http module would emit them after setEncoding("utf8"). Every
// event type gets a one-argument custom handler (the library's documented "handlers" option) that
// only counts, so no other scheduler logic runs. Parse failures surface as the scheduler's "error"
// events and are counted too. Prints one JSON object with the best round.

const fs = require("fs");
const os = require("os");
const path = require("path");
const http = require("http");
const { EventEmitter } = require("events");
const { StringDecoder } = require("string_decoder");

function parseArgs(argv) {
    const args = { chunk: 4096, repeat: 3 };
    for (let i = 0; i < argv.length; i += 2) {
        const key = argv[i].replace(/^--/, "");
        args[key === "node-modules" ? "nodeModules" : key] = argv[i + 1];
    }
    args.chunk = parseInt(args.chunk, 10);
    args.repeat = parseInt(args.repeat, 10);
    if (!args.nodeModules || !args.recordio) {
        throw new Error("--node-modules and --recordio are required");
    }
    return args;
}

function countRecords(data) {
    let pos = 0;
    let n = 0;
    while (pos < data.length) {
        const nl = data.indexOf(10, pos);
        const len = parseInt(data.subarray(pos, nl).toString("latin1"), 10);
        pos = nl + 1 + len;
        n += 1;
    }
    return n;
}

// The fake transport: SUBSCRIBE requests resolve `pendingSubscribe` with the response callback.
let pendingSubscribe = null;
http.request = function fakeRequest(options, callback) {
    const req = new EventEmitter();
    let body = "";
    req.write = function (data) { body += data; return true; };
    req.end = function () {
        if (body.indexOf("\"SUBSCRIBE\"") > -1 && pendingSubscribe) {
            const resolve = pendingSubscribe;
            pendingSubscribe = null;
            resolve(callback);
        }
        // Any other call (e.g. the RECONCILE sent after SUBSCRIBED) gets no answer.
    };
    req.setTimeout = function () { return req; };
    req.abort = function () {};
    req.destroy = function () {};
    return req;
};

async function oneRound(Scheduler, chunks, logDir) {
    const counts = { events: 0, by_type: {}, errors: 0, error_kinds: {} };
    function count(kind) {
        return function (_payload) {
            counts.events += 1;
            counts.by_type[kind] = (counts.by_type[kind] || 0) + 1;
        };
    }
    const handlers = {};
    for (const kind of ["SUBSCRIBED", "OFFERS", "RESCIND", "UPDATE", "MESSAGE", "FAILURE", "ERROR", "HEARTBEAT"]) {
        handlers[kind] = count(kind);
    }
    const scheduler = new Scheduler({
        frameworkName: "bench-decode",
        masterUrl: "127.0.0.1",
        port: 5050,
        handlers: handlers,
        logging: { path: logDir, fileName: "mesos-framework.log", level: "error" },
    });
    scheduler.on("error", function (err) {
        counts.errors += 1;
        const message = String((err && err.message) || err);
        const kind = message.startsWith("Couldn't parse as JSON") ? "json_parse"
            : message.startsWith("Other linebreak count") ? "linebreak_count" : "other";
        counts.error_kinds[kind] = (counts.error_kinds[kind] || 0) + 1;
    });
    const gotCallback = new Promise(function (resolve) { pendingSubscribe = resolve; });
    scheduler.subscribe();
    const callback = await gotCallback;

    const res = new EventEmitter();
    res.statusCode = 200;
    res.headers = { "mesos-stream-id": "6b3e9d1c-bench-stream", "content-type": "application/json" };
    let decoder = null;
    res.setEncoding = function (enc) { decoder = new StringDecoder(enc); };
    callback(res);

    const t0 = process.hrtime.bigint();
    const c0 = process.cpuUsage();
    for (const chunk of chunks) {
        res.emit("data", decoder ? decoder.write(chunk) : chunk);
    }
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = process.cpuUsage(c0);
    counts.seconds = wall;
    counts.cpu_seconds = (cpu.user + cpu.system) / 1e6;
    scheduler.removeAllListeners();
    return counts;
}

async function main() {
    const args = parseArgs(process.argv.slice(2));
    const mfDir = path.resolve(args.nodeModules, "mesos-framework");
    const mf = require(mfDir);
    const version = JSON.parse(fs.readFileSync(path.join(mfDir, "package.json"), "utf8")).version;
    const data = fs.readFileSync(args.recordio);
    const chunks = [];
    if (args.chunk > 0) {
        for (let i = 0; i < data.length; i += args.chunk) {
            chunks.push(data.subarray(i, i + args.chunk));
        }
    } else {
        // One chunk per RecordIO record, the best case for this parser (checks the harness).
        let pos = 0;
        while (pos < data.length) {
            const nl = data.indexOf(10, pos);
            const end = nl + 1 + parseInt(data.subarray(pos, nl).toString("latin1"), 10);
            chunks.push(data.subarray(pos, end));
            pos = end;
        }
    }
    const logDir = fs.mkdtempSync(path.join(os.tmpdir(), "mf-bench-"));
    let best = null;
    try {
        for (let r = 0; r < Math.max(1, args.repeat); r += 1) {
            const result = await oneRound(mf.Scheduler, chunks, logDir);
            if (best === null || result.seconds < best.seconds) {
                best = result;
            }
        }
    } finally {
        fs.rmSync(logDir, { recursive: true, force: true });
    }
    best.records = countRecords(data);
    best.bytes = data.length;
    best.chunk = args.chunk;
    best.chunks = chunks.length;
    best["mesos-framework"] = version;
    best.node = process.version;
    process.stdout.write(JSON.stringify(best) + "\n");
    // The scheduler leaves timers (heartbeat checks, ready event) behind; end here.
    process.exit(0);
}

main().catch(function (err) {
    process.stderr.write(String((err && err.stack) || err) + "\n");
    process.exit(1);
});
