"""J: bytes, encoding and JSON Lines framing. These apply to every format."""

from datakit.rules.registry import define

define("J001", "invalid-utf8", "error", """
    ## What it does
    Flags a line whose bytes are not valid UTF-8, with the column of the first bad byte.

    ## Why is this bad?
    Every provider requires UTF-8 JSONL; the upload check rejects the whole file.

    ## Example
    A line saved as Latin-1 or GBK: `{"messages": [{"role": "user", "content": "caf\\xe9"}]}`.
    Re-encode the file as UTF-8 (`iconv -f GBK -t UTF-8`).
    """, source="all providers")

define("J002", "utf8-bom", "error", """
    ## What it does
    Flags a UTF-8 byte-order mark (EF BB BF) at the start of the file.

    ## Why is this bad?
    A BOM is not JSON whitespace; strict JSON parsers fail on the first line.

    ## Example
    Files saved by Windows Notepad as "UTF-8 with BOM". Save as plain UTF-8, or run `datakit fix`.
    """, fix="strip the byte-order mark")

define("J003", "crlf-line-ending", "warning", """
    ## What it does
    Flags lines that end in CRLF (`\\r\\n`) instead of LF.

    ## Why is this bad?
    Most parsers accept it, but some upload checks count the `\\r` as part of the record,
    and byte-exact chunking or hashing then differs across platforms.

    ## Example
    A file edited on Windows. Convert with `dos2unix` or `datakit fix`.
    """, fix="normalise line endings to LF")

define("J004", "blank-line", "error", """
    ## What it does
    Flags an empty or whitespace-only line.

    ## Why is this bad?
    In JSONL every line is one example; OpenAI's and DashScope's checks reject empty lines.

    ## Example
    A trailing blank line left by an editor. Delete it, or run `datakit fix`.
    """, fix="delete the blank line")

define("J005", "invalid-json", "error", """
    ## What it does
    Flags a line that is not valid JSON, with the column where parsing failed.

    ## Why is this bad?
    The provider cannot read the example and rejects the file.

    ## Example
    `{"messages": [{"role": "user", "content": "hi"}` (missing closing brackets), or a
    single object pretty-printed over several lines.
    """)

define("J006", "non-finite-number", "error", """
    ## What it does
    Flags `NaN`, `Infinity` or `-Infinity` literals, and numbers too large for a 64-bit
    float (`1e999`, or an integer of hundreds of digits), which parse as infinity.

    ## Why is this bad?
    They are not JSON. Python's `json.dumps` writes them by default, so they slip into
    datasets that were produced with pandas or numpy; strict parsers reject them. Numbers
    past about 1.8e308 are refused too, or become infinity; Python refuses integers of
    more than 4300 digits.

    ## Example
    `{"messages": [...], "score": NaN}`. Write with `allow_nan=False` or replace with `null`.
    Write an identifier of 400 digits as a string: `"id": "1234…"`.
    """)

define("J007", "not-an-object", "error", """
    ## What it does
    Flags a line that is valid JSON but not a JSON object.

    ## Why is this bad?
    Every documented format puts one object per line.

    ## Example
    `["user", "hello"]` or `"hello"`.
    """)

define("J008", "nesting-too-deep", "error", """
    ## What it does
    Flags a line nested more deeply than parsers accept (over 1024 levels).

    ## Why is this bad?
    Parsers stop with a recursion error; such lines are never real conversations.

    ## Example
    `[[[[[[...]]]]]]` thousands of levels deep.
    """)

define("J009", "not-jsonl", "error", """
    ## What it does
    Flags a file that is one JSON document (an array of examples, or an object
    pretty-printed over many lines) rather than JSON Lines.

    ## Why is this bad?
    Providers read one example per line; such a file fails on every line.

    ## Example
    A file starting with `[` followed by `{"messages": ...},` lines. Convert it with
    `datakit convert FILE --to FORMAT -o OUT.jsonl`, which reads JSON arrays.
    """)

define("J010", "empty-file", "error", """
    ## What it does
    Flags a file with no examples.

    ## Why is this bad?
    Uploads of empty files are rejected, and usually mean a failed export.

    ## Example
    A 0-byte `train.jsonl`.
    """)

define("J011", "missing-final-newline", "warning", """
    ## What it does
    Flags a file whose last line does not end in a newline.

    ## Why is this bad?
    Concatenating such files glues the last example of one to the first of the next,
    producing an invalid line.

    ## Example
    `cat a.jsonl b.jsonl > all.jsonl` where `a.jsonl` lacks a final newline.
    """, fix="append a final newline")

define("J012", "mixed-formats", "error", """
    ## What it does
    Flags a line whose shape belongs to a different format than the rest of the file.

    ## Why is this bad?
    A provider accepts one format per file; a ShareGPT line inside an OpenAI file is
    rejected (or silently skipped by some converters).

    ## Example
    Line 1 `{"messages": [...]}`, line 2 `{"conversations": [...]}`. Convert the odd
    lines with `datakit convert`.
    """)

define("J013", "unknown-format", "error", """
    ## What it does
    Flags a file (or line) whose format cannot be recognised from its keys.

    ## Why is this bad?
    Without a format datakit cannot check anything else, and no provider will accept it.

    ## Example
    `{"text": "..."}` (a pre-training line). Pass `--format ID` if the detection is wrong.
    """)

define("J014", "null-byte", "error", """
    ## What it does
    Flags raw NUL bytes or other C0 control characters outside JSON strings.

    ## Why is this bad?
    They are not valid JSON and usually mean a binary file or a corrupted export.

    ## Example
    A `.jsonl` that is actually gzip-compressed.
    """)

define("X001", "internal-error", "error", """
    ## What it does
    Reports a failure inside datakit itself while checking a line.

    ## Why is this bad?
    It is a bug in datakit, not necessarily in your data; the check of that line is incomplete.

    ## Example
    Please report it with the line that triggered it.
    """)
