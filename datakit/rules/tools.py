"""T: tool calls, ids, results and definitions.

The rules, plus the small per-value checks they need (``arguments`` text, function
names, the JSON Schema of ``parameters``). The pairing of calls and results is
walked in :mod:`datakit.formats._chat` and in the ShareGPT check.
"""

from __future__ import annotations

import ast
import functools
import json
import re
from typing import Any

import orjson

from datakit.diagnostics import Severity
from datakit.rules.registry import Finding, define

TOOL_FORMATS = ("openai", "openai-preference", "mistral")
NO_TOOL_FORMATS = ("siliconflow", "dashscope-sft", "dashscope-sft-image", "dashscope-dpo")

define("T001", "invalid-tool-call-id", "error", """
    ## What it does
    Flags a tool-call `id` or a tool message's `tool_call_id` of the wrong form. For
    `mistral` both must be exactly 9 characters of `[a-zA-Z0-9]`; for OpenAI they are
    free-form but must not be empty.

    ## Why is this bad?
    The Mistral seed requires ids of exactly 9 characters and recommends generating them in
    the preparation script; mistral-common checks `^[a-zA-Z0-9]{9}$` and rejects anything
    else (OpenAI's `call_abc123...` ids included). The seed wins over mistral-common on one
    point: mistral-common tolerates the id `"null"` on the last message in fine-tuning
    mode, the seed does not, so datakit flags it.

    ## Example
    `"tool_calls": [{"id": "call_8f2a", ...}]` followed by `"tool_call_id": "call_8f2a"`:
    `datakit fix` maps every id of the example to a fresh 9-character id, consistently in
    the call and its result.
    """, formats=TOOL_FORMATS,
    fix="remap the example's tool-call ids to 9-character [a-zA-Z0-9] ids, consistently in "
        "calls and results",
    source="001_4bfe51fd4156bead.txt; mistral-common (MistralRequestValidatorV3)")

define("T002", "duplicate-tool-call-id", "error", """
    ## What it does
    Flags a tool-call id used twice in one example: an error within one assistant message,
    a warning across turns.

    ## Why is this bad?
    Results are matched to calls by id. Two calls with one id in the same turn make the
    pairing ambiguous, and mistral-common rejects them ("Duplicate tool call id"). Reusing
    an id in a later turn is unambiguous but usually means ids were not generated per call.

    ## Example
    Two calls `{"id": "abcDEF123", ...}` in one assistant message: give each call its own id
    and update the matching `tool_call_id`.
    """, formats=TOOL_FORMATS, source="mistral-common (MistralRequestValidatorV11)")

define("T003", "unknown-tool-call-id", "error", """
    ## What it does
    Flags a tool message whose `tool_call_id` matches no call of the assistant message it
    answers.

    ## Why is this bad?
    The Mistral seed requires the `tool_call_id` to match the id of a preceding call;
    mistral-common and OpenAI reject results for calls that were never made. It is the usual
    symptom of ids regenerated for the calls but not for the results.

    ## Example
    A call `{"id": "abcDEF123"}` answered by `{"role": "tool", "tool_call_id": "xyzXYZ999"}`:
    use the call's id.
    """, formats=TOOL_FORMATS, source="001_4bfe51fd4156bead.txt; mistral-common")

define("T004", "tool-result-without-call", "error", """
    ## What it does
    Flags a tool result (`tool` message, ShareGPT `observation`) that does not follow an
    assistant message with tool calls (ShareGPT: a `function_call` turn).

    ## Why is this bad?
    A tool result answers a call; without one, the provider rejects the conversation
    (mistral-common: a tool message may only follow an assistant or another tool message)
    and chat templates cannot render it.

    ## Example
    `[{"role": "user", "content": "q"}, {"role": "tool", "content": "42", "tool_call_id":
    "abcDEF123"}]`: add the assistant's call before the result, or drop the result.
    """, formats=(*TOOL_FORMATS, "sharegpt"), source="001_4bfe51fd4156bead.txt; mistral-common")

define("T005", "too-many-tool-results", "error", """
    ## What it does
    Flags more tool results after an assistant message than it made calls, including a
    second result for the same call.

    ## Why is this bad?
    mistral-common rejects "More tool responses than tool calls"; the extra result cannot
    be attributed to any call.

    ## Example
    One call `abcDEF123` followed by two tool messages with `"tool_call_id": "abcDEF123"`:
    delete the duplicate result.
    """, formats=TOOL_FORMATS, source="mistral-common (finetuning mode)")

