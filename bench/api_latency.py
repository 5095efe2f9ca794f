"""API responsiveness while an extraction runs and while a runaway query runs (p99 under 100 ms).

Seeds a bucket on the test S3 server, starts `lakeport serve`, measures GET /api/pools latency
first idle, then while a full extraction of the folder runs, then while a runaway query (a cross
join of 10^12 rows) runs until its time limit (--query-seconds) stops it, and prints percentiles
side by side.
Run with: ./scripts/with-s3.sh python3 bench/api_latency.py [--bin target/release/lakeport] [--files 200 --rows 5000]
No assertion: it prints figures.
"""
import argparse, json, os, secrets, socket, statistics, subprocess, sys, tempfile, threading, time, urllib.error, urllib.request

import boto3

p = argparse.ArgumentParser()
p.add_argument("--bin", default="target/debug/lakeport")
p.add_argument("--files", type=int, default=200)
p.add_argument("--rows", type=int, default=5000)
p.add_argument("--seconds", type=float, default=5.0, help="idle measurement length")
p.add_argument("--query-seconds", type=int, default=20, help="the server's query time limit; the runaway query runs that long")
a = p.parse_args()
E = os.environ
ep = E["LAKEPORT_TEST_S3_ENDPOINT"]
s3 = boto3.client("s3", endpoint_url=ep, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
bucket = "latency-bench"
try:
    s3.create_bucket(Bucket=bucket)
except Exception:
    pass
body = "case_id,activity,ts,cost,resource\n" + "".join(f"{i},step {i % 7},2024-01-01 10:{i % 60:02d}:00,{i % 500}.25,R{i % 9:03d}\n" for i in range(a.rows))
for f in range(a.files):
    s3.put_object(Bucket=bucket, Key=f"log/part-{f:04d}.csv", Body=body.encode())

sock = socket.socket(); sock.bind(("127.0.0.1", 0)); port = sock.getsockname()[1]; sock.close()
token = secrets.token_hex(16)
pool_dir = tempfile.mkdtemp()
server = subprocess.Popen([a.bin, "--pool-dir", pool_dir, "serve", "--listen", f"127.0.0.1:{port}", "--token", token,
                           "--query-timeout-secs", str(a.query_seconds)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
base = f"http://127.0.0.1:{port}/api"


def call(method, path, data=None):
    req = urllib.request.Request(base + path, method=method, data=None if data is None else json.dumps(data).encode(),
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req) as r:
            return json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return {"status": e.code, **json.loads(e.read() or b"{}")}


for _ in range(100):
    try:
        call("GET", "/health"); break
    except Exception:
        time.sleep(0.1)
call("POST", "/pools", {"name": "bench"})
call("POST", "/pools/bench/connections", {"name": "src", "secret": E["LAKEPORT_TEST_READER_SECRET"], "config": {
    "type": "s3-extraction", "region": "us-east-1", "bucket": bucket, "access_key_id": E["LAKEPORT_TEST_READER_KEY"],
    "endpoint": ep, "path_style": True, "allow_http": True}})


def sample(stop):
    out = []
    while not stop():
        t = time.perf_counter()
        call("GET", "/pools")
        out.append((time.perf_counter() - t) * 1000)
        time.sleep(0.005)
    return out


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


end = time.time() + a.seconds
idle = sample(lambda: time.time() > end)
run = call("POST", "/pools/bench/extractions", {"connection": "src", "mode": "full", "items": [{"type": "folder", "prefix": "log/"}]})
done = {"v": False}


def watch():
    while call("GET", f"/runs/{run['id']}")["status"] == "running":
        time.sleep(0.2)
    done["v"] = True


t0 = time.time()
threading.Thread(target=watch, daemon=True).start()
busy = sample(lambda: done["v"])
elapsed = time.time() - t0
final = call("GET", f"/runs/{run['id']}")

# A runaway query: 10^12 rows, stopped by the server's time limit.
runaway = {}


def run_query():
    t = time.time()
    runaway["answer"] = call("POST", "/pools/bench/query", {"sql": "SELECT count(*) FROM generate_series(1, 1000000) a CROSS JOIN generate_series(1, 1000000) b"})
    runaway["seconds"] = time.time() - t


threading.Thread(target=run_query, daemon=True).start()
time.sleep(0.2)
during_query = sample(lambda: "answer" in runaway)
server.terminate(); server.wait()
print(f"extraction: {final['status']}, {final['rows']} rows from {final['files_done']} files in {elapsed:.1f}s")
print(f"runaway query: answered after {runaway['seconds']:.1f}s: {runaway['answer'].get('status')} {runaway['answer'].get('error')}")
print(f"{'GET /api/pools':<24}{'n':>6}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}")
for name, xs in (("idle", idle), ("during extraction", busy), ("during runaway query", during_query)):
    print(f"{name:<24}{len(xs):>6}{statistics.median(xs):>9.1f}{pct(xs, .95):>9.1f}{pct(xs, .99):>9.1f}{max(xs):>9.1f}")
print(f"p99 during extraction / idle: {pct(busy, .99) / max(pct(idle, .99), 0.001):.1f}x, during the runaway query / idle: "
      f"{pct(during_query, .99) / max(pct(idle, .99), 0.001):.1f}x; target: p99 under 100 ms")
