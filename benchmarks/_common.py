"""Shared pieces of the benchmark suite.

* deterministic data generators (OpenAI chat and ShareGPT JSONL), cached under
  ``benchmarks/.data/`` when ``--keep`` is given;
* a measurement harness that runs every command in its own fresh subprocess and
  reads the child's peak RSS from ``os.wait4``;
* median reporting, ratio-against-floor targets and a plain-text table.

Machines are noisy (2 cores, ±10 % drift), so every figure is a median over
``--runs`` interleaved runs and every verdict is a ratio against a floor measured
in the same run, never an absolute number.

1 MB here is 10**6 bytes (file sizes, MB/s); RSS figures are MiB, as the kernel
reports them in KiB.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import math
import os
import random
import shutil
import statistics
import string
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_DATA_DIR = BENCH_DIR / ".data"
MB = 1_000_000
# Bump when the generators change, so that cached files are not reused.
GENERATOR_VERSION = 1

# --------------------------------------------------------------------------
# Word and sentence pools.  Text is assembled from pre-built sentences so that
# 100 MB is generated in seconds, not minutes.
# --------------------------------------------------------------------------

_EN_WORDS = """
the of and to a in is it you that he was for on are with as I his they be at one have this from or
had by not word but what some we can out other were all there when up use your how said an each she
which do their time if will way about many then them write would like so these her long make thing
see him two has look more day could go come did number sound no most people my over know water than
call first who may down side been now find any new work part take get place made live where after back
little only round man year came show every good me give our under name very through just form sentence
great think say help low line differ turn cause much mean before move right boy old too same tell does
set three want air well also play small end put home read hand port large spell add even land here must
big high such follow act why ask men change went light kind off need house picture try us again animal
point mother world near build self earth father head stand own page should country found answer school
grow study still learn plant cover food sun four between state keep eye never last let thought city tree
cross farm hard start might story saw far sea draw left late run while press close night real life few
model data training dataset token tokenizer prompt response assistant user system function parameter
value string integer array object schema validation error warning file line column example batch epoch
learning rate loss gradient memory process thread worker queue cache request server client network
latency throughput benchmark performance result output input format convert split chunk upload provider
fine-tune evaluate metric accuracy precision recall inference deploy container cluster node database
query index table record field key config option default version release update install package module
""".split()  # noqa: SIM905 (a word list reads better as text)

_TECH_TERMS = """
API JSON JSONL Python Rust GPU CPU token prompt LoRA SFT DPO OpenAI Mistral Qwen Docker Kubernetes SQL HTTP REST
GraphQL Linux GitHub CUDA PyTorch TensorFlow transformer embedding batch_size learning_rate epoch
checkpoint max_length UTF-8 BPE o200k_base cl100k_base pandas numpy
""".split()  # noqa: SIM905

_ZH_CHARS = (
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后"
    "多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还"
    "因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结"
    "解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级"
    "少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处队南给色光门即保治北造百规热领"
    "七海口东导器压志世金增争济阶油思术极交受联什认六共权收证改清己美再采转更单风切打白教速花带安场身车例真务具万每"
    "目至达走积示议声报斗完类八离华名确才科张信马节话米整空元况今集温传土许步群广石记需段研界拉林律叫且究观越织装影"
    "算低持音众书布复容儿须际商非验连断深难近矿千周委素技备半办青省列习响约支般史感劳便团往酸历市克何除消构府称太准"
    "精值号率族维划选标写存候毛亲快效斯院查江型眼王按格养易置派层片始却专状育厂京识适属圆包火住调满县局照参红细引听"
    "该铁价严模型数据训练微调助手用户系统函数参数文件格式验证错误批次学习率损失推理部署集群节点查询索引配置版本"
)
_ZH_PUNCT_MID = "，、；："
_ZH_PUNCT_END = "。。。。？！"

_CITIES_EN = [
    "Paris",
    "London",
    "Tokyo",
    "New York",
    "Berlin",
    "Sydney",
    "Toronto",
    "Madrid",
    "Seoul",
    "Cairo",
]
_CITIES_ZH = ["北京", "上海", "广州", "深圳", "杭州", "成都", "武汉", "西安", "南京", "重庆"]

_CODE_LINES = [
    "import json",
    "import orjson",
    "from pathlib import Path",
    "def load(path):",
    '    with open(path, "rb") as f:',
    "        return [orjson.loads(line) for line in f]",
    "for i, row in enumerate(rows):",
    '    if not row.get("messages"):',
    '        raise ValueError(f"line {i}: missing messages")',
    '    total += len(enc.encode(row["content"]))',
    'print(f"{total:,} tokens\\n")',
    'result = {"status": "ok", "count": len(items)}',
    "SELECT id, name FROM users WHERE created_at > '2024-01-01';",
    '\tpath = os.path.join(base, "data\\\\train.jsonl")',
    'return sorted(items, key=lambda x: x["score"], reverse=True)',
    "# TODO: handle the empty case",
    "class Config:",
    "    max_tokens: int = 4096",
    '    model: str = "gpt-4o-mini-2024-07-18"',
    'const res = await fetch(url, { method: "POST", body: JSON.stringify(payload) });',
]


class _Pools:
    """Pre-built sentences per language; built once per seed."""

    def __init__(self, rng: random.Random) -> None:
        zh_words = [
            "".join(rng.choices(_ZH_CHARS, k=rng.choice((1, 2, 2, 2, 3, 4)))) for _ in range(6000)
        ]
        self.en = [self._en_sentence(rng) for _ in range(12000)]
        self.zh = [self._zh_sentence(rng, zh_words) for _ in range(12000)]
        self.mixed = [self._mixed_sentence(rng, zh_words) for _ in range(8000)]
        self.code = ["\n".join(rng.choices(_CODE_LINES, k=rng.randint(3, 14))) for _ in range(500)]

    @staticmethod
    def _en_sentence(rng: random.Random) -> str:
        words = rng.choices(_EN_WORDS, k=rng.randint(4, 22))
        if rng.random() < 0.25:
            words[rng.randrange(len(words))] = rng.choice(_TECH_TERMS)
        if rng.random() < 0.1:
            words.insert(rng.randrange(len(words)), f'"{rng.choice(_EN_WORDS)}"')
        if rng.random() < 0.1:
            words.insert(rng.randrange(len(words)), str(rng.randint(0, 100000)))
        if len(words) > 8 and rng.random() < 0.4:
            words[rng.randrange(2, len(words) - 1)] += ","
        text = " ".join(words)
        return text[0].upper() + text[1:] + rng.choice("....?!")

    @staticmethod
    def _zh_sentence(rng: random.Random, zh_words: list[str]) -> str:
        parts = []
        for _ in range(rng.randint(1, 3)):
            parts.append("".join(rng.choices(zh_words, k=rng.randint(3, 9))))
        sep = rng.choice(_ZH_PUNCT_MID)
        s = sep.join(parts)
        if rng.random() < 0.08:
            s = f"“{s}”"
        return s + rng.choice(_ZH_PUNCT_END)

    @staticmethod
    def _mixed_sentence(rng: random.Random, zh_words: list[str]) -> str:
        out = []
        for _ in range(rng.randint(4, 12)):
            if rng.random() < 0.3:
                out.append(f" {rng.choice(_TECH_TERMS if rng.random() < 0.6 else _EN_WORDS)} ")
            else:
                out.append(rng.choice(zh_words))
        return "".join(out).replace("  ", " ").strip() + rng.choice(_ZH_PUNCT_END)

    def text(self, rng: random.Random, n_chars: int, lang: str, allow_code: bool = False) -> str:
        """About ``n_chars`` characters of prose (with paragraphs, sometimes code)."""
        pool, sep, avg = {
            "en": (self.en, " ", 75),
            "zh": (self.zh, "", 30),
            "mixed": (self.mixed, "", 40),
        }[lang]
        k = n_chars // avg + 2
        sentences = rng.choices(pool, k=k)
        # Paragraph breaks every few sentences, occasionally a list item.
        step = rng.randint(3, 7)
        for i in range(step, k, step):
            sentences[i] = ("\n\n- " if rng.random() < 0.15 else "\n\n") + sentences[i]
        body = sep.join(sentences)
        while len(body) < n_chars:  # short sentences: top up
            body += sep + sep.join(rng.choices(pool, k=k))
        if allow_code and n_chars > 400 and rng.random() < 0.2:
            cut = rng.randrange(n_chars // 3, n_chars)
            body = body[:cut] + "\n\n```python\n" + rng.choice(self.code) + "\n```\n\n" + body[cut:]
        body = body[:n_chars]
        if body[-1].isspace():  # keep the exact length, never end on whitespace
            body = body[:-1] + "."
        return body


def _skewed_length(rng: random.Random, lo: int, hi: int, skew: float) -> int:
    """Log-uniform length between lo and hi, bent toward lo by ``skew`` > 1."""
    return int(lo * (hi / lo) ** (rng.random() ** skew))


_ID_ALPHABET = string.ascii_letters + string.digits


def _tool_call_id(rng: random.Random) -> str:
    return "".join(rng.choices(_ID_ALPHABET, k=9))


# --------------------------------------------------------------------------
# Tools: definitions (JSON Schema parameters) and argument generators.
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Tool:
    name: str
    description: str
    parameters: dict[str, Any]
    make_args: Callable[[random.Random, _Pools, str], dict[str, Any]]

    def openai(self) -> dict[str, Any]:
        return {"type": "function", "function": self.function()}

    def function(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "parameters": self.parameters}


def _obj(props: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": props, "required": required}


def _city(rng: random.Random, lang: str) -> str:
    return rng.choice(_CITIES_EN if lang == "en" else _CITIES_ZH + _CITIES_EN)


_TOOLS: list[_Tool] = [
    _Tool(
        "get_weather",
        "Get the current weather for a city.",
        _obj(
            {
                "location": {"type": "string", "description": "City name, e.g. Paris or 北京"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            ["location"],
        ),
        lambda r, p, lang: {
            "location": _city(r, lang),
            "unit": r.choice(["celsius", "fahrenheit"]),
        },
    ),
    _Tool(
        "search_web",
        "Search the web and return the top results.",
        _obj(
            {
                "query": {"type": "string"},
                "num_results": {"type": "integer", "minimum": 1, "maximum": 20},
            },
            ["query"],
        ),
        lambda r, p, lang: {
            "query": p.text(r, r.randint(10, 80), lang),
            "num_results": r.randint(1, 10),
        },
    ),
    _Tool(
        "query_database",
        "Run a read-only SQL query against the analytics database.",
        _obj({"sql": {"type": "string"}, "limit": {"type": "integer"}}, ["sql"]),
        lambda r, p, lang: {
            "sql": f"SELECT * FROM {r.choice(['orders', 'users', 'events'])} WHERE id > {r.randint(1, 9999)}",
            "limit": r.choice([10, 50, 100]),
        },
    ),
    _Tool(
        "send_email",
        "Send an email on behalf of the user.",
        _obj(
            {
                "to": {"type": "string", "format": "email"},
                "subject": {"type": "string"},
                "body": {"type": "string"},
            },
            ["to", "subject", "body"],
        ),
        lambda r, p, lang: {
            "to": f"{r.choice(_EN_WORDS)}.{r.choice(_EN_WORDS)}@example.com",
            "subject": p.text(r, r.randint(10, 60), lang),
            "body": p.text(r, _skewed_length(r, 50, 3000, 1.5), lang),
        },
    ),
    _Tool(
        "calculate",
        "Evaluate an arithmetic expression.",
        _obj({"expression": {"type": "string"}}, ["expression"]),
        lambda r, p, lang: {
            "expression": f"({r.randint(1, 999)} + {r.randint(1, 999)}) * {r.random():.4f}"
        },
    ),
    _Tool(
        "get_stock_price",
        "Look up the latest price of a stock ticker.",
        _obj({"ticker": {"type": "string", "pattern": "^[A-Z]{1,5}$"}}, ["ticker"]),
        lambda r, p, lang: {
            "ticker": "".join(r.choices(string.ascii_uppercase, k=r.randint(2, 4)))
        },
    ),
    _Tool(
        "translate_text",
        "Translate text into a target language.",
        _obj(
            {
                "text": {"type": "string"},
                "target_language": {"type": "string", "enum": ["en", "zh", "fr", "de", "ja"]},
            },
            ["text", "target_language"],
        ),
        lambda r, p, lang: {
            "text": p.text(r, _skewed_length(r, 20, 1500, 1.5), lang),
            "target_language": r.choice(["en", "zh", "fr", "de", "ja"]),
        },
    ),
    _Tool(
        "create_calendar_event",
        "Create a calendar event.",
        _obj(
            {
                "title": {"type": "string"},
                "start_time": {"type": "string", "format": "date-time"},
                "end_time": {"type": "string", "format": "date-time"},
                "attendees": {"type": "array", "items": {"type": "string"}},
            },
            ["title", "start_time"],
        ),
        lambda r, p, lang: {
            "title": p.text(r, r.randint(8, 40), lang),
            "start_time": f"2024-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}T{r.randint(8, 18):02d}:00:00Z",
            "end_time": f"2024-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}T{r.randint(8, 18):02d}:30:00Z",
            "attendees": [f"{r.choice(_EN_WORDS)}@example.com" for _ in range(r.randint(0, 4))],
        },
    ),
]


# --------------------------------------------------------------------------
# One abstract conversation, rendered to either format.
# --------------------------------------------------------------------------


@dataclass
class _Turn:
    role: str  # system | user | assistant | tool
    content: str | None = None
    calls: list[tuple[str, str, dict[str, Any]]] | None = None  # (id, name, arguments)
    call_id: str | None = None
    weight: int | None = None


@dataclass
class _Conversation:
    turns: list[_Turn]
    tools: list[_Tool]


TOOL_SHARE = 0.20
ZH_SHARE = 0.15
MIXED_SHARE = 0.15  # ZH_SHARE + MIXED_SHARE = 30 % of lines with Chinese
# Bend of the 50..20,000-character log-uniform message lengths toward short
# messages; tuned so that 100 MB holds about 17k lines, as in PERF.md.
USER_SKEW = 3.6
ASSISTANT_SKEW = 3.3


def _conversation(rng: random.Random, pools: _Pools) -> _Conversation:
    r = rng.random()
    lang = "zh" if r < ZH_SHARE else "mixed" if r < ZH_SHARE + MIXED_SHARE else "en"

    def user() -> _Turn:
        return _Turn("user", pools.text(rng, _skewed_length(rng, 50, 20000, USER_SKEW), lang))

    def assistant() -> _Turn:
        return _Turn(
            "assistant",
            pools.text(rng, _skewed_length(rng, 50, 20000, ASSISTANT_SKEW), lang, allow_code=True),
        )

    turns: list[_Turn] = []
    if rng.random() < 0.35:
        turns.append(_Turn("system", pools.text(rng, _skewed_length(rng, 50, 2000, 2.5), lang)))

    tools: list[_Tool] = []
    if rng.random() < TOOL_SHARE:
        tools = rng.sample(_TOOLS, k=rng.randint(1, 3))
        turns.append(user())
        for _round in range(1 if rng.random() < 0.8 else 2):
            calls = []
            for tool in rng.sample(tools, k=min(len(tools), 1 if rng.random() < 0.7 else 2)):
                calls.append((_tool_call_id(rng), tool.name, tool.make_args(rng, pools, lang)))
            turns.append(_Turn("assistant", calls=calls))
            for call_id, _name, _args in calls:
                result = {
                    "ok": True,
                    "result": pools.text(rng, _skewed_length(rng, 50, 5000, 2.5), lang),
                }
                turns.append(_Turn("tool", json.dumps(result, ensure_ascii=False), call_id=call_id))
        turns.append(assistant())
        if rng.random() < 0.3:
            turns += [user(), assistant()]
    else:
        r = rng.random()
        pairs = 1 if r < 0.7 else rng.randint(2, 3) if r < 0.95 else rng.randint(4, 6)
        for _ in range(pairs):
            turns += [user(), assistant()]
        if pairs > 1 and rng.random() < 0.12:
            # "Do not train on this earlier answer"; the last one stays trained.
            earlier = [t for t in turns[:-1] if t.role == "assistant"]
            rng.choice(earlier).weight = 0
            if rng.random() < 0.5:
                turns[-1].weight = 1
    return _Conversation(turns, tools)


def _render_openai(conv: _Conversation) -> dict[str, Any]:
    messages: list[dict[str, Any]] = []
    for t in conv.turns:
        if t.calls is not None:
            # An assistant tool-call turn carries no content (mistral-common rule).
            messages.append(
                {
                    "role": "assistant",
                    "tool_calls": [
                        {
                            "id": cid,
                            "type": "function",
                            "function": {
                                "name": name,
                                "arguments": json.dumps(args, ensure_ascii=False),
                            },
                        }
                        for cid, name, args in t.calls
                    ],
                }
            )
        elif t.role == "tool":
            messages.append({"role": "tool", "tool_call_id": t.call_id, "content": t.content})
        else:
            m: dict[str, Any] = {"role": t.role, "content": t.content}
            if t.weight is not None:
                m["weight"] = t.weight
            messages.append(m)
    obj: dict[str, Any] = {"messages": messages}
    if conv.tools:
        obj["tools"] = [tool.openai() for tool in conv.tools]
    return obj


def _render_sharegpt(conv: _Conversation) -> dict[str, Any]:
    # ShareGPT (LLaMA-Factory style): human/observation and gpt/function_call
    # alternate, so parallel calls are written as sequential call/result pairs.
    out: list[dict[str, str]] = []
    results = {t.call_id: t.content for t in conv.turns if t.role == "tool"}
    role_map = {"system": "system", "user": "human", "assistant": "gpt"}
    for t in conv.turns:
        if t.calls is not None:
            for cid, name, args in t.calls:
                value = json.dumps({"name": name, "arguments": args}, ensure_ascii=False)
                out.append({"from": "function_call", "value": value})
                out.append({"from": "observation", "value": results[cid] or ""})
        elif t.role != "tool":
            out.append({"from": role_map[t.role], "value": t.content or ""})
    obj: dict[str, Any] = {"conversations": out}
    if conv.tools:
        obj["tools"] = json.dumps([tool.function() for tool in conv.tools], ensure_ascii=False)
    return obj


def _generate(
    path: Path, size_mb: float, seed: int, render: Callable[[_Conversation], dict[str, Any]]
) -> int:
    """Write lines until the file reaches ``size_mb``; return the line count."""
    rng = random.Random(seed)
    pools = _Pools(random.Random(seed + 1))
    target = int(size_mb * MB)
    written = lines = 0
    dumps = json.dumps
    with open(path, "wb") as f:
        while written < target:
            batch = []
            for _ in range(200):
                batch.append(dumps(render(_conversation(rng, pools)), ensure_ascii=False))
            data = ("\n".join(batch) + "\n").encode("utf-8")
            if written + len(data) > target:
                # Finish on a whole line just past the target.
                keep = []
                for line in batch:
                    b = line.encode("utf-8") + b"\n"
                    keep.append(b)
                    written += len(b)
                    if written >= target:
                        break
                data = b"".join(keep)
                lines += len(keep)
                f.write(data)
                break
            f.write(data)
            written += len(data)
            lines += len(batch)
    return lines


def generate_openai(path: str | os.PathLike[str], size_mb: float, seed: int = 0) -> int:
    """A realistic OpenAI chat-format JSONL of about ``size_mb`` MB; returns the line count.

    ~20 % of lines use tools, ~30 % are Chinese or mixed Chinese/English,
    messages run from 50 to 20,000 characters (most short), some lines have a
    system prompt, several turns or a ``weight: 0`` assistant turn. Every line
    is a valid fine-tuning example: it ends on an assistant message, user and
    assistant alternate (with tool results between a call and the answer).
    """
    return _generate(Path(path), size_mb, seed, _render_openai)


def generate_sharegpt(path: str | os.PathLike[str], size_mb: float, seed: int = 0) -> int:
    """The same conversations in ShareGPT format (``conversations`` + ``tools`` as a JSON string)."""
    return _generate(Path(path), size_mb, seed, _render_sharegpt)


GENERATORS: dict[str, Callable[[str | os.PathLike[str], float, int], int]] = {
    "openai": generate_openai,
    "sharegpt": generate_sharegpt,
}


# --------------------------------------------------------------------------
# Data sets on disk: a temporary directory, or a cache kept between runs.
# --------------------------------------------------------------------------


class DataStore:
    """Where generated inputs and scratch outputs live during one benchmark run.

    With ``keep`` the inputs are cached in ``data_dir`` (default
    ``benchmarks/.data/``) and reused by later runs; otherwise everything goes
    to a temporary directory that is removed at exit. Scratch outputs always go
    to a temporary directory.
    """

    def __init__(
        self, keep: bool, data_dir: Path | None, seed: int = 0, bytecode_cache: bool = True
    ) -> None:
        self.seed = seed
        self._tmp = Path(tempfile.mkdtemp(prefix="datakit-bench-"))
        if bytecode_cache:
            use_bytecode_cache(self._tmp / "pycache")
        if keep or data_dir is not None:
            self.data_dir = (data_dir or DEFAULT_DATA_DIR).resolve()
            self.data_dir.mkdir(parents=True, exist_ok=True)
        else:
            self.data_dir = self._tmp / "data"
            self.data_dir.mkdir()
        self.scratch = self._tmp / "scratch"
        self.scratch.mkdir()

    def dataset(self, kind: str, size_mb: float) -> Path:
        name = f"{kind}-{size_mb:g}MB-seed{self.seed}-v{GENERATOR_VERSION}.jsonl"
        path = self.data_dir / name
        if path.exists():
            print(f"[data] reusing {path}", file=sys.stderr)
            return path
        print(f"[data] generating {kind} {size_mb:g} MB -> {path}", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        partial = path.with_suffix(".partial")
        lines = GENERATORS[kind](partial, size_mb, self.seed)
        partial.replace(path)
        dt = time.perf_counter() - t0
        print(
            f"[data] {lines:,} lines, {path.stat().st_size / MB:.1f} MB in {dt:.1f} s",
            file=sys.stderr,
        )
        return path

    def close(self) -> None:
        shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> DataStore:  # noqa: PYI034 (Self needs Python 3.11)
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


WARMUP_CODE = """
import importlib, pkgutil, datakit
for m in pkgutil.walk_packages(datakit.__path__, "datakit."):
    if m.name != "datakit.engines.ray":
        importlib.import_module(m.name)