define("T006", "unanswered-tool-call", "error", """
    ## What it does
    Flags a tool call that has no tool result before the conversation moves on (the next
    user or assistant turn; ShareGPT: a `function_call` not followed by `observation`). A
    call in the very last message of the example, with no results at all, is accepted.

    ## Why is this bad?
    The Mistral seed requires an assistant message with `tool_calls` to be followed by tool
    messages, and those by another assistant message; OpenAI's API rejects tool calls whose
    results are missing. The seed's own example ends on a tool call with no reply, so a
    trailing call (teaching the model *when* to call) is fine.

    ## Example
    `[user, assistant(tool_calls=[abcDEF123]), user, ...]`: insert the tool message with the
    result, or remove the call.
    """, formats=(*TOOL_FORMATS, "sharegpt"), source="001_4bfe51fd4156bead.txt; mistral-common")

define("T007", "content-beside-tool-calls", "error", """
    ## What it does
    Flags a Mistral assistant message that has both non-empty `content` and `tool_calls`.

    ## Why is this bad?
    The Mistral seed: an assistant message with `tool_calls` must not have `content`;
    mistral-common rejects "either content or tool_calls, but not both". OpenAI allows both,
    so data converted from OpenAI often carries a preamble beside the call.

    ## Example
    `{"role": "assistant", "content": "Let me check.", "tool_calls": [...]}`: move the text
    into a separate assistant turn before the call, or drop it.
    """, formats=("mistral",), source="001_4bfe51fd4156bead.txt; mistral-common")

define("T008", "empty-content-beside-tool-calls", "error", """
    ## What it does
    Flags a Mistral assistant message with `tool_calls` that also carries an empty `content`
    (`""`, `null` or `[]`).

    ## Why is this bad?
    The Mistral seed says an assistant message with `tool_calls` must not contain the
    `content` key at all. mistral-common (the validator behind Mistral's API) tolerates an
    empty one; datakit follows the seed and reports an error. Removing the key is always
    safe, and `datakit fix` does it.

    ## Example
    `{"role": "assistant", "content": "", "tool_calls": [...]}`: `datakit fix` drops the key.
    """, formats=("mistral",), fix="drop the empty `content` beside `tool_calls`",
    source="001_4bfe51fd4156bead.txt")

define("T009", "arguments-not-string", "error", """
    ## What it does
    Flags `function.arguments` that is not a string (most often a JSON object).

    ## Why is this bad?
    OpenAI and Mistral define `arguments` as JSON *text* (`"{\\"word\\": \\"listen\\"}"`);
    an object is rejected by the upload check. Exports from pandas or HF datasets often
    decode it by accident.

    ## Example
    `"arguments": {"word": "listen"}`: `datakit fix` writes `"arguments": "{\\"word\\":
    \\"listen\\"}"`.
    """, formats=TOOL_FORMATS, fix="serialise object arguments to JSON text",
    source="001_4bfe51fd4156bead.txt; OpenAI API schema")

define("T010", "arguments-invalid-json", "error", """
    ## What it does
    Flags `function.arguments` text that is not valid JSON (including an empty string).

    ## Why is this bad?
    The provider decodes the arguments to train the call; invalid JSON is rejected, or
    teaches the model to emit calls that fail to parse.

    ## Example
    `"arguments": "{word: listen}"`: quote the keys and strings (`"{\\"word\\": \\"listen\\"}"`);
    use `"{}"` for a call without arguments.
    """, formats=TOOL_FORMATS, source="SPEC.md §3")

define("T011", "arguments-python-repr", "error", """
    ## What it does
    Flags `function.arguments` that is Python `repr` text (`{'word': 'listen'}`, `True`,
    `None`) rather than JSON.

    ## Why is this bad?
    Reference scripts that build arguments with `str(dict)` produce it; it is not JSON and
    the model learns to emit Python literals in tool calls.

    ## Example
    `"arguments": "{'word': 'listen'}"`: `datakit fix` rewrites it as
    `"{\\"word\\": \\"listen\\"}"` (the literal is evaluated safely, never executed).
    """, formats=TOOL_FORMATS, fix="rewrite the Python literal as JSON text",
    source="SPEC.md §3")

define("T012", "arguments-double-encoded", "error", """
    ## What it does
    Flags `function.arguments` that is JSON-encoded twice: a JSON string whose value is
    itself the JSON text of an object.

    ## Why is this bad?
    It decodes to a string, not an object, so the provider rejects it or the model learns
    to emit escaped JSON inside JSON. It comes from calling `json.dumps` on text that was
    already JSON.

    ## Example
    `"arguments": "\\"{\\\\\\"word\\\\\\": \\\\\\"listen\\\\\\"}\\""`: `datakit fix` decodes
    it once, giving `"{\\"word\\": \\"listen\\"}"`.
    """, formats=TOOL_FORMATS, fix="decode the doubly encoded JSON once", source="SPEC.md §3")

