"""Writes the pyarrow-made scan files that seed the flat Arrow reader's fuzz test.

  <python with pyarrow> packages/scanfile/test-fixtures/make_fixtures.py

Run once; the .arrow files are committed beside this script, so the tests need no Python.
Made with pyarrow 26.0.1 (/root/.cache/dolphin/python/hz-5.7.0-pa-26.0.1/bin/python). pyarrow
lays out its bytes differently from apache-arrow (buffer order and padding, empty validity
buffers, schema metadata), which is why the fuzz test starts from both.
"""
import os

import pyarrow as pa
import pyarrow.ipc as ipc

HERE = os.path.dirname(os.path.abspath(__file__))
WINDOWS = [f"w{w}_{m}" for w in (50, 150, 300, 750) for m in ("lambda_max", "velocity", "rotation", "instability")]


def scan_table(rows, assets):
    symbols = [f"SYM{i}USDT" for i in range(assets)]
    cols = {
        "scan_number": pa.array([100 + r for r in range(rows)], pa.int64()),
        "timestamp_ns": pa.array([1_800_000_000_000_000_000 + r * 5_000_000_000 for r in range(rows)], pa.int64()),
        "timestamp_iso": pa.array([f"2027-01-15T08:00:{r * 5:02d}.000000Z" for r in range(rows)], pa.string()),
        "schema_version": pa.array(["5.0.0"] * rows, pa.string()),
    }
    for i, w in enumerate(WINDOWS):
        cols[w] = pa.array([0.01 * (i + 1) * (r + 1) - 0.05 for r in range(rows)], pa.float64())
    cols["assets"] = pa.array([symbols] * rows, pa.list_(pa.string()))
    cols["asset_prices"] = pa.array([[1.5 + a + r * 0.25 for a in range(assets)] for r in range(rows)], pa.list_(pa.float64()))
    # The second row has no eigenvalues: a null list.
    cols["eigenvalues"] = pa.array([[3.0, 2.0, 1.0] if r != 1 else None for r in range(rows)], pa.list_(pa.float64()))
    return pa.table(cols, metadata={"producer": "pyarrow fixture"})


def types_table():
    """Every type the flat reader reads, with nulls, a BOM, non-ASCII text and empty lists."""
    return pa.table({
        "i8": pa.array([-5, None, 7], pa.int8()),
        "i16": pa.array([-300, 2, None], pa.int16()),
        "i32": pa.array([-70_000, 1, 2], pa.int32()),
        "i64": pa.array([-(2 ** 40), 2 ** 62 + 1, None], pa.int64()),
        "u8": pa.array([255, 0, 1], pa.uint8()),
        "u16": pa.array([65_535, 0, 1], pa.uint16()),
        "u32": pa.array([4_000_000_000, 0, None], pa.uint32()),
        "u64": pa.array([2 ** 63 + 5, 0, 1], pa.uint64()),
        "f32": pa.array([0.1, -2.5, None], pa.float32()),
        "f64": pa.array([-0.0, float("nan"), float("inf")], pa.float64()),
        "b": pa.array([True, False, None], pa.bool_()),
        "s": pa.array(["\ufeffBOM first", "Ünïcødé €", None], pa.string()),
        "ls": pa.array([["BTCUSDT", "\ufeffÉTH"], [], None], pa.list_(pa.string())),
        "li": pa.array([[1, 2, 3], [4], []], pa.list_(pa.int32())),
        "lb": pa.array([[True, False, True], None, [False]], pa.list_(pa.bool_())),
        "lf": pa.array([[0.5, 1.5], None, [2.0]], pa.list_(pa.float32())),
    })


def write(name, table, fmt, options=None, chunk=None):
    path = os.path.join(HERE, name)
    with pa.OSFile(path, "wb") as sink:
        opener = ipc.new_file if fmt == "file" else ipc.new_stream
        with opener(sink, table.schema, options=options) as writer:
            writer.write_table(table, max_chunksize=chunk)
    print(f"{name}: {os.path.getsize(path)} bytes")


def main():
    write("pyarrow-scan-1x50.file.arrow", scan_table(1, 50), "file")
    write("pyarrow-scan-3x8.stream.arrow", scan_table(3, 8), "stream")
    # Two record batches in one file (one row, then two).
    write("pyarrow-scan-3x4-batches.file.arrow", scan_table(3, 4), "file", chunk=2)
    write("pyarrow-types.file.arrow", types_table(), "file")
    write("pyarrow-types.stream.arrow", types_table(), "stream")
    # Before Arrow 0.15: no continuation marker, metadata version V4.
    legacy = ipc.IpcWriteOptions(use_legacy_format=True, metadata_version=ipc.MetadataVersion.V4)
    write("pyarrow-scan-2x3-legacy.stream.arrow", scan_table(2, 3), "stream", options=legacy)


if __name__ == "__main__":
    main()