"""


def use_bytecode_cache(prefix: Path) -> None:
    """Give every command of this run a byte-code cache, as an installed package has.

    ``pip install`` compiles ``.pyc`` files, so users never pay for compiling
    datakit's modules. Sandboxes that set ``PYTHONDONTWRITEBYTECODE=1`` (this
    one does) make every fresh interpreter recompile them (~0.1-0.2 s per run,
    most of a 0.35 s floor). The cache lives under ``prefix`` (removed at the
    end) via ``PYTHONPYCACHEPREFIX``, so the checkout is not touched; it is
    filled once, untimed, by importing every datakit module. The floors run
    with the same environment. ``--no-bytecode-cache`` turns this off.
    """
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = str(prefix)
    subprocess.run([sys.executable, "-c", WARMUP_CODE], check=False, capture_output=True)
    print(f"[setup] byte-code cache in {prefix}", file=sys.stderr)


def warm_page_cache(path: Path) -> int:
    """Read a file once so that every measured run starts from the page cache; return its line count."""
    lines = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            lines += chunk.count(b"\n")
    return lines


def describe_input(path: Path) -> int:
    """Warm the page cache, print the input's size and line count; return its size in bytes."""
    lines = warm_page_cache(path)
    size = path.stat().st_size
    print(f"input: {path} ({size / MB:.1f} MB, {lines:,} lines)")
    return size


