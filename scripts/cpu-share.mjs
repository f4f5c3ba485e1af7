// Which share of the machine's CPUs other programs held while the browser test timed
// requestAnimationFrame: a frame gap is the page's in the share its own processes could use. On a
// quiet machine (CI) that share is all of it; with other programs busy on the same cores the
// page's frame threads, GPU process and SwiftShader threads get only the rest, and the same work
// spans a longer gap. Linux /proc only; elsewhere nothing is measured and every gap counts whole.
import { readFileSync, readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';

const read = (path) => { try { return readFileSync(path, 'utf8'); } catch { return undefined; } };

/** /proc/PID/stat's fields after the command name (which may hold spaces): [0] is state, [1] ppid, [11] utime, [12] stime. */
function statFields(pid) {
  const stat = read(`/proc/${pid}/stat`);
  return stat?.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** `root` and the processes started under it (Chromium's, the CLI runs), found through their parents. */
function processTree(root) {
  const parents = new Map();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (Number.isInteger(pid)) parents.set(pid, Number(statFields(pid)?.[1] ?? 0));
  }
  const inTree = (pid) => {
    for (let at = pid, hops = 0; at > 1 && hops < 32; at = parents.get(at) ?? 0, hops++) if (at === root) return true;
    return false;
  };
  return [...parents.keys()].filter(inTree);
}

/** Busy CPU time of the whole machine, in clock ticks (/proc/stat's first line less idle and iowait). */
function machineBusyTicks() {
  const [, ...ticks] = read('/proc/stat').split('\n')[0].trim().split(/\s+/).map(Number);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = ticks;
  return user + nice + system + irq + softirq + steal;
}

/**
 * Samples, every `intervalMs`, the machine's busy CPU time and that of the process tree under
 * `root`, listed once (listing /proc took 160 ms at load 20, and held the samples up: a frame-timed
 * run starts no process, its workers are threads). otherShareDuring(start, end) is the share of
 * all the CPUs' time that processes outside the tree used between the last sample before `start`
 * and the first after `end` (epoch ms); undefined when that window is over twice the gap (the
 * sampler itself was held up, and the share would be another time's).
 */
export function sampleOtherProgramsCpuShare(root = process.pid, intervalMs = 50) {
  const available = read('/proc/stat') !== undefined && read(`/proc/${root}/stat`) !== undefined;
  const ticksPerSecond = 100; // USER_HZ, the unit of /proc/stat and /proc/PID/stat on Linux
  const cores = availableParallelism();
  const samples = [];
  const tree = available ? processTree(root) : [];
  const sample = () => {
    const at = Date.now();
    const ours = new Map();
    for (const pid of tree) {
      const fields = statFields(pid);
      if (fields) ours.set(pid, Number(fields[11]) + Number(fields[12]));
    }
    samples.push({ at, busy: machineBusyTicks(), ours });
  };
  if (available) sample();
  const timer = available ? setInterval(sample, intervalMs) : undefined;
  return {
    available,
    stop: () => clearInterval(timer),
    otherShareDuring(start, end) {
      const first = samples.findLast((s) => s.at <= start), last = samples.find((s) => s.at >= end);
      if (!first || !last || last.at - first.at > 2 * (end - start)) return undefined;
      // A process gone by the last sample drops out of the sum (no frame-timed run ends one of ours).
      let ours = 0;
      for (const [pid, ticks] of last.ours) ours += Math.max(0, ticks - (first.ours.get(pid) ?? 0));
      const capacity = (cores * ticksPerSecond * (last.at - first.at)) / 1000;
      return Math.min(1, Math.max(0, (last.busy - first.busy - ours) / capacity));
    },
  };
}
