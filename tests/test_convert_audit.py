"""Regression tests for the `datakit convert` audit: lost Parquet columns, damaged zips,
multi-process Dataset conversion, big integers in embedded JSON, unreported unknown keys
and output that fails `datakit lint`."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from conftest import run_cli

CHAT = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}


def _lines(p: Path) -> list[dict]:
    return [json.loads(x) for x in p.read_text(encoding="utf-8").splitlines() if x.strip()]


def _write(p: Path, rows: list[dict]) -> Path:
    p.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                 encoding="utf-8")
    return p


# --------------------------------------------------------------------------- 1. Parquet columns

def test_parquet_keeps_a_column_only_a_late_row_has(tmp_path):
    import pyarrow.parquet as pq

    rows = [dict(CHAT) for _ in range(6000)]
    rows[4999] = {**CHAT, "source_id": "only-here", "meta": {"lang": "en"}}
    src = _write(tmp_path / "in.jsonl", rows)
    out = tmp_path / "out.parquet"
    r = run_cli("convert", src, "--to", "openai", "-o", out, "--quiet")
    assert r.returncode == 0, r.stderr
    table = pq.read_table(out)
    assert {"messages", "source_id", "meta"} <= set(table.column_names)
    assert table.column("source_id").to_pylist()[4999] == "only-here"
    assert table.column("meta").to_pylist()[4999] == {"lang": "en"}
    assert table.column("source_id").null_count == 5999
    # read back, the Parquet file gives the same examples as a JSONL output
    back = tmp_path / "back.jsonl"
    direct = tmp_path / "direct.jsonl"
    assert run_cli("convert", out, "--to", "openai", "-o", back, "--quiet").returncode == 0
    assert run_cli("convert", src, "--to", "openai", "-o", direct, "--quiet").returncode == 0
    assert _lines(back) == _lines(direct)


def test_parquet_column_type_conflict_is_a_diagnostic(tmp_path):
    rows = [dict(CHAT) for _ in range(6000)]
    rows[0] = {**CHAT, "meta": "text"}
    rows[4999] = {**CHAT, "meta": 5}
    src = _write(tmp_path / "in.jsonl", rows)
    out = tmp_path / "out.parquet"
    r = run_cli("convert", src, "--to", "openai", "-o", out, "--quiet")
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    assert "'meta'" in r.stderr and "example 1" in r.stderr and "example 5000" in r.stderr
    assert "--output-format jsonl" in r.stderr
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_parquet_integer_beyond_64_bits_is_a_diagnostic(tmp_path):
    src = _write(tmp_path / "in.jsonl", [{**CHAT, "id": 1}, {**CHAT, "id": 2 ** 70}])
    out = tmp_path / "out.parquet"
    r = run_cli("convert", src, "--to", "openai", "-o", out, "--quiet")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "'id'" in r.stderr and "beyond 64 bits" in r.stderr and "example 2" in r.stderr
    assert not out.exists()


# --------------------------------------------------------------------------- 2. damaged zips

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==")
IMAGE_LINE = {"messages": [{"role": "user", "content": [{"text": "What is this?"},
                                                        {"image": "dot.png"}]},
                           {"role": "assistant", "content": [{"text": "A pixel."}]}]}


def _image_zip(path: Path, compression: int) -> bytes:
    import zipfile

    with zipfile.ZipFile(path, "w", compression=compression) as zf:
        zf.writestr("data/train.jsonl", (json.dumps(IMAGE_LINE) + "\n") * 40)
        zf.writestr("data/dot.png", PNG)
    return path.read_bytes()


def _damaged_zips(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """name → (archive, what the message must name)."""
    import zipfile

    good = _image_zip(tmp_path / "good.zip", zipfile.ZIP_DEFLATED)
    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(good[: len(good) // 2])
    garbled = bytearray(good)  # the deflate stream of the .jsonl member
    start = 30 + len("data/train.jsonl") + 4
    garbled[start:start + 24] = bytes(b ^ 0xFF for b in garbled[start:start + 24])
    (tmp_path / "garbled.zip").write_bytes(bytes(garbled))
    stored = bytearray(_image_zip(tmp_path / "stored.zip", zipfile.ZIP_STORED))
    at = stored.index(PNG) + 12
    stored[at] ^= 0xFF  # the image no longer matches its CRC
    (tmp_path / "badcrc.zip").write_bytes(bytes(stored))
    return {"badcrc": (tmp_path / "badcrc.zip", "'data/dot.png'"),
            "garbled": (tmp_path / "garbled.zip", "'data/train.jsonl'"),
            "truncated": (truncated, "truncated.zip")}


def test_damaged_zip_inputs_are_diagnostics_not_internal_errors(tmp_path):
    for name, (archive, needle) in _damaged_zips(tmp_path).items():
        for target, out in (("openai", tmp_path / f"{name}.jsonl"),
                            ("dashscope-sft-image", tmp_path / f"{name}.out.zip")):
            r = run_cli("convert", archive, "--to", target, "-o", out, "--quiet")
            assert r.returncode == 2, (name, target, r.stderr)
            assert "Traceback" not in r.stderr and "internal error" not in r.stderr, r.stderr
            assert archive.name in r.stderr and needle in r.stderr, r.stderr
            assert "unzip -t" in r.stderr, r.stderr
            assert not out.exists()


# --------------------------------------------------------------------------- 3. Dataset, num_proc

def _sharegpt_rows(n: int) -> list[dict]:
    """The first half without tools, the second half with tool calls: shards of a
    two-process map infer different Arrow types for `tools` and `messages`."""
    tools = json.dumps([{"name": "get_weather", "description": "weather",
                         "parameters": {"type": "object",
                                        "properties": {"city": {"type": "string"}}}}])
    rows = []
    for i in range(n):
        if i < n // 2:
            rows.append({"conversations": [{"from": "human", "value": f"q{i}"},
                                           {"from": "gpt", "value": f"a{i}"}], "tools": None})
        else:
            call = json.dumps({"name": "get_weather", "arguments": {"city": f"c{i}"}})
            rows.append({"conversations": [{"from": "human", "value": f"weather {i}?"},
                                           {"from": "function_call", "value": call},
                                           {"from": "observation", "value": "sunny"},
                                           {"from": "gpt", "value": "It is sunny."}],
                         "tools": tools})
    return rows


def test_dataset_num_proc_2_to_mistral_equals_one_process():
    import datasets

    import datakit
    from datakit.conversion.engine import Settings, convert_object

    rows = _sharegpt_rows(40)
    ds = datasets.Dataset.from_list(rows)
    one = datakit.convert(ds, to="mistral", num_proc=1)
    two = datakit.convert(ds, to="mistral", num_proc=2)
    assert len(one) == len(two) == 40
    assert one.to_list() == two.to_list()
    expected = [convert_object({k: v for k, v in r.items() if v is not None},
                               Settings("mistral", "sharegpt")).obj for r in rows]
    got = [{k: v for k, v in r.items() if v is not None} for r in two.to_list()]
    assert got == expected


# --------------------------------------------------------------------------- 4. big integers

BIG = 2 ** 70 + 1  # beyond 64 bits: orjson reads it as the float 1.1805916207174113e+21


def _big_examples(tmp_path: Path) -> tuple[Path, Path]:
    call = json.dumps({"name": "lookup", "arguments": {"id": BIG}})
    tools = json.dumps([{"name": "lookup", "description": "find a record",
                         "parameters": {"type": "object", "properties": {
                             "id": {"type": "integer", "maximum": BIG}}}}])
    sharegpt = _write(tmp_path / "sharegpt.jsonl", [{"conversations": [
        {"from": "human", "value": "find it"}, {"from": "function_call", "value": call},
        {"from": "observation", "value": "found"}, {"from": "gpt", "value": "Found."}],
        "tools": tools}])
    openai = _write(tmp_path / "openai.jsonl", [{"messages": [
        {"role": "user", "content": "find it"},
        {"role": "assistant", "tool_calls": [{"id": "call_1", "type": "function", "function": {
            "name": "lookup", "arguments": json.dumps({"id": BIG})}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "found"},
        {"role": "assistant", "content": "Found."}]}])
    return sharegpt, openai


def test_integers_beyond_64_bits_in_embedded_json_stay_exact(tmp_path):
    sharegpt, openai = _big_examples(tmp_path)
    for src, from_, to in ((sharegpt, "sharegpt", "mistral"),  # the direct path
                           (sharegpt, "auto", "openai"),  # the model
                           (openai, "openai", "sharegpt")):  # the ShareGPT writer
        out = tmp_path / f"{src.stem}-{to}.jsonl"
        r = run_cli("convert", src, "--from", from_, "--to", to, "-o", out, "--quiet")
        assert r.returncode == 0, r.stderr
        (row,) = _lines(out)
        if to == "sharegpt":
            call = json.loads(row["conversations"][1]["value"])
            assert call["arguments"]["id"] == BIG and type(call["arguments"]["id"]) is int
            continue
        call = row["messages"][1]["tool_calls"][0]["function"]
        assert json.loads(call["arguments"]) == {"id": BIG}, call
        maximum = row["tools"][0]["function"]["parameters"]["properties"]["id"]["maximum"]
        assert maximum == BIG and type(maximum) is int, (from_, to, maximum)
        assert "e+21" not in out.read_text()


def test_big_integers_exact_through_the_model_and_the_direct_path():
    from datakit.conversion.engine import Settings, convert_object

    obj = {"conversations": [
        {"from": "human", "value": "q"},
        {"from": "function_call", "value": json.dumps({"name": "f", "arguments": {"n": -BIG}})},
        {"from": "observation", "value": "ok"}, {"from": "gpt", "value": "a"}]}
    for fast in (True, False):
        res = convert_object(obj, Settings("openai", "sharegpt"), fast=fast)
        args = res.obj["messages"][1]["tool_calls"][0]["function"]["arguments"]
        assert json.loads(args) == {"n": -BIG}, (fast, args)


# --------------------------------------------------------------------------- 5. unknown keys

PREFERENCE = {"input": {"messages": [{"role": "user", "content": "q"}], "seed_hint": 7},
              "preferred_output": [{"role": "assistant", "content": "good"}],
              "non_preferred_output": [{"role": "assistant", "content": "bad"}]}
MINIMAX = {"messages": [{"sender_type": "USER", "text": "hi"}, {"sender_type": "BOT", "text": "yo"}],
           "role_meta": {"user_name": "Ann", "bot_name": "Bot", "mood": "calm"}}


def test_unknown_input_and_role_meta_keys_are_reported(tmp_path):
    for name, row, target, key in (("pref", PREFERENCE, "dashscope-dpo", "seed_hint"),
                                   ("mm", MINIMAX, "openai", "mood"),
                                   ("mm2", MINIMAX, "minimax-pro", "mood")):
        src = _write(tmp_path / f"{name}.jsonl", [row])
        out = tmp_path / f"{name}-{target}.jsonl"
        r = run_cli("convert", src, "--to", target, "-o", out)
        assert r.returncode == 1 and not out.exists(), r.stderr  # a loss: --on-loss error
        assert "C005" in r.stderr and key in r.stderr, r.stderr
        r = run_cli("convert", src, "--to", target, "-o", out, "--on-loss", "warn")
        assert r.returncode == 0 and "C005" in r.stderr, r.stderr
    # the format's own writer still carries them
    src = _write(tmp_path / "mm.jsonl", [MINIMAX])
    out = tmp_path / "mm-minimax.jsonl"
    r = run_cli("convert", src, "--to", "minimax", "-o", out)
    assert r.returncode == 0 and "C005" not in r.stderr, r.stderr
    assert _lines(out)[0]["role_meta"]["mood"] == "calm"


def test_a_top_level_key_the_target_writes_is_reported():
    from datakit.conversion.engine import Settings, convert_object

    row = {"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "q"},
                        {"role": "assistant", "content": "a"}], "system": "another"}
    res = convert_object(row, Settings("sharegpt", "openai", "warn"))
    assert "C005" in res.codes and res.obj["system"] == "s"


def test_extra_columns_of_batches_and_datasets_are_carried():
    import datasets

    import datakit
    from datakit.conversion import convert_batch

    row = {**CHAT, "instruction": "kept, not an Alpaca example", "lang": "en"}
    for batch in ([row], {k: [v] for k, v in row.items()}):
        out = convert_batch(batch, to="mistral")
        assert out["instruction"] == ["kept, not an Alpaca example"] and out["lang"] == ["en"]
    ds = datasets.Dataset.from_list([row, row])
    out = datakit.convert(ds, to="mistral")
    assert out[0]["instruction"] == "kept, not an Alpaca example" and out[1]["lang"] == "en"


# --------------------------------------------------------------------------- 6. lint-clean output

BMP = b"BM" + bytes(60)


def test_output_lint_would_reject_is_a_conversion_diagnostic(tmp_path):
    import zipfile

    src = tmp_path / "bmp.zip"  # DashScope accepts .bmp; OpenAI does not (M004)
    line = {"messages": [{"role": "user", "content": [{"text": "What is this?"},
                                                      {"image": "pic.bmp"}]},
                         {"role": "assistant", "content": [{"text": "A picture."}]}]}
    with zipfile.ZipFile(src, "w") as zf:
        zf.writestr("data/train.jsonl", json.dumps(line) + "\n")
        zf.writestr("data/pic.bmp", BMP)
    gif = _write(tmp_path / "gif.jsonl", [  # OpenAI data URL → a DashScope zip member
        {"messages": [{"role": "user", "content": [
            {"type": "text", "text": "What is this?"},
            {"type": "image_url", "image_url": {"url": "data:image/gif;base64,R0lGODlhAQABAAAAACw="}}]},
            {"role": "assistant", "content": "A picture."}]}])
    for path, source, target, code in ((src, "dashscope-sft-image", "openai", "C010"),
                                       (gif, "openai", "dashscope-sft-image", "C010")):
        suffix = ".zip" if target == "dashscope-sft-image" else ".jsonl"
        out = tmp_path / f"{path.stem}-{target}{suffix}"
        r = run_cli("convert", path, "--from", source, "--to", target, "-o", out, "--on-loss",
                    "warn")
        assert code in r.stderr, r.stderr
        if out.exists():
            lint = run_cli("lint", out, "--format", target)
            assert lint.returncode == 0, lint.stdout
