"""One Ray task per shard, each running a command on whichever node Ray schedules it — the shape
issue 15 point 4 uses for `lakeport extract … --shard I/N` (the scheduler is Ray's, not ours).

Usage: ray_shards.py RAY_ADDRESS N COMMAND...
COMMAND runs via `sh -c` with SHARD=I/N in its environment ({shard} in it is replaced by I/N too).
Prints, per shard, the node id it ran on, the exit code and the command's output. Exits 1 if a
command failed or the tasks did not land on every node of the cluster.
"""
import os
import subprocess
import sys

import ray

address, n, command = sys.argv[1], int(sys.argv[2]), " ".join(sys.argv[3:])
ray.init(address=address, logging_level="WARNING", log_to_driver=False)
nodes = sorted(x["NodeID"] for x in ray.nodes() if x["Alive"])


# num_cpus=1 with one CPU per node: at most one shard per node at a time; SPREAD places tasks
# round-robin over the nodes.
@ray.remote(num_cpus=1, scheduling_strategy="SPREAD", max_retries=0)
def run_shard(i: int, n: int, command: str) -> dict:
    shard = f"{i}/{n}"
    proc = subprocess.run(["sh", "-c", command.replace("{shard}", shard)], capture_output=True, text=True,
                          env={**os.environ, "SHARD": shard})
    return {"shard": shard, "node": ray.get_runtime_context().get_node_id(), "pid": os.getpid(),
            "rc": proc.returncode, "out": (proc.stdout + proc.stderr).strip()}


results = ray.get([run_shard.remote(i, n, command) for i in range(n)])
for r in results:
    print(f"shard {r['shard']}: node {r['node'][:12]} pid {r['pid']} rc {r['rc']}: {r['out']}")
used = {r["node"] for r in results}
errors = [f"shard {r['shard']} exited {r['rc']}" for r in results if r["rc"] != 0]
if used != set(nodes):
    errors.append(f"shards ran on {len(used)} of {len(nodes)} nodes")
for e in errors:
    print(f"FAILED: {e}", file=sys.stderr)
print(f"{n} shards on {len(used)} nodes")
sys.exit(1 if errors else 0)