define("T013", "arguments-not-object", "error", """
    ## What it does
    Flags `function.arguments` that is valid JSON but not an object (an array, a number, a
    plain string, `null`).

    ## Why is this bad?
    Function arguments are named parameters: OpenAI and Mistral expect a JSON object that
    matches the tool's `parameters` schema.

    ## Example
    `"arguments": "[\\"listen\\"]"`: name the parameter, `"{\\"word\\": \\"listen\\"}"`.
    """, formats=TOOL_FORMATS, source="SPEC.md §3")

define("T014", "invalid-function-name", "error", """
    ## What it does
    Flags a function name (in a tool call or a tool definition) that does not match
    `^[a-zA-Z0-9_-]{1,64}$`.

    ## Why is this bad?
    mistral-common and OpenAI's API both restrict names to letters, digits, `_` and `-`,
    at most 64 characters; dots, spaces and non-ASCII names are rejected.

    ## Example
    `"name": "weather.get current"`: rename to `get_current_weather` in both the
    definition and every call.
    """, formats=TOOL_FORMATS, source="mistral-common; OpenAI API schema")

define("T015", "undefined-tool", "error", """
    ## What it does
    Flags a call to a function that the example's `tools` do not define. For `mistral`
    `tools` must define every called tool (error); for OpenAI it is a warning, raised only
    when `tools` is present but lacks the name.

    ## Why is this bad?
    The Mistral seed: "tools 键必须包含对话中使用的所有工具的定义". The model is trained to
    call a tool it was never shown, which at inference means hallucinated calls.

    ## Example
    A call to `generate_anagram` with `"tools": []`: add the definition
    `{"type": "function", "function": {"name": "generate_anagram", ...}}`.
    """, formats=TOOL_FORMATS, source="001_4bfe51fd4156bead.txt")

define("T016", "invalid-tool-parameters-schema", "error", """
    ## What it does
    Flags a tool definition whose `parameters` is not a valid JSON Schema, checked against
    the Draft 7 metaschema.

    ## Why is this bad?
    mistral-common validates every tool's `parameters` with `Draft7Validator.check_schema`
    and rejects the request otherwise. Typical mistakes are Draft 3 style
    `"required": true` on a property, or `"type": "str"`.

    ## Example
    `"parameters": {"type": "object", "properties": {"word": {"type": "string",
    "required": true}}}`: list required properties at the object level,
    `"required": ["word"]`.
    """, formats=TOOL_FORMATS, source="mistral-common (validate_json_schema_by_draft7)")

define("T017", "tools-not-supported", "error", """
    ## What it does
    Flags tools, tool calls or tool results in a format that has no tool calling:
    siliconflow (roles are only system/user/assistant) and DashScope's SFT and DPO ChatML.

    ## Why is this bad?
    The provider rejects the unknown role or key, or (worse) trains on a conversation with
    the tool turns dropped, so answers refer to results the model never saw.

    ## Example
    A Mistral function-calling example linted as `siliconflow`: convert it with
    `datakit convert --to siliconflow`, which renders tool turns as text and reports what
    it could not carry, or lint it against a target that supports tools.
    """, formats=NO_TOOL_FORMATS, source="002_2b7f8eacc6c5aff5.txt; 004_5798d0ceeceffe78.txt")

define("T018", "legacy-functions", "warning", """
    ## What it does
    Flags OpenAI's deprecated function-calling fields: top-level `functions`, an assistant
    `function_call`, and `function` role messages.

    ## Why is this bad?
    OpenAI deprecated them in favour of `tools`, `tool_calls` and `tool` messages; newer
    models and most converters handle only the new form, and the two cannot be mixed.

    ## Example
    `{"functions": [{"name": "f", "parameters": {...}}], "messages": [..., {"role":
    "assistant", "function_call": {"name": "f", "arguments": "{}"}}, {"role": "function",
    "name": "f", "content": "..."}]}`: `datakit fix` rewrites them as `tools`, `tool_calls`
    with generated ids and `tool` messages.
    """, formats=("openai",),
    fix="rewrite functions/function_call/function messages as tools/tool_calls/tool messages",
    source="OpenAI API schema (deprecated `functions`)")