# --------------------------------------------------------------------------
# Measurement.
# --------------------------------------------------------------------------


class CommandFailed(RuntimeError):
    def __init__(self, cmd: Sequence[str], returncode: int, stderr: str) -> None:
        self.cmd = list(cmd)
        self.returncode = returncode
        self.stderr = stderr
        tail = "\n".join(stderr.strip().splitlines()[-12:])
        super().__init__(f"command exited with {returncode}: {' '.join(cmd)}\n{tail}")


@dataclass
class RunRecord:
    seconds: float
    peak_rss_mb: float  # the largest single process of the tree (ru_maxrss from wait4)
    tree_rss_mb: float | None  # sampled peak of the summed RSS of the whole tree, if asked
    returncode: int
    stdout: str
    stderr: str


def _rss_of_tree(root: int, page_mb: float) -> float:
    """Summed RSS of the descendants of ``root`` (not ``root`` itself), from /proc (Linux only)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                stat = f.read()
            with open(f"/proc/{entry.name}/statm", "rb") as f:
                resident = int(f.read().split()[1])
        except OSError:
            continue
        # Field 4 (ppid) follows the parenthesised command name, which may hold spaces.
        ppid = int(stat[stat.rindex(b")") + 2 :].split()[1])
        pid = int(entry.name)
        children.setdefault(ppid, []).append(pid)
        rss[pid] = resident
    total, stack = 0, list(children.get(root, ()))
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, ()))
    return total * page_mb


# Why a launcher: Linux records the RSS high-water mark of the *old* address
# space when a process calls exec. Python's subprocess spawns with vfork, which
# shares the benchmark's own address space, so the child's ru_maxrss would
# start at the benchmark's peak (e.g. after generating data). This launcher is
# a fresh, small interpreter (no site, ~7 MB) that forks and execs the command,
# then reports the wait4 rusage and the wall time of the command alone.
_LAUNCHER = """
import json, os, sys, time
out, cmd = sys.argv[1], sys.argv[2:]
t0 = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(cmd[0], cmd)
    except BaseException as exc:
        os.write(2, f"[benchmarks] cannot run {cmd[0]!r}: {exc}\\n".encode())
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
seconds = time.perf_counter() - t0
with open(out, "w") as f:
    json.dump({"seconds": seconds, "maxrss_kib": usage.ru_maxrss, "exit": os.waitstatus_to_exitcode(status)}, f)
