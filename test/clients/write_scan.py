"""Writes scan files with pyarrow, a third-party Arrow writer, in the types a producer may use.

  write_scan.py <out.arrow> <file|stream> <json rows>

Columns that mean the same thing are written in their other forms on purpose: timestamp_iso
as large_string, schema_version dictionary-encoded, w50_velocity as float32, assets as
large_list<large_string>, plus an extra column the bridge must carry through.
"""
import json
import sys

import pyarrow as pa
import pyarrow.ipc as ipc


def main(out, fmt, rows_json):
    rows = json.loads(rows_json)
    windows = [f"w{w}_{m}" for w in (50, 150, 300, 750) for m in ("lambda_max", "velocity", "rotation", "instability")]
    cols = {
        "scan_number": pa.array([r["scan_number"] for r in rows], pa.int64()),
        "timestamp_ns": pa.array([r["timestamp_ns"] for r in rows], pa.int64()),
        "timestamp_iso": pa.array([r["timestamp_iso"] for r in rows], pa.large_string()),
        "schema_version": pa.array([r["schema_version"] for r in rows]).dictionary_encode(),
    }
    for w in windows:
        cols[w] = pa.array([r[w] for r in rows], pa.float32() if w == "w50_velocity" else pa.float64())
    cols["assets"] = pa.array([r["assets"] for r in rows], pa.large_list(pa.large_string()))
    cols["asset_prices"] = pa.array([r["asset_prices"] for r in rows], pa.list_(pa.float64()))
    cols["eigenvalues"] = pa.array([r.get("eigenvalues") for r in rows], pa.list_(pa.float64()))
    cols["producer"] = pa.array(["pyarrow"] * len(rows), pa.string())
    table = pa.table(cols)
    with pa.OSFile(out, "wb") as sink:
        writer = ipc.new_file(sink, table.schema) if fmt == "file" else ipc.new_stream(sink, table.schema)
        writer.write_table(table)
        writer.close()


if __name__ == "__main__":
    main(*sys.argv[1:4])
