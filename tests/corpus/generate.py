"""Writes the bad-input corpus: malformed and tricky files, each named for its expected outcome.

  ok_*       must load (possibly with zero rows)
  err_*      must fail with an error naming the file, leaving the pool unchanged
  errline_*  like err_, and the error must name a line; a name ending in _at_<N> (before the
             extensions) must name exactly line N of the decompressed file
Run: python3 tests/corpus/generate.py  (needs pyarrow; the test venv has it). Output: this folder.
"""
import gzip, io, json, os, random
import pyarrow as pa
import pyarrow.parquet as pq

HERE = os.path.dirname(os.path.abspath(__file__))
for f in os.listdir(HERE):
    if f.startswith(("ok_", "err_", "errline_")):
        os.remove(os.path.join(HERE, f))
n = 0


def put(name, data):
    global n
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)
    n += 1


def line_of(text, marker):
    """The physical line (1-based) of marker's first occurrence: what an _at_<N> name promises."""
    nl = b"\n" if isinstance(text, bytes) else "\n"
    return text[: text.index(marker)].count(nl) + 1


def put_at(stem, ext, text, marker, compress=None):
    data = text.encode() if isinstance(text, str) else text
    put(f"{stem}_at_{line_of(text, marker)}.{ext}", compress(data) if compress else data)


def zstd(data):
    return pa.compress(data, codec="zstd", asbytes=True)


def rows(k, start=0):
    return "".join(f"{i},name {i},{i * 1.5}\n" for i in range(start, start + k))


H = "id,name,amount\n"
# ---- CSV that must load
put("ok_plain.csv", H + rows(10))
put("ok_crlf.csv", (H + rows(10)).replace("\n", "\r\n"))
put("ok_bom.csv", "\ufeff" + H + rows(5))
put("ok_bom_crlf.csv", "\ufeff" + (H + rows(5)).replace("\n", "\r\n"))
put("ok_no_final_newline.csv", (H + rows(3)).rstrip("\n"))
put("ok_header_only.csv", H)
put("ok_header_only_no_newline.csv", H.rstrip("\n"))
put("ok_quoted_newlines.csv", H + '1,"multi\nline\nname",2.5\n2,"x",3\n')
put("ok_quoted_delimiters.csv", H + '1,"a,b,c",2.5\n')
put("ok_doubled_quotes.csv", H + '1,"say ""hi""",2.5\n')
put("ok_unicode.csv", "id,näme,ümount\n1,Jürgen 🚀,2.5\n2,日本語,3\n")
put("ok_duplicate_headers.csv", "id,id,ID\n1,2,3\n")
put("ok_empty_header_names.csv", ",,x\n1,2,3\n")
put("ok_wide_500_columns.csv", ",".join(f"c{i}" for i in range(500)) + "\n" + ",".join(str(i) for i in range(500)) + "\n")
put("ok_long_line_1mb.csv", "id,blob\n1," + "x" * (1 << 20) + "\n")
put("ok_leading_zeros.csv", "code\n00123\n00456\n")
put("ok_big_integers.csv", "n\n123456789012345678901234567890\n1\n")
put("ok_mixed_int_float.csv", "v\n1\n2.5\n-3\n")
put("ok_dates_and_timestamps.csv", "d,t,tz\n2024-01-31,2024-01-31 10:00:00,2024-01-31T10:00:00Z\n2024-02-29,2024-02-29T23:59:59.123456,2024-02-29T23:59:59+02:00\n")
put("ok_all_empty_column.csv", "a,b\n1,\n2,\n")
put("ok_booleans.csv", "b\ntrue\nFALSE\nTrue\n")
put("ok_whitespace_values.csv", "a,b\n  1  , x \n")
put("ok_blank_line_at_end.csv", H + rows(2) + "\n")
put("ok_semicolons_as_one_column.csv", "a;b;c\n1;2;3\n")
put("ok_tab_separated.tsv", "a\tb\n1\t2\n")
put("ok_gzip.csv.gz", gzip.compress((H + rows(100)).encode()))
put("ok_gzip_misnamed.csv", gzip.compress((H + rows(7)).encode()))
put("ok_gzip_multimember.csv.gz", gzip.compress((H + rows(3)).encode()) + gzip.compress(rows(3, 3).encode()))
put("ok_many_rows.csv", H + rows(20000))
put("ok_nan_inf.csv", "v\nNaN\ninf\n-inf\n1.5\n")
put("ok_negative_zero.csv", "v\n-0\n0\n")
put("ok_only_newlines_after_header.csv", H + "\n\n")
for i, sep in enumerate(["\r\n", "\n"]):
    put(f"ok_quoted_empty_strings_{i}.csv", f'a,b{sep}"",""{sep}x,y{sep}')