define("T019", "duplicate-tool-definition", "warning", """
    ## What it does
    Flags two tool definitions with the same function name in one example.

    ## Why is this bad?
    Which definition the model sees (or the API accepts) is undefined; OpenAI rejects
    duplicate function names in a request.

    ## Example
    `"tools": [{"type": "function", "function": {"name": "f", ...}}, {"type": "function",
    "function": {"name": "f", ...}}]`: keep one definition.
    """, formats=TOOL_FORMATS, source="OpenAI API")

define("T020", "invalid-sharegpt-tool-json", "error", """
    ## What it does
    Flags ShareGPT tool data that is not the JSON text the convention expects: a
    `function_call` turn whose `value` is not a JSON object with a `name` (or, for
    parallel calls, a non-empty JSON array of such objects, whose results then travel as
    one `observation` holding a JSON array of result strings), or a top-level `tools`
    string that is not a JSON array.

    ## Why is this bad?
    LLaMA-Factory and the converters decode both; a value that does not decode loses the
    call (or the tool list) in conversion.

    ## Example
    `{"from": "function_call", "value": "get_weather(city='Paris')"}`: write
    `"{\\"name\\": \\"get_weather\\", \\"arguments\\": {\\"city\\": \\"Paris\\"}}"`.
    """, formats=("sharegpt",), source="beyond the seeds: LLaMA-Factory ShareGPT convention")


# --- value checks -------------------------------------------------------------------------

FUNCTION_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")
MISTRAL_ID = re.compile(r"[a-zA-Z0-9]{9}")

_LITERAL_MAX = 1_000_000  # never hand huge text to the Python parser


def decode_json(text: str) -> tuple[bool, Any]:
    """``(ok, value)``; orjson first, the stdlib for what orjson refuses (lone surrogates)."""
    try:
        return True, orjson.loads(text)
    except orjson.JSONDecodeError:
        pass
    try:
        return True, json.loads(text)
    except (ValueError, RecursionError):
        return False, None


def _python_literal(text: str) -> Any:
    if len(text) > _LITERAL_MAX:
        return None
    try:
        return ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None


def _short(text: str, limit: int = 40) -> str:
    r = json.dumps(text, ensure_ascii=False)
    return r if len(r) <= limit else r[: limit - 2] + "…\""


def check_arguments(args: Any, ptr: str, out: list[Finding]) -> None:
    """T009–T013 on one ``function.arguments`` value at JSON pointer ``ptr``."""
    if isinstance(args, str):
        ok, value = decode_json(args)
        if ok:
            if isinstance(value, dict):
                return
            if isinstance(value, str):
                ok2, inner = decode_json(value)
                if ok2 and isinstance(inner, dict):
                    out.append(Finding("T012", (
                        "arguments are JSON-encoded twice: they decode to a string that is itself "
                        "JSON text of an object; decode once (datakit fix)"), ptr))
                    return
            out.append(Finding("T013", (
                f"arguments decode to a JSON {_json_type(value)}, not an object; wrap the values "
                "in an object keyed by parameter name"), ptr))
            return
        if not args.strip():
            out.append(Finding("T010", (
                "arguments are an empty string, which is not JSON; use \"{}\" for a call "
                "without arguments"), ptr))
            return
        literal = _python_literal(args)
        if isinstance(literal, dict):
            out.append(Finding("T011", (
                f"arguments {_short(args)} are Python repr text, not JSON (single quotes, "
                "True/None); rewrite with json.dumps (datakit fix)"), ptr))
            return
        out.append(Finding("T010", (
            f"arguments {_short(args)} are not valid JSON; they must be the JSON text of an "
            "object"), ptr))
        return
    if isinstance(args, dict):
        out.append(Finding("T009", (
            "arguments are a JSON object but must be a string holding JSON text; serialise "
            "them (datakit fix)"), ptr))
        return
    out.append(Finding("T009", (
        f"arguments are a JSON {_json_type(args)} but must be a string holding the JSON text "
        "of an object"), ptr))


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def check_function_name(name: Any, ptr: str, out: list[Finding], what: str = "function name") -> None:
    """T014 when ``name`` is a string that breaks ``^[a-zA-Z0-9_-]{1,64}$`` (type: schema)."""
    if isinstance(name, str) and FUNCTION_NAME.fullmatch(name) is None:
        why = "is longer than 64 characters" if len(name) > 64 else (
            "is empty" if not name else "has characters other than a-z, A-Z, 0-9, _ and -")
        out.append(Finding("T014", (
            f"{what} {_short(name, 70)} {why}; names must match ^[a-zA-Z0-9_-]{{1,64}}$"), ptr))


