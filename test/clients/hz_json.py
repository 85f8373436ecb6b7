"""Reads or writes a Dolphin map value from Python: the contract is JSON strings, any client can use it.

  hz_json.py get <cluster> <members> <map> <key>          prints the value, parsed with json.loads
  hz_json.py put <cluster> <members> <map> <key> <json>   stores <json> as a string
"""
import json
import sys

import hazelcast


def main(argv):
    op, cluster, members, map_name, key = argv[1:6]
    client = hazelcast.HazelcastClient(
        cluster_name=cluster,
        cluster_members=members.split(","),
        cluster_connect_timeout=30.0,
        statistics_enabled=False,
    )
    try:
        m = client.get_map(map_name).blocking()
        if op == "get":
            text = m.get(key)
            value = json.loads(text)  # the whole point: a plain JSON string
            print(json.dumps({"type": type(text).__name__, "value": value}))
        elif op == "put":
            json.loads(argv[6])  # refuse to store what is not JSON
            m.set(key, argv[6])
            print(json.dumps({"ok": True}))
        else:
            raise SystemExit(f"unknown op {op!r}")
    finally:
        client.shutdown()


if __name__ == "__main__":
    main(sys.argv)
