"use strict";
// End-to-end peer: a JavaScript mesos-framework 0.5.3 scheduler launching N short command tasks.
//
// Usage: node mf_e2e.js --node-modules DIR --master 127.0.0.1:PORT --tasks N [--timeout 600] [--command "sleep 5"]
//
// What a mesos-framework user writes: one task definition with `instances: N`, a shell command
// `true`, cpus 0.01 and mem 8; the library matches offers, launches, acknowledges and tracks the
// tasks itself. We only listen to its "subscribed" and "update" events, count states per task id and
// end with TEARDOWN once every task is terminal. Prints one JSON object like pymesos_e2e.py does.

const fs = require("fs");
const os = require("os");
const path = require("path");

const TERMINAL = new Set(["TASK_FINISHED", "TASK_FAILED", "TASK_KILLED", "TASK_ERROR", "TASK_LOST",
    "TASK_DROPPED", "TASK_GONE"]);

function parseArgs(argv) {
    const args = { timeout: 600 };
    for (let i = 0; i < argv.length; i += 2) {
        const key = argv[i].replace(/^--/, "");
        args[key === "node-modules" ? "nodeModules" : key] = argv[i + 1];
    }
    args.tasks = parseInt(args.tasks, 10);
    args.timeout = parseFloat(args.timeout);
    if (!args.nodeModules || !args.master || !(args.tasks > 0)) {
        throw new Error("--node-modules, --master and --tasks are required");
    }
    return args;
}

function main() {
    const args = parseArgs(process.argv.slice(2));
    const mfDir = path.resolve(args.nodeModules, "mesos-framework");
    const mf = require(mfDir);
    const version = JSON.parse(fs.readFileSync(path.join(mfDir, "package.json"), "utf8")).version;
    const Mesos = mf.Mesos.getMesos();
    const [host, port] = args.master.split(":");
    const logDir = fs.mkdtempSync(path.join(os.tmpdir(), "mf-e2e-"));
    // mesos-framework may call process.exit itself (e.g. when it gives up on the master).
    process.on("exit", function () { fs.rmSync(logDir, { recursive: true, force: true }); });

    const states = new Map();
    const serials = new Map(); // task name -> distinct task ids launched for it
    const latest = new Map(); // task name -> its latest task id
    const failures = [];
    const marks = {};
    const errors = [];
    let start = null;
    let cpu0 = null;
    function mark(name) {
        if (!(name in marks)) {
            marks[name] = Number(process.hrtime.bigint() - start) / 1e9;
        }
    }

    // Timed from constructing the scheduler, as the other two libraries' runs are.
    cpu0 = process.cpuUsage();
    start = process.hrtime.bigint();
    const scheduler = new mf.Scheduler({
        masterUrl: host,
        port: parseInt(port, 10),
        frameworkName: "bench-mesos-framework",
        frameworkFailoverTimeout: 1,
        logging: { path: logDir, fileName: "mesos-framework.log", level: "error" },
        tasks: {
            bench: {
                priority: 1,
                instances: args.tasks,
                commandInfo: new Mesos.CommandInfo(null, null, true, args.command || "true", null, null),
                resources: { cpus: 0.01, mem: 8, ports: 0, disk: 0 },
            },
        },
    });

    let finished = false;
    function finish(completed) {
        if (finished) return;
        finished = true;
        const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
        const cpu = process.cpuUsage(cpu0);
        const cpuSeconds = (cpu.user + cpu.system) / 1e6;
        const finals = {};
        let terminal = 0;
        for (const latestId of latest.values()) {
            const state = states.get(latestId);
            finals[state] = (finals[state] || 0) + 1;
            if (TERMINAL.has(state)) terminal += 1;
        }
        let twice = 0;
        for (const ids of serials.values()) {
            if (ids.size > 1) twice += 1;
        }
        process.stdout.write(JSON.stringify({
            framework: "mesos-framework " + version,
            node: process.version,
            tasks: args.tasks,
            completed: completed,
            seconds: elapsed,
            subscribed_s: marks.subscribed === undefined ? null : marks.subscribed,
            all_running_s: marks.all_running === undefined ? null : marks.all_running,
            all_finished_s: marks.all_finished === undefined ? null : marks.all_finished,
            cpu_seconds: cpuSeconds,
            cpu_ms_per_task: 1000 * cpuSeconds / args.tasks,
            launched: states.size,
            failure_samples: failures,
            launched_twice: twice,
            final_states: finals,
            never_finished: args.tasks - terminal,
            errors: errors.slice(0, 5),
            pid: process.pid,
        }) + "\n");
        try {
            scheduler.teardown();
        } catch (err) {
            // The process ends right below; a failed TEARDOWN only leaves the framework to time out.
        }
        setTimeout(function () { process.exit(completed ? 0 : 1); }, 300);
    }

    scheduler.on("error", function (err) {
        errors.push(String((err && err.message) || err));
    });
    scheduler.on("subscribed", function () { mark("subscribed"); });
    scheduler.on("update", function (update) {
        const status = update.status;
        const id = status.task_id.value;
        if (TERMINAL.has(states.get(id))) {
            return;
        }
        states.set(id, status.state);
        if (TERMINAL.has(status.state) && status.state !== "TASK_FINISHED" && failures.length < 3) {
            failures.push(status.state + " " + (status.reason || "") + ": " + (status.message || ""));
        }
        // Task ids are "<framework>.<task name>-<serial>.<uuid>": a relaunch (mesos-framework
        // restarts failed tasks) keeps the name, so progress is counted per name, on its latest id.
        const name = id.split(".").slice(0, -1).join(".");
        if (!serials.has(name)) serials.set(name, new Set());
        serials.get(name).add(id);
        latest.set(name, id);
        let running = 0;
        let terminal = 0;
        for (const latestId of latest.values()) {
            const state = states.get(latestId);
            if (state === "TASK_RUNNING" || TERMINAL.has(state)) running += 1;
            if (TERMINAL.has(state)) terminal += 1;
        }
        if (running >= args.tasks) mark("all_running");
        if (terminal >= args.tasks) {
            mark("all_finished");
            finish(true);
        }
    });
    scheduler.on("ready", function () {
        scheduler.subscribe();
        setTimeout(function () { finish(false); }, args.timeout * 1000).unref();
    });
}

main();