# Tool definitions repeat on every line of a dataset, and check_schema costs
# milliseconds: cache the verdict by the definition's serialised bytes.
_SCHEMA_CACHE: dict[bytes, str | None] = {}
_SCHEMA_CACHE_MAX = 2048


def _schema_problem(params: dict) -> str | None:
    from jsonschema import Draft7Validator
    from jsonschema.exceptions import SchemaError

    try:
        Draft7Validator.check_schema(params)
    except SchemaError as e:
        where = "".join(f"/{p}" for p in e.absolute_path)
        return f"{e.message}" + (f" (at parameters{where})" if where else "")
    except Exception as e:  # noqa: BLE001  (a pathological schema must not stop the lint)
        return f"cannot be checked: {type(e).__name__}"
    return None


@functools.cache
def _draft7_is_valid():
    """Compiled check against the Draft 7 meta-schema: valid definitions never import or
    run the (slow to import, slow to run) Python ``jsonschema``, which only explains."""
    try:
        import jsonschema_rs

        return jsonschema_rs.Draft7Validator(
            {"$ref": "http://json-schema.org/draft-07/schema#"}).is_valid
    except Exception:  # noqa: BLE001 - an older jsonschema-rs: explain every definition
        return None


def parameters_problem(params: dict) -> str | None:
    """Why ``params`` is not a valid Draft 7 JSON Schema, or None; cached."""
    try:
        key = orjson.dumps(params)
    except (TypeError, orjson.JSONEncodeError):
        return _schema_problem(params)
    try:
        return _SCHEMA_CACHE[key]
    except KeyError:
        pass
    fast = _draft7_is_valid()
    try:
        valid = fast is not None and fast(params)
    except Exception:  # noqa: BLE001 - let the explaining validator judge it
        valid = False
    verdict = None if valid else _schema_problem(params)
    if len(_SCHEMA_CACHE) >= _SCHEMA_CACHE_MAX:
        _SCHEMA_CACHE.clear()
    _SCHEMA_CACHE[key] = verdict
    return verdict


# The same tools list usually repeats on many lines: remember the names and findings of
# each distinct list (by its serialised bytes) instead of walking it again.
_TOOLS_CACHE: dict[tuple[str, bool, bytes], tuple[frozenset[str], tuple[Finding, ...]]] = {}
_TOOLS_CACHE_MAX = 1024


def tool_names(tools: Any, base: str, out: list[Finding], *, legacy: bool = False) -> set[str]:
    """Names defined by a ``tools`` list (or legacy ``functions`` list), checking each
    definition (T014, T016, T019) on the way."""
    if tools.__class__ is not list or not tools:
        return set()
    try:
        key = (base, legacy, orjson.dumps(tools))
    except (TypeError, orjson.JSONEncodeError):
        return _tool_names(tools, base, out, legacy=legacy)
    hit = _TOOLS_CACHE.get(key)
    if hit is None:
        found: list[Finding] = []
        names = frozenset(_tool_names(tools, base, found, legacy=legacy))
        if len(_TOOLS_CACHE) >= _TOOLS_CACHE_MAX:
            _TOOLS_CACHE.clear()
        hit = _TOOLS_CACHE[key] = (names, tuple(found))
    out.extend(hit[1])
    return set(hit[0])


def _tool_names(tools: Any, base: str, out: list[Finding], *, legacy: bool = False) -> set[str]:
    names: set[str] = set()
    if not isinstance(tools, list):
        return names
    for j, tool in enumerate(tools):
        if not isinstance(tool, dict):
            continue
        if legacy:
            fn, fptr = tool, f"{base}/{j}"
        else:
            fn, fptr = tool.get("function"), f"{base}/{j}/function"
            if not isinstance(fn, dict):
                continue
        name = fn.get("name")
        if isinstance(name, str):
            check_function_name(name, f"{fptr}/name", out, "tool name")
            if name in names:
                out.append(Finding("T019", (
                    f"tool {_short(name, 70)} is defined twice in {base[1:] or 'tools'} "
                    f"(again at index {j}); keep one definition"), f"{fptr}/name"))
            names.add(name)
        params = fn.get("parameters")
        if isinstance(params, dict):
            problem = parameters_problem(params)
            if problem is not None:
                out.append(Finding("T016", (
                    f"parameters of tool {_short(str(name), 70)} are not a valid JSON Schema "
                    f"(Draft 7): {problem}"), f"{fptr}/parameters"))
    return names


WARNING = Severity.WARNING