for k in range(8):
    rng = random.Random(k)
    put(f"ok_random_text_{k}.csv", "id,text\n" + "".join(f'{j},"{"".join(rng.choice("abc ,;xyz") for _ in range(30))}"\n' for j in range(50)))
# ---- CSV that must fail
for line in (2, 5, 50, 1500):
    put(f"errline_ragged_short_at_{line}.csv", H + rows(line - 2) + "99,only-two\n" + rows(3, 1000))
    put(f"errline_ragged_long_at_{line}.csv", H + rows(line - 2) + "99,a,b,c,d\n" + rows(3, 1000))
for line in (1200, 3000):
    put(f"errline_type_breaks_after_sample_at_{line}.csv", H + rows(line - 2) + "x,y,not-a-number\n")
put("errline_invalid_utf8_at_3.csv", b"id,name\n1,ok\n2,\xff\xfe bad\n")
# Physical lines, not record numbers: quoted line breaks, blank lines, BOM, CRLF, compression.
# (More than the 1000 sampled rows come first, so the value breaks a type inferred from them.)
T = "id,title,priority\n"
multiline = T + "".join(f'{i},"first\nsecond",{i}\n' if i % 4 == 0 else f"{i},t{i},{i}\n" for i in range(1100)) + "1100,last,high\n"
put_at("errline_multiline_quoted", "csv", multiline, ",high")
put_at("errline_multiline_quoted", "csv.gz", multiline, ",high", gzip.compress)
put_at("errline_multiline_quoted", "csv.zst", multiline, ",high", zstd)
put_at("errline_bom_crlf_multiline", "csv", "\ufeff" + multiline.replace("\n", "\r\n"), ",high")
blank = T + "".join(f"{i},t{i},{i}\n" + ("\n" if i % 3 == 0 else "") for i in range(1100)) + "\n\n1100,last,high\n"
put_at("errline_blank_lines", "csv", blank, ",high")
put_at("errline_ragged_after_multiline", "csv", T + "".join(f'{i},"a\nb",{i}\n' for i in range(5)) + "\n5,short\n6,x,6\n", "5,short")
put("err_empty.csv", b"")
rng = random.Random(1)
put("err_binary_garbage.csv", bytes(rng.getrandbits(8) for _ in range(4096)).replace(b"\x1f\x8b", b"xx").replace(b"(\xb5/\xfd", b"xxxx"))
put("err_gzip_corrupt.csv.gz", gzip.compress((H + rows(100)).encode())[:40] + b"\x00" * 40)
put("err_gzip_truncated.csv.gz", gzip.compress((H + rows(1000)).encode())[:-200])
put("err_zip_bomb.csv.gz", gzip.compress(b"a\n" + b"0\n" * (32 << 20), 9))
put("err_parquet_named_csv.csv", b"PAR1" + b"\x00" * 100)
put("err_unsupported_extension.xlsx", b"PK\x03\x04 not really a spreadsheet")
put("err_no_extension", H + rows(2))
put("errline_unterminated_quote_at_2.csv", H + '1,"never closed,2.5\n2,x,3\n')
# ---- JSON that must load
recs = [{"id": i, "name": f"n{i}", "amount": i * 0.5} for i in range(10)]
put("ok_ndjson.ndjson", "".join(json.dumps(r) + "\n" for r in recs))
put("ok_array.json", json.dumps(recs))
put("ok_array_pretty.json", json.dumps(recs, indent=2))
put("err_array_empty.json", "[]")
put("ok_ndjson_crlf.jsonl", "".join(json.dumps(r) + "\r\n" for r in recs))
put("ok_ndjson_bom.ndjson", "\ufeff" + "".join(json.dumps(r) + "\n" for r in recs))
put("ok_ndjson_blank_lines.ndjson", "\n\n".join(json.dumps(r) for r in recs) + "\n\n")
put("ok_nested.json", json.dumps([{"id": 1, "o": {"a": [1, 2], "b": {"c": "x"}}}, {"id": 2, "o": {"a": [], "b": {"c": None}}}]))
put("ok_unicode_escapes.ndjson", '{"s": "\\u00fc\\ud83d\\ude80 \\"q\\" \\\\"}\n')
put("ok_keys_vary.ndjson", '{"a": 1}\n{"b": "x"}\n{"a": 2, "b": "y", "c": true}\n')
put("ok_nulls.ndjson", '{"a": null, "b": 1}\n{"a": null, "b": null}\n')
put("ok_mixed_int_float.ndjson", '{"v": 1}\n{"v": 2.5}\n')
put("ok_timestamps.ndjson", '{"t": "2024-01-01T00:00:00Z"}\n{"t": "2024-06-01T12:30:00+02:00"}\n')
put("ok_gzip.ndjson.gz", gzip.compress("".join(json.dumps(r) + "\n" for r in recs).encode()))
put("ok_whitespace_between_records.ndjson", '  {"a": 1}   {"a": 2}\n\t{"a": 3}\n')
put("ok_big.ndjson", "".join(json.dumps({"id": i, "s": "x" * 50}) + "\n" for i in range(20000)))
for k in range(6):
    put(f"ok_strings_with_brackets_{k}.ndjson", "".join(json.dumps({"s": "[{}]" * (j % 5) + "\"" * k, "i": j}) + "\n" for j in range(20)))
