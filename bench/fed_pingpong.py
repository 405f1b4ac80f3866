"""bench/bench_federation.sh's wire clients (not a test).

  fed_pingpong.py echo HOME          on B: answer every bench.v1.ping.* with bench.v1.pong.<n>
  fed_pingpong.py ping HOME N        on A: N sequential round trips, then N pipelined;
                                     prints "median_us throughput_per_s"
"""
import json, os, sys, time
sys.path.insert(0, os.path.join(os.environ["ASTRID_SRC"], "tests/tools"))
import astrid_wire as w


def sub(s, pattern):
    w.send(s, {"topic": "astrid.v1.connection.subscribe", "payload": {"pattern": pattern}})
    while w.recv(s)["topic"] != "astrid.v1.connection.response.subscribe":
        pass


def main():
    mode, home = sys.argv[1], sys.argv[2]
    s = w.connect(home)
    w.handshake(s, home, "default")
    if mode == "echo":
        sub(s, "bench.v1.ping.*")
        print("ready", flush=True)
        while True:
            m = w.recv(s)
            if m["topic"].startswith("bench.v1.ping."):
                w.send(s, {"topic": "bench.v1.pong.x", "payload": m["payload"]})
    n = int(sys.argv[3])
    sub(s, "bench.v1.pong.*")

    def wait(i):
        while True:
            m = w.recv(s)
            if m["topic"].startswith("bench.v1.pong.") and m["payload"].get("i") == i:
                return
    for i in range(20):  # warm-up
        w.send(s, {"topic": "bench.v1.ping.x", "payload": {"i": -1 - i}})
        wait(-1 - i)
    lat = []
    for i in range(n):
        t = time.perf_counter()
        w.send(s, {"topic": "bench.v1.ping.x", "payload": {"i": i}})
        wait(i)
        lat.append((time.perf_counter() - t) * 1e6)
    lat.sort()
    t = time.perf_counter()
    for i in range(n):
        w.send(s, {"topic": "bench.v1.ping.x", "payload": {"i": n + i}})
    got = 0
    while got < n:
        m = w.recv(s)
        if m["topic"].startswith("bench.v1.pong."):
            got += 1
    print("%d %.0f" % (lat[n // 2], n / (time.perf_counter() - t)))


main()