"""


def run_measured_full(
    cmd: Sequence[str],
    env: dict[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    sample_tree: bool = False,
    sample_interval: float = 0.05,
    timeout: float | None = None,
) -> RunRecord:
    """Run ``cmd`` in a fresh subprocess; wall time and peak RSS from ``os.wait4``.

    ``ru_maxrss`` from wait4 covers the command and its reaped descendants,
    but as a maximum over single processes, not a sum. ``sample_tree`` adds a
    polling sampler of the summed RSS of the command's process tree (for
    multi-process runs; an upper bound, since forked workers share pages).
    A run that outlives ``timeout`` seconds is killed with its whole process
    group (exit status -9, "timed out" appended to stderr).
    """
    page_mb = os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)
    fd, report_path = tempfile.mkstemp(prefix="datakit-bench-run-", suffix=".json")
    os.close(fd)
    try:
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            launcher = [sys.executable, "-S", "-E", "-c", _LAUNCHER, report_path, *cmd]
            proc = subprocess.Popen(
                launcher, stdout=out, stderr=err, env=env, cwd=cwd, start_new_session=True
            )
            tree_peak = [0.0]
            stop = threading.Event()
            sampler = None
            if sample_tree:

                def sample() -> None:
                    while not stop.is_set():
                        with contextlib.suppress(Exception):
                            tree_peak[0] = max(tree_peak[0], _rss_of_tree(proc.pid, page_mb))
                        stop.wait(sample_interval)

                sampler = threading.Thread(target=sample, daemon=True)
                sampler.start()
            timed_out = False
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(
                        proc.pid, 9
                    )  # the launcher's own session: the command and its workers
                proc.wait()
            stop.set()
            if sampler is not None:
                sampler.join()
            out.seek(0)
            err.seek(0)
            stdout = out.read().decode("utf-8", "replace")
            stderr = err.read().decode("utf-8", "replace")
        try:
            with open(report_path, encoding="utf-8") as f:
                info = json.load(f)
        except (OSError, ValueError):
            info = {"seconds": math.nan, "maxrss_kib": 0, "exit": proc.returncode or -1}
    finally:
        os.unlink(report_path)
    returncode = -9 if timed_out else int(info["exit"])
    if timed_out:
        stderr += f"\n[benchmarks] timed out after {timeout:g} s; killed"
    peak = info["maxrss_kib"] / 1024  # KiB on Linux
    tree = max(tree_peak[0], peak) if sample_tree else None
    return RunRecord(float(info["seconds"]), peak, tree, returncode, stdout, stderr)


def run_measured(cmd: Sequence[str], **kwargs: Any) -> tuple[float, float]:
    """``(seconds, peak_rss_mb)`` of one fresh run of ``cmd``; raises :class:`CommandFailed`."""
    rec = run_measured_full(cmd, **kwargs)
    if rec.returncode != 0:
        raise CommandFailed(cmd, rec.returncode, rec.stderr)
    return rec.seconds, rec.peak_rss_mb


def python_cmd(code: str, *args: str) -> list[str]:
    """A fresh interpreter (the one running the benchmark) running ``code``."""
    return [sys.executable, "-c", code, *args]


def datakit_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "datakit", *args]


def env_with(workers: int | None = None, **extra: str) -> dict[str, str]:
    """The current environment with ``DATAKIT_WORKERS`` set, or removed for the default."""
    env = dict(os.environ)
    env.pop("DATAKIT_WORKERS", None)
    if workers is not None:
        env["DATAKIT_WORKERS"] = str(workers)
    env.update(extra)
    return env


@dataclass
class Spec:
    """One thing to measure."""

    label: str
    cmd: list[str]
    input_bytes: int
    env: dict[str, str] | None = None
    sample_tree: bool = False
    before: Callable[[], None] | None = None  # untimed, before every run (e.g. clear an output dir)
    throughput: bool = True  # False for context rows (start-up): no MB/s, no ratio


def startup_spec() -> Spec:
    """Context row: the interpreter start-up plus the import of datakit's CLI module.

    On a 100 MB input the floors take a fraction of a second, so the import
    cost (pandas alone takes ~0.7 s and ~100 MB RSS) weighs on every ratio.
    """
    return Spec(
        "context: start-up, import datakit.cli",
        python_cmd("import datakit.cli"),
        0,
        throughput=False,
    )


@dataclass
class Result:
    spec: Spec
    records: list[RunRecord] = field(default_factory=list)
    error: CommandFailed | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and bool(self.records)

    @property
    def seconds(self) -> float:
        return statistics.median(r.seconds for r in self.records)

    @property
    def mb_per_s(self) -> float:
        return self.spec.input_bytes / MB / self.seconds

    @property
    def peak_rss_mb(self) -> float:
        return statistics.median(r.peak_rss_mb for r in self.records)

    @property
    def tree_rss_mb(self) -> float | None:
        vals = [r.tree_rss_mb for r in self.records if r.tree_rss_mb is not None]
        return statistics.median(vals) if vals else None

    @property
    def last_stdout(self) -> str:
        return self.records[-1].stdout if self.records else ""


DEFAULT_TIMEOUT = 900.0


def measure(
    specs: Sequence[Spec], runs: int, timeout: float | None = DEFAULT_TIMEOUT
) -> list[Result]:
    """Run every spec ``runs`` times, interleaved, so that drift hits all alike.

    A spec whose command fails is recorded as failed and not retried.
    """
    results = [Result(s) for s in specs]
    for i in range(runs):
        for res in results:
            if res.error is not None:
                continue
            spec = res.spec
            if spec.before is not None:
                spec.before()
            print(f"[run {i + 1}/{runs}] {spec.label} ...", file=sys.stderr, end="", flush=True)
            rec = run_measured_full(
                spec.cmd, env=spec.env, sample_tree=spec.sample_tree, timeout=timeout
            )
            if rec.returncode != 0:
                res.error = CommandFailed(spec.cmd, rec.returncode, rec.stderr)
                print(f" FAILED (exit {rec.returncode})", file=sys.stderr)
                continue
            res.records.append(rec)
            print(f" {rec.seconds:.2f} s, {rec.peak_rss_mb:.0f} MB", file=sys.stderr)
    return results


# --------------------------------------------------------------------------
# Reporting.
# --------------------------------------------------------------------------


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], file: Any = None) -> None:
    """A plain, aligned text table (numbers right-aligned)."""
    cells = [[str(h) for h in headers]] + [
        ["" if c is None else str(c) for c in row] for row in rows
    ]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    numeric = [
        all(_is_number(r[i]) or r[i] in ("", "-", "FAILED") for r in cells[1:]) and len(cells) > 1
        for i in range(len(headers))
    ]

    def fmt(row: list[str]) -> str:
        return "  ".join(
            c.rjust(w) if num else c.ljust(w) for c, w, num in zip(row, widths, numeric)
        ).rstrip()

    print(fmt(cells[0]), file=file)
    print("  ".join("-" * w for w in widths), file=file)
    for row in cells[1:]:
        print(fmt(row), file=file)


def _is_number(s: str) -> bool:
    s = s.rstrip("%×x").replace(",", "")
    try:
        float(s)
    except ValueError:
        return False
    return True


def report(
    results: Sequence[Result], baseline: Result | None, baseline_name: str = "floor"
) -> None:
    """Median time, throughput, ratio against the baseline, peak RSS, for every result."""
    any_tree = any(r.spec.sample_tree for r in results)
    headers = ["measurement", "median s", "MB/s", f"vs {baseline_name}", "peak RSS MB"]
    if any_tree:
        headers.append("tree RSS MB")
    headers.append("runs (s)")
    rows = []
    for r in results:
        if not r.ok:
            rows.append(
                [r.spec.label, "FAILED", "-", "-", "-"] + (["-"] if any_tree else []) + ["-"]
            )
            continue
        ratio = "-"
        if baseline is not None and baseline.ok and r.spec.throughput:
            ratio = f"{r.mb_per_s / baseline.mb_per_s:.2f}×"  # MB/s, so inputs may differ in size
        speed = f"{r.mb_per_s:.1f}" if r.spec.throughput else "-"
        row = [r.spec.label, f"{r.seconds:.2f}", speed, ratio, f"{r.peak_rss_mb:.0f}"]
        if any_tree:
            row.append("-" if r.tree_rss_mb is None else f"{r.tree_rss_mb:.0f}")
        row.append(" ".join(f"{x.seconds:.2f}" for x in r.records))
        rows.append(row)
    print_table(headers, rows)
    for r in results:
        if r.error is not None:
            print(f"\n!! {r.spec.label}: {r.error}", file=sys.stderr)
            if (
                "No module named datakit.__main__" in r.error.stderr
                or "No module named datakit" in r.error.stderr
            ):
                print(
                    "   (the datakit CLI is not importable yet: is `datakit/__main__.py` in place?)",
                    file=sys.stderr,
                )


@dataclass
class Verdict:
    name: str
    passed: bool | None  # None: could not be decided (a command failed)
    detail: str


def print_verdicts(verdicts: Sequence[Verdict]) -> int:
    """Print PASS/FAIL lines; return the exit status (0 pass, 1 a target missed, 2 undecided)."""
    print()
    for v in verdicts:
        tag = "PASS" if v.passed else "FAIL" if v.passed is False else "N/A "
        print(f"{tag}  {v.name}: {v.detail}")
    if any(v.passed is None for v in verdicts):
        return 2
    return 0 if all(v.passed for v in verdicts) else 1


def speed_verdict(
    name: str, result: Result, floor: Result, min_ratio: float, floor_name: str = "floor"
) -> Verdict:
    """``result`` must reach ``min_ratio`` of the floor's (or baseline's) throughput."""
    if not (result.ok and floor.ok):
        return Verdict(name, None, "not measured (a command failed)")
    ratio = result.mb_per_s / floor.mb_per_s
    return Verdict(
        name,
        ratio >= min_ratio,
        f"{ratio:.0%} of {floor_name} ({result.mb_per_s:.1f} vs {floor.mb_per_s:.1f} MB/s), target ≥ {min_ratio:.0%}",
    )


def common_parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument(
        "--size-mb", type=float, default=100, help="input size in MB (10**6 bytes); default 100"
    )
    p.add_argument(
        "--runs", type=int, default=3, help="runs per measurement; medians are reported (default 3)"
    )
    p.add_argument(
        "--keep",
        action="store_true",
        help=f"cache generated inputs in {DEFAULT_DATA_DIR} and reuse them",
    )
    p.add_argument("--data-dir", type=Path, help="cache generated inputs here (implies --keep)")
    p.add_argument("--seed", type=int, default=0, help="generator seed (default 0)")
    p.add_argument(
        "--json", type=Path, metavar="FILE", help="also write the results as JSON to FILE"
    )
    p.add_argument(
        "--no-bytecode-cache", dest="bytecode_cache", action="store_false",
        help="run every command with the environment's byte-code settings as they are "
        "(by default a scratch byte-code cache stands in for an installed package's .pyc files)",
    )
    return p


def results_json(
    results: Sequence[Result], verdicts: Sequence[Verdict], **extra: Any
) -> dict[str, Any]:
    return {
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "results": [
            {
                "label": r.spec.label,
                "cmd": r.spec.cmd,
                "ok": r.ok,
                "error": str(r.error) if r.error else None,
                "input_mb": r.spec.input_bytes / MB,
                "seconds": [x.seconds for x in r.records],
                "peak_rss_mb": [x.peak_rss_mb for x in r.records],
                "tree_rss_mb": [x.tree_rss_mb for x in r.records],
                "median_seconds": r.seconds if r.ok else None,
                "median_mb_per_s": r.mb_per_s if r.ok and r.spec.throughput else None,
            }
            for r in results
        ],
        "verdicts": [{"name": v.name, "passed": v.passed, "detail": v.detail} for v in verdicts],
        **extra,
    }


def write_json(path: Path | None, payload: dict[str, Any]) -> None:
    if path is not None:
        path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------
# Tokenizer for the stats floor: datakit's loader, or an offline fallback.
# --------------------------------------------------------------------------

O200K_SHA256 = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"


def load_o200k_fallback() -> Any:
    """o200k_base as a ``tiktoken.Encoding``, from the vocabulary ``bpe-openai`` ships.

    Only used when ``datakit.tokenizers`` is not there yet: tiktoken itself
    would try to download the vocabulary.
    """
    import base64
    import gzip
    import importlib.resources

    import tiktoken
    import tiktoken_ext.openai_public as public

    raw = gzip.decompress(
        (importlib.resources.files("bpe_openai") / "data" / "o200k_base.tiktoken.gz").read_bytes()
    )
    if hashlib.sha256(raw).hexdigest() != O200K_SHA256:
        raise RuntimeError("o200k_base vocabulary from bpe-openai has an unexpected sha256")
    ranks = {
        base64.b64decode(tok): int(rank)
        for tok, rank in (line.split() for line in raw.splitlines() if line)
    }
    original = public.load_tiktoken_bpe
    public.load_tiktoken_bpe = lambda *a, **k: ranks
    try:
        spec = public.o200k_base()
    finally:
        public.load_tiktoken_bpe = original
    return tiktoken.Encoding(**spec)


def percentile(values: Sequence[float], q: float) -> float:
    s = sorted(values)
    if not s:
        return math.nan
    return s[min(len(s) - 1, int(q * len(s)))]


def iter_lines(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as f:
        yield from f