# ---- JSON that must fail
for line in (1, 3, 40):
    put(f"errline_syntax_at_{line}.ndjson", "".join(json.dumps(r) + "\n" for r in (recs * 5)[: line - 1]) + '{"id": 1, "name": oops}\n')
put("errline_truncated_object_at_2.ndjson", '{"a": 1}\n{"a": 2, "b": "unfinished\n')
put("errline_truncated_array.json", '[{"a": 1}, {"a": 2}')
put("errline_array_of_scalars.json", "[1, 2, 3]")
put("errline_trailing_garbage.json", '[{"a": 1}] trailing')
put("errline_top_level_scalar.json", '"just a string"')
put("errline_type_breaks_after_sample_at_1501.ndjson", "".join(json.dumps({"v": i}) + "\n" for i in range(1500)) + '{"v": "not a number"}\n')
many = [{"id": i, "name": f"n{i}"} for i in range(1100)] + [{"id": "x1100", "name": "last"}]
nd = "\r\n\r\n".join(json.dumps(r) for r in many) + "\r\n"
put_at("errline_ndjson_blank_lines_crlf", "ndjson", nd, '"x1100"')
put_at("errline_ndjson_bom", "ndjson.gz", "\ufeff" + nd, '"x1100"', gzip.compress)
pretty = json.dumps(many, indent=2)
put_at("errline_pretty_array", "json", pretty, '"x1100"')
put_at("errline_pretty_array", "json.zst", pretty, '"x1100"', zstd)
put_at("errline_pretty_array_syntax", "json", json.dumps(recs[:4], indent=2).replace('"name": "n2"', '"name": oops'), "oops")
put("err_empty.ndjson", b"")
put("err_only_whitespace.json", b"  \n\n ")
put("err_binary.json", bytes(range(256)) * 4)
# ---- Parquet
def pq_bytes(table, **kw):
    b = io.BytesIO(); pq.write_table(table, b, **kw); return b.getvalue()

ints = pa.table({"id": pa.array(range(100), pa.int64())})
put("ok_parquet_basic.parquet", pq_bytes(ints))
put("ok_parquet_empty.parquet", pq_bytes(ints.slice(0, 0)))
put("ok_parquet_row_groups.parquet", pq_bytes(pa.table({"id": pa.array(range(10000), pa.int64())}), row_group_size=1000))
put("ok_parquet_types.parquet", pq_bytes(pa.table({
    "i8": pa.array([1, -2], pa.int8()), "u64": pa.array([1, 2], pa.uint64()), "f16": pa.array([1.5, 2.5], pa.float32()),
    "ts_ns": pa.array([1000, 2000], pa.timestamp("ns")), "ts_ms_tz": pa.array([1, 2], pa.timestamp("ms", tz="Europe/Berlin")),
    "dict": pa.array(["a", "b"]).dictionary_encode(), "dec": pa.array([1, 2], pa.decimal128(10, 2)),
    "lst": pa.array([[1], []], pa.list_(pa.int32())), "st": pa.array([{"x": 1}, {"x": 2}]), "ls": pa.array(["x", "y"], pa.large_string()),
    "d64": pa.array([0, 86400000], pa.date64()), "bin": pa.array([b"\x00", b"\x01"]), "b": pa.array([True, None])})))
# Values no inference may change, and shapes every JSON reader meets (issue: field inputs).
put("ok_json_empty_objects.ndjson", "".join(f'{{"id": {i}, "meta": {{}}}}\n' for i in range(3)))
put("ok_json_big_integers.ndjson", '{"span_id": 18446744073709551615}\n{"span_id": 9223372036854775808}\n{"span_id": 42}\n')
put("ok_json_mixed_shapes.ndjson", '{"a": [1, "x"], "b": {"k": 1}, "c": {"n": null}}\n{"a": [], "b": 5, "c": null}\n')
put("ok_csv_precise_decimals.csv", "id,amount\n1,0.1000000000000000055511\n2,1e400\n")
put("errline_json_key_after_sample.ndjson", "".join(f'{{"id": {i}}}\n' for i in range(1000)) + '{"id": 1000, "late": 1}\n')
put("errline_csv_float_after_sample.csv", "x\n" + "1.5\n" * 1000 + "0.1000000000000000055511\n")
# Nanoseconds that a microsecond column would cut: refused, naming the column (never truncated).
put("err_parquet_nanos.parquet", pq_bytes(pa.table({"ts_ns": pa.array([1000, 1001], pa.timestamp("ns"))})))
put("ok_parquet_zstd.parquet", pq_bytes(ints, compression="zstd"))
put("ok_parquet_gzip_pages.parquet", pq_bytes(ints, compression="gzip"))
put("ok_parquet_nulls.parquet", pq_bytes(pa.table({"a": pa.array([None, None], pa.string())})))
full = pq_bytes(pa.table({"id": pa.array(range(1000), pa.int64())}))
put("err_parquet_truncated.parquet", full[: len(full) // 2])
put("err_parquet_footer_only_magic.parquet", b"PAR1PAR1")
put("err_parquet_zero_bytes.parquet", b"")
put("err_parquet_corrupt_footer.parquet", full[:-12] + b"\xff" * 8 + b"PAR1")
rng = random.Random(2)
put("err_parquet_random.parquet", b"PAR1" + bytes(rng.getrandbits(8) for _ in range(2000)) + b"PAR1")
put("err_parquet_is_csv.parquet", H + rows(5))
put("err_parquet_gzip_compressed.parquet.gz", gzip.compress(full))
print(f"{n} corpus files written to {HERE}")
